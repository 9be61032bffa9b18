"""What the fault tests start, break and stop: gunicorn, mail-worker, nginx, a private
PostgreSQL cluster, a private Redis, and HTTP clients that each have an address of their own.

Every process runs in its own session (process group), so "the machine dies" is a SIGKILL of
the whole group, and nothing is left running after a test. Nothing here touches the shared
PostgreSQL cluster or Redis: the private ones are created on free ports and removed after.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout: float, what: str, interval: float = 0.1) -> float:
    """Poll until condition() is true; returns the seconds it took."""
    started = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what} did not happen within {timeout:g} s")
        time.sleep(interval)


# --- processes ----------------------------------------------------------------------------


def _group_running(group: int) -> bool:
    """Whether a thread of a process of this process group is still running (Linux /proc).

    Threads, not processes: a killed gthread worker's main thread is a zombie while its
    other threads are still exiting, and they hold the worker's files, the listening socket
    among them, until the last one is gone."""
    for stat in Path("/proc").glob("[0-9]*/task/[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group and fields[0] not in ("Z", "X"):
            return True
    return False


@dataclass
class Service:
    """One process (and its children) started in a session of its own, logging to a file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None
    _log: object = None

    def start(self) -> Service:
        self._log = self.log_path.open("a")
        self.process = subprocess.Popen(
            self.argv,
            cwd=REPO_ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal_group(self, signum: int) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        """The machine dies: every process of the group at once, nothing finishes.

        Returns once no process of the group is left running (zombies hold no sockets): a
        worker still exiting would hold the listening socket, and a request that comes after
        the kill would be taken into its backlog and then cut.
        """
        self.signal_group(signal.SIGKILL)
        if self.process is not None:
            group = self.process.pid
            self.process.wait(timeout=30)
            wait_until(lambda: not _group_running(group), 30, f"{self.name} gone", 0.005)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self, timeout: float = 30) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.signal_group(signal.SIGKILL)  # anything the group left behind
        self._close_log()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def scope_env(database_url: str, public_url: str, **settings: str) -> dict[str, str]:
    """The environment of a production process: nothing from the tests' SCOPE_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCOPE_", "FLASK_"))}
    env.update(
        SCOPE_SQLALCHEMY_DATABASE_URI=database_url,
        SCOPE_SECRET_KEY="reliability-secret-key",
        SCOPE_PUBLIC_URL=public_url,
        SCOPE_MAIL_DELIVER_IN_PROCESS="false",
        PYTHONUNBUFFERED="1",
    )
    env.update(settings)
    return env


def gunicorn(env: dict, port: int, log_path: Path, *, workers: int = 2, threads: int = 8):
    return Service(
        f"gunicorn:{port}",
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "gthread",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            *_no_control_socket(),
            "scope:create_app()",
        ],
        env,
        log_path,
    )


def _no_control_socket() -> list[str]:
    """Newer gunicorn opens a control socket in ~/.gunicorn; a test server needs none."""
    from gunicorn.config import KNOWN_SETTINGS

    if any("--no-control-socket" in s.cli for s in KNOWN_SETTINGS if s.cli):
        return ["--no-control-socket"]
    return []


def mail_worker(env: dict, log_path: Path, name: str) -> Service:
    return Service(
        name,
        [sys.executable, "-m", "flask", "--app", "scope", "mail-worker", "--poll-interval", "0.5"],
        env,
        log_path,
    )


def flask(env: dict, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "scope", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise AssertionError(f"flask {' '.join(args)}: {result.stdout}\n{result.stderr}")
    return result


def wait_until_answering(url: str, service: Service, timeout: float = 60) -> float:
    def answers() -> bool:
        if not service.running:
            raise AssertionError(f"{service.name} exited:\n{service.log()[-5000:]}")
        try:
            with urllib.request.urlopen(url + "/login", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    return wait_until(answers, timeout, f"{service.name} answering {url}")


# --- Redis --------------------------------------------------------------------------------


@dataclass
class RedisServer:
    """A Redis of this test's own, without persistence, that it may kill and start again."""

    directory: Path
    port: int = field(default_factory=free_port)
    service: Service | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.service = Service(
            f"redis:{self.port}",
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            dict(os.environ),
            self.directory / "redis.log",
        ).start()
        wait_until(self.answers, 15, "redis-server answering")
        return self

    def answers(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def kill(self) -> None:
        self.service.kill()

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()


# --- PostgreSQL ---------------------------------------------------------------------------


def _postgres_version() -> str:
    versions = sorted(
        (p.name for p in Path("/usr/lib/postgresql").glob("*") if p.name.isdigit()), key=int
    )
    if not versions:
        raise AssertionError("no PostgreSQL server installed under /usr/lib/postgresql")
    return os.environ.get("SCOPE_TEST_PG_VERSION", versions[-1])


@dataclass
class PostgresCluster:
    """A PostgreSQL cluster of this test's own (pg_createcluster), to stop and restart."""

    name: str = field(default_factory=lambda: f"scope_faults_{uuid.uuid4().hex[:8]}")
    port: int = field(default_factory=free_port)
    version: str = field(default_factory=_postgres_version)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _ctl(self, action: str) -> None:
        subprocess.run(
            ["pg_ctlcluster", self.version, self.name, action],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def create(self) -> PostgresCluster:
        subprocess.run(
            ["pg_createcluster", self.version, self.name, "--port", str(self.port)]
            + ["--", "--auth=trust"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.start()
        return self

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop")

    def restart(self) -> None:
        self._ctl("restart")

    def accepting(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.url(), connect_timeout=1) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop(self) -> None:
        subprocess.run(
            ["pg_dropcluster", "--stop", self.version, self.name],
            capture_output=True,
            timeout=120,
        )


class Availability:
    """Polls `check` in a thread and keeps when it went down and came back up."""

    def __init__(self, check, interval: float = 0.05):
        self.check = check
        self.interval = interval
        self.changes: list[tuple[float, bool]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Availability:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        up = None
        while not self._stop.is_set():
            now_up = self.check()
            if now_up != up:
                self.changes.append((time.monotonic(), now_up))
                up = now_up
            self._stop.wait(self.interval)

    def outages(self) -> list[tuple[float, float]]:
        """(went down, came back) pairs."""
        pairs, down = [], None
        for at, up in self.changes:
            if not up and down is None:
                down = at
            elif up and down is not None:
                pairs.append((down, at))
                down = None
        return pairs


# --- nginx --------------------------------------------------------------------------------

NGINX_CONF = """\
daemon off;
user root;
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format upstream '$remote_addr "$request" $status $upstream_addr';
    access_log {prefix}/access.log upstream;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream scope {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://scope;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
            proxy_next_upstream error timeout;
        }}
    }}
}}
"""


@dataclass
class Nginx:
    """nginx from the Debian package, with a configuration and files of its own."""

    prefix: Path
    upstream_ports: list[int]
    port: int = field(default_factory=free_port)
    service: Service | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Nginx:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            raise AssertionError("nginx is not installed: apt-get install -y nginx")
        servers = "\n".join(
            f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;"
            for port in self.upstream_ports
        )
        conf = self.prefix / "nginx.conf"
        conf.write_text(NGINX_CONF.format(prefix=self.prefix, port=self.port, servers=servers))
        self.service = Service(
            "nginx",
            [binary, "-c", str(conf), "-p", str(self.prefix), "-e", str(self.prefix / "error.log")],
            dict(os.environ),
            self.prefix / "nginx.out",
        ).start()
        wait_until(self._listening, 15, "nginx listening")
        return self

    def _listening(self) -> bool:
        if not self.service.running:
            raise AssertionError("nginx exited: " + (self.prefix / "error.log").read_text())
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def access_log(self) -> list[str]:
        path = self.prefix / "access.log"
        return path.read_text().splitlines() if path.exists() else []

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()


# --- clients ------------------------------------------------------------------------------


class _FromAddress(urllib.request.HTTPHandler):
    """Connections leave from one loopback address (127.0.0.0/8 is all ours on Linux)."""

    def __init__(self, address: str):
        super().__init__()
        self.address = address

    def http_open(self, req):
        connection = functools.partial(http.client.HTTPConnection, source_address=(self.address, 0))
        return self.do_open(connection, req)


@dataclass
class Answer:
    status: int  # 0: no HTTP answer at all (connection refused, reset, timed out)
    body: str
    headers: dict
    started: float
    ended: float
    error: str = ""


class Client:
    """One browser: its own cookies and, when given, its own source address."""

    def __init__(self, base: str, address: str | None = None, timeout: float = 60):
        handlers = [urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())]
        if address:
            handlers.append(_FromAddress(address))
        self.opener = urllib.request.build_opener(*handlers)
        self.base = base
        self.address = address
        self.timeout = timeout
        self.token: str | None = None

    def request(self, method, path, form=None, htmx=False, headers=None) -> Answer:
        data = urllib.parse.urlencode(form or {}, doseq=True).encode() if method == "POST" else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        if self.token:
            request.add_header("X-CSRFToken", self.token)
        if htmx:
            request.add_header("HX-Request", "true")
        started = time.monotonic()
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                body = response.read().decode()
                return Answer(
                    response.status, body, dict(response.headers), started, time.monotonic()
                )
        except urllib.error.HTTPError as error:
            body = error.read().decode(errors="replace")
            return Answer(error.code, body, dict(error.headers), started, time.monotonic())
        except (OSError, http.client.HTTPException) as error:
            return Answer(0, "", {}, started, time.monotonic(), error=repr(error))

    def csrf_from(self, path: str) -> str:
        page = self.request("GET", path).body
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
            r'"X-CSRFToken": "([^"]+)"', page
        )
        assert match, f"no CSRF token on {path}: {page[:500]}"
        return match.group(1)

    def log_in(self, email: str, password: str, headers=None) -> Answer:
        token = self.csrf_from("/login")
        form = {"email": email, "password": password, "csrf_token": token}
        return self.request("POST", "/login", form, headers=headers)

    def log_in_as_staff(self, email: str, password: str) -> None:
        answer = self.log_in(email, password)
        assert answer.status == 200 and "Log out" in answer.body, (answer.status, answer.error)
        self.token = self.csrf_from("/invite/")


# --- the staff workload -------------------------------------------------------------------

SEED_STAFF = """
import sys
from scope import create_app
from scope.auth.passwords import hash_password
from scope.extensions import db
from scope.models import User, UserStatus, UserType
from scope.sponsors import get_or_create_sponsor

app = create_app()
with app.app_context():
    sponsor = get_or_create_sponsor(sys.argv[1])
    password = hash_password(sys.argv[2])
    for email in sys.argv[3:]:
        db.session.add(User(sponsor_id=sponsor.id, email=email, first_name="Load",
                            last_name=email.split("@")[0], user_type=UserType.STAFF,
                            status=UserStatus.ACTIVE, password_hash=password))
    db.session.commit()
    print(sponsor.id)
"""


def seed_staff(env: dict, sponsor: str, password: str, emails: list[str]) -> int:
    """Staff users of a new sponsor, written by Scope itself into the database env names."""
    result = subprocess.run(
        [sys.executable, "-c", SEED_STAFF, sponsor, password, *emails],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip().splitlines()[-1])


@dataclass
class Record:
    client: int
    kind: str
    htmx: bool
    answer: Answer


class Workload:
    """Clients doing what staff do, all at once, while the test breaks things on a schedule.

    The mix (as tests/reliability/test_load.py): 15 % create an employer, 15 % add a teammate
    row and SEND, 20 % search users, 15 % search employers, 15 % MANAGE -> Invitations
    (htmx), 10 % the users CSV export, 10 % the INVITE page. Writes the server acknowledged
    are remembered, to be looked for in the database afterwards.
    """

    def __init__(self, clients: list[Client]):
        self.clients = clients
        self.records: list[Record] = []
        self.organizations: list[str] = []
        self.invited: list[str] = []
        self.events: dict[str, float] = {}
        self._lock = threading.Lock()
        self.stop_at = 0.0

    def mark(self, event: str) -> float:
        now = time.monotonic()
        with self._lock:
            self.events[event] = now
        return now

    def run(self, seconds: float, faults=(), after_faults: float = 0.0) -> None:
        """Work for `seconds`; each (offset, callable) fault runs at its offset from here, and
        the work goes on at least `after_faults` seconds after the last one returned."""
        started = time.monotonic()
        self.stop_at = started + seconds
        threads = [
            threading.Thread(target=self._work, args=(n, client), daemon=True)
            for n, client in enumerate(self.clients)
        ]
        for thread in threads:
            thread.start()
        for offset, fault in sorted(faults, key=lambda f: f[0]):
            time.sleep(max(0.0, started + offset - time.monotonic()))
            fault()
            self.stop_at = max(self.stop_at, time.monotonic() + after_faults)
        for thread in threads:
            thread.join(self.stop_at - time.monotonic() + 180)

    def _record(self, n: int, kind: str, htmx: bool, answer: Answer) -> Answer:
        with self._lock:
            self.records.append(Record(n, kind, htmx, answer))
        return answer

    def _work(self, n: int, client: Client) -> None:
        import random

        rng = random.Random(n)
        pending: list[str] = []
        i = 0
        while time.monotonic() < self.stop_at:
            i += 1
            choice = rng.random()
            if choice < 0.15:
                name = f"Fault Org {n}-{i}"
                form = {"name": name}
                answer = client.request("POST", "/partners/employers/new", form, htmx=True)
                if self._record(n, "create employer", True, answer).status == 200:
                    with self._lock:
                        self.organizations.append(name)
            elif choice < 0.30:
                address = f"invitee{n}-{i}@faults.example.com"
                answer = client.request("POST", "/invite/teammates/rows", {"email": address}, True)
                if self._record(n, "add row", True, answer).status == 200:
                    pending.append(address)
                    answer = client.request("POST", "/invite/teammates/send", htmx=True)
                    self._record(n, "send", True, answer)
                    if answer.status == 200 and re.search(r"\d+ invitations? sent\.", answer.body):
                        with self._lock:
                            self.invited.extend(pending)
                        pending = []
            elif choice < 0.50:
                path = f"/manage/users?q=staff{rng.randrange(len(self.clients))}"
                self._record(n, "search users", False, client.request("GET", path))
            elif choice < 0.65:
                path = "/partners/employers?q=fault&sort=name"
                self._record(n, "employers", False, client.request("GET", path))
            elif choice < 0.80:
                answer = client.request("GET", "/manage/invitations", htmx=True)
                self._record(n, "invitations", True, answer)
            elif choice < 0.90:
                self._record(n, "users csv", False, client.request("GET", "/manage/users.csv"))
            else:
                self._record(n, "invite page", False, client.request("GET", "/invite/teammates"))

    def save(self, path: Path) -> None:
        """Every request, in seconds from the first, with the faults: for a failed run."""
        import json

        origin = min([r.answer.started for r in self.records] + list(self.events.values()))
        path.write_text(
            json.dumps(
                {
                    "events": {k: round(v - origin, 3) for k, v in self.events.items()},
                    "requests": [
                        [
                            r.client,
                            r.kind,
                            r.answer.status,
                            round(r.answer.started - origin, 3),
                            round(r.answer.ended - origin, 3),
                            r.answer.error,
                        ]
                        for r in sorted(self.records, key=lambda r: r.answer.started)
                    ],
                },
                indent=0,
            )
        )

    def statuses(self) -> dict[int, int]:
        from collections import Counter

        return dict(Counter(r.answer.status for r in self.records))

    def failures(self) -> list[Record]:
        """No answer at all, or a server error."""
        return [r for r in self.records if r.answer.status == 0 or r.answer.status >= 500]


def database_rows(database_url: str, sponsor_id: int) -> dict:
    """What the database holds for the sponsor: organizations, invitations, mail states."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        organizations = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM partner_organization WHERE sponsor_id = %s", (sponsor_id,)
            )
        ]
        invitations = [
            row[0]
            for row in conn.execute(
                "SELECT email FROM invitation WHERE sponsor_id = %s", (sponsor_id,)
            )
        ]
        mail = list(
            conn.execute(
                "SELECT id, recipient, state, claimed_until FROM mail_message"
                " WHERE sponsor_id = %s",
                (sponsor_id,),
            )
        )
    return {"organizations": organizations, "invitations": invitations, "mail": mail}


def release_claims(database_url: str) -> int:
    """What the claim's expiry (5 minutes) would do: messages left SENDING by a worker that
    lost the database in the middle of a batch become due again. Returns how many."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        cursor = conn.execute(
            "UPDATE mail_message SET claimed_until = now() WHERE state = 'sending'"
        )
        return cursor.rowcount
