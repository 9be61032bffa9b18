"""Scope under gunicorn against a seeded database, measured side by side with Flask-Admin.

    python -m benchmarks.run                      # SQLite, then PostgreSQL
    python -m benchmarks.run --db sqlite --reuse  # keep an already seeded database
    python -m benchmarks.run --scale 1m --db postgresql   # a million users (seeded once)

Prints one table per database and writes benchmarks/results-<db>.json. Everything runs on
127.0.0.1. Single-client latency comes from one keep-alive connection in this process;
throughput from wrk (or, without wrk, a few client threads here).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import http.client
import io
import json
import logging
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.scale import SCALES, measure_export, seed_args, seeded, timed_command

ROOT = Path(__file__).resolve().parent.parent
STAFF_EMAIL = "staff@scope.example.com"
STAFF_PASSWORD = "bench-staff-password-1"
SECRET = "benchmark-secret-key-not-for-production"


# ------------------------------------------------------------------ processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(url: str, smtp_port: int | None = None) -> dict:
    env = dict(os.environ)
    env.update(
        SCOPE_SQLALCHEMY_DATABASE_URI=url,
        SCOPE_SECRET_KEY=SECRET,
        SCOPE_PUBLIC_URL="http://127.0.0.1",
        SCOPE_EMAILS_PER_SPONSOR_PER_DAY="1000000",
        # Two workers without Redis: each counts limits alone, which one logged-in client
        # measuring pages never reaches.
        SCOPE_RATELIMIT_ALLOW_MEMORY_WITH_WORKERS="true",
        PYTHONPATH=str(ROOT),
    )
    if smtp_port:
        env.update(
            SCOPE_MAIL_SERVER="127.0.0.1",
            SCOPE_MAIL_PORT=str(smtp_port),
            SCOPE_MAIL_DELIVER_IN_PROCESS="true",
        )
        env.pop("SCOPE_DEV_MAILBOX", None)
    else:
        # Seeding and the in-process measurements send no mail: a development setup, without
        # its delivery thread. Started by the in-process statement counts, that thread went
        # on marking due emails delivered to the development mailbox while gunicorn's
        # workers sent them to the SMTP sink: 200 of SEND's 1,000 never reached the sink.
        env.update(SCOPE_DEV_MAILBOX="true", SCOPE_MAIL_DELIVER_IN_PROCESS="false")
    return env


def flask(env: dict, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "scope", *args],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def seed(db: str, url: str, reuse: bool, scale: str = "100k") -> dict | None:
    """Create the schema and seed-demo; returns what seed-demo took (None: not seeded).

    At a scale other than 100k a database that already holds it is kept (a million users
    take minutes to seed)."""
    if reuse or (scale != "100k" and seeded(url, scale)):
        # The data is kept; the schema is brought up to the code being measured.
        flask(env_for(url), "db", "upgrade")
        return None
    if db == "postgresql":
        base, name = url.rsplit("/", 1)
        admin = psql_connect(base + "/postgres")
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
        admin.close()
    else:
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    env = env_for(url)
    flask(env, "db", "upgrade")
    args = ["-m", "flask", "--app", "scope", "seed-demo", *seed_args(scale)]
    return timed_command([*args, "--staff-password", STAFF_PASSWORD], env, ROOT)


def psql_connect(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True)


def start_gunicorn(app: str, env: dict, workers: int, threads: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--worker-class",
            "gthread",
            "--threads",
            str(threads),
            "-w",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--keep-alive",
            "75",
            "--log-level",
            "warning",
            app,
        ],
        env=env,
        cwd=ROOT,
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{app} did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class SmtpSink:
    """aiosmtpd on a free port, counting what arrives and when the last message did."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.count += 1
                sink.last_at = time.perf_counter()
                return "250 OK"

        self.count = 0
        self.last_at = 0.0
        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()


# ------------------------------------------------------------------ the client


class Client:
    """One keep-alive connection with the staff session cookie."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method, path, body=None, headers=None, htmx=False, encoding=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if htmx:
            headers["HX-Request"] = "true"
        if encoding:
            headers["Accept-Encoding"] = encoding
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.conn.close()  # the server closed an idle keep-alive connection
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        data = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response, data

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def csrf(self, path: str) -> str:
        _, data = self.get(path)
        match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', data) or re.search(
            rb'value="([^"]+)"[^>]*name="csrf_token"', data
        )
        if not match:
            match = re.search(rb'name="csrf-token" content="([^"]+)"', data)
        return match.group(1).decode()

    def login(self):
        token = self.csrf("/login")
        body = f"csrf_token={token}&email={STAFF_EMAIL}&password={STAFF_PASSWORD}"
        response, _ = self.request(
            "POST",
            "/login",
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status in (302, 303), f"login failed: {response.status}"


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (all their threads)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def latency(client: Client, path: str, htmx: bool, samples: int, workers: list[int]) -> dict:
    """Single-client latency, and the server's CPU time per request (load-independent)."""
    for _ in range(10):
        client.get(path, htmx=htmx, encoding="br, gzip")
    times = []
    status = None
    cpu_before = cpu_seconds(workers)
    for _ in range(samples):
        started = time.perf_counter()
        response, _ = client.get(path, htmx=htmx, encoding="br, gzip")
        times.append((time.perf_counter() - started) * 1000)
        status = response.status
    cpu = cpu_seconds(workers) - cpu_before
    times.sort()
    return {
        "status": status,
        "server_cpu_ms": round(cpu / samples * 1000, 2),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 2),
    }


def throughput(port: int, cookies: dict, path: str, htmx: bool, seconds: float) -> float:
    headers = {
        "Accept-Encoding": "br, gzip",
        "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
    }
    if htmx:
        headers["HX-Request"] = "true"
    # Let the requests of the previous run finish first: a worker still busy with them
    # leaves every new connection to the other one, and the run measures half the server.
    time.sleep(1)
    if shutil.which("wrk"):
        command = ["wrk", "-t2", "-c4", f"-d{seconds}s"]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        out = subprocess.run(
            [*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
        ).stdout
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if non2xx:
            raise RuntimeError(f"{path}: {non2xx.group(1)} failed responses")
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    counts = [0] * 4
    deadline = time.perf_counter() + seconds

    def run(i):
        conn = http.client.HTTPConnection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            conn.request("GET", path, headers=headers)
            conn.getresponse().read()
            counts[i] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


# ------------------------------------------------------------------ statements per request


def statements_per_request(url: str, cases: dict, admin_path: str) -> dict[str, int]:
    """Run each request once through Flask's test client, counting SQL statements."""
    os.environ.update(env_for(url))
    from sqlalchemy import event

    from benchmarks.apps import admin_app, scope_app
    from scope.extensions import db

    counts: dict[str, int] = {}
    for app, names in ((scope_app(), list(cases)), (admin_app(), ["flask_admin"])):
        app.config["WTF_CSRF_ENABLED"] = False
        client = app.test_client()
        with app.app_context():
            engine = db.engine
        seen = []

        def count(*args, seen=seen):
            seen.append(1)

        event.listen(engine, "before_cursor_execute", count)
        if "flask_admin" not in names:
            client.post("/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD})
        for name in names:
            path, htmx = cases.get(name, (admin_path, False))
            client.get(path, headers={"HX-Request": "true"} if htmx else {})
            seen.clear()
            response = client.get(path, headers={"HX-Request": "true"} if htmx else {})
            assert response.status_code == 200, (name, response.status_code)
            counts[name] = len(seen)
        event.remove(engine, "before_cursor_execute", count)
        with app.app_context():
            db.engine.dispose()
    return counts


# ------------------------------------------------------------------ SEND and CSV


def prepare_drafts(url: str, rows: int, tag: str) -> None:
    """1,000 rows in the staff user's EXTERNAL draft, and a MANAGED draft with its organization."""
    import psycopg  # noqa: F401  (PostgreSQL driver, imported early for a clear error)
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        staff_id, sponsor_id = conn.execute(
            text("SELECT id, sponsor_id FROM user_account WHERE email = :e"), {"e": STAFF_EMAIL}
        ).one()
        org_id = conn.execute(
            text("SELECT min(id) FROM partner_organization WHERE sponsor_id = :s"),
            {"s": sponsor_id},
        ).scalar()
        for kind in ("external", "managed"):
            conn.execute(
                text("DELETE FROM wizard_draft WHERE staff_user_id = :u AND kind = :k"),
                {"u": staff_id, "k": kind},
            )
            conn.execute(
                text(
                    "INSERT INTO wizard_draft (sponsor_id, staff_user_id, kind, "
                    "partner_organization_id, updated_at) VALUES (:s, :u, :k, :o, :t)"
                ),
                {"s": sponsor_id, "u": staff_id, "k": kind, "o": org_id, "t": "2026-01-01"},
            )
        draft_id = conn.execute(
            text("SELECT id FROM wizard_draft WHERE staff_user_id = :u AND kind = 'external'"),
            {"u": staff_id},
        ).scalar()
        conn.execute(
            text(
                "INSERT INTO wizard_row (draft_id, partner_organization_id, user_type, email) "
                "VALUES (:d, :o, 'supervisor', :e)"
            ),
            # Rows belong to the list of the organization they were added for.
            [
                {"d": draft_id, "o": org_id, "e": f"send-{tag}-{i}@bench.example.com"}
                for i in range(rows)
            ],
        )
    engine.dispose()


def measure_send(port: int, master: int, client: Client, smtp: SmtpSink, rows: int) -> dict:
    token = client.csrf("/invite/external/users")
    smtp.count = 0
    peak = {"rss": max(rss_mb(p) for p in worker_pids(master))}
    idle_rss = peak["rss"]
    done = threading.Event()

    def sample():
        while not done.is_set():
            for pid in worker_pids(master):
                with contextlib.suppress(OSError):
                    peak["rss"] = max(peak["rss"], rss_mb(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    response, body = client.request(
        "POST",
        "/invite/external/send",
        body=f"csrf_token={token}",
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": token},
        htmx=True,
    )
    answered = time.perf_counter() - started
    deadline = time.perf_counter() + 120
    while smtp.count < rows and time.perf_counter() < deadline:
        time.sleep(0.05)
    delivered = (smtp.last_at - started) if smtp.count else None
    done.set()
    sampler.join()
    if smtp.count < rows:
        # A SEND that sent nothing would be timed as a fast one: say so beside the figures.
        print(
            f"  SEND of {rows}: answered {response.status}, {smtp.count} delivered",
            file=sys.stderr,
        )
    return {
        "status": response.status,
        "answer_s": round(answered, 3),
        "delivered": smtp.count,
        "all_delivered_s": round(delivered, 2) if delivered else None,
        "worker_rss_idle_mb": round(idle_rss, 1),
        "worker_rss_peak_mb": round(peak["rss"], 1),
    }


def pending_invitation_ids(url: str, rows: int) -> list[int]:
    """The staff user's sponsor's pending, unexpired invitations: what bulk Resend may send."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        ids = conn.execute(
            text(
                "SELECT invitation.id FROM invitation JOIN user_account AS staff "
                "ON staff.sponsor_id = invitation.sponsor_id AND staff.email = :e "
                "WHERE invitation.state = 'pending' AND invitation.expires_at > :now "
                "ORDER BY invitation.id LIMIT :n"
            ),
            {"e": STAFF_EMAIL, "now": f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S}", "n": rows},
        ).scalars()
        ids = list(ids)
    engine.dispose()
    return ids


def measure_bulk_resend(url: str, client: Client, smtp: SmtpSink, rows: int) -> dict:
    """MANAGE → Invitations → ACTIONS → Resend of `rows` ticked invitations, in one request."""
    ids = pending_invitation_ids(url, rows)
    token = client.csrf("/manage/invitations")
    smtp.count = 0
    body = "&".join([f"csrf_token={token}", *(f"invitation_id={i}" for i in ids)])
    started = time.perf_counter()
    response, answer = client.request(
        "POST",
        "/manage/invitations/bulk/resend",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": token},
        htmx=True,
    )
    answered = time.perf_counter() - started
    deadline = time.perf_counter() + 120
    while smtp.count < len(ids) and time.perf_counter() < deadline:
        time.sleep(0.05)
    delivered = (smtp.last_at - started) if smtp.count else None
    said = re.search(rb"[\d,]+ invitations? sent again[^<]*", answer)
    return {
        "status": response.status,
        "selected": len(ids),
        "answer_s": round(answered, 3),
        "said": said.group(0).decode() if said else None,
        "delivered": smtp.count,
        "all_delivered_s": round(delivered, 2) if delivered else None,
    }


def measure_csv(client: Client, rows: int, tag: str) -> dict:
    token = client.csrf("/invite/managed/users")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("User type", "First name", "Last name", "Email", "Occupation"))
    for i in range(rows):
        writer.writerow(("Supervisor", "Ana", f"Rivera{i}", f"csv-{tag}-{i}@bench.example.com", ""))
    boundary = "benchboundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="csv_file"; '
        f'filename="people.csv"\r\nContent-Type: text/csv\r\n\r\n{out.getvalue()}\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    started = time.perf_counter()
    response, data = client.request(
        "POST",
        "/invite/managed/upload",
        body=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        htmx=True,
    )
    return {"status": response.status, "seconds": round(time.perf_counter() - started, 3)}


# ------------------------------------------------------------------ one database


def cases_for(client: Client, scale: str = "100k") -> dict[str, tuple[str, bool]]:
    _, page = client.get("/partners/employers?sort=name&dir=asc&page=3", htmx=True)
    org_id = re.search(rb'/partners/organizations/(\d+)"', page).group(1).decode()
    users = "/manage/users?sort=name&dir=asc"
    picker = "/partners/organizations/search?create=employer&organization_name="
    _, page = client.get("/manage/invitations")
    inviter_id = (
        re.search(
            rb'name="invited_by">\s*<option value="">[^<]*</option>\s*<option value="(\d+)"', page
        )
        .group(1)
        .decode()
    )
    invitations = "/manage/invitations?sort=sent&dir=desc&page=1"
    week_ago = (datetime.now(UTC) - timedelta(days=7)).date().isoformat()
    organizations = SCALES[scale]["orgs"]
    last_page = -(-SCALES[scale]["users"] // 25)
    cases = {
        "users: first page": (users + "&page=1", True),
        "users: search 'g'": (users + "&page=1&q=g", True),
        "users: search 'gar'": (users + "&page=1&q=gar", True),
        "users: search 'garcia'": (users + "&page=1&q=garcia", True),
        "users: search 'garcia ma'": (users + "&page=1&q=garcia+ma", True),
        "users: search 'nobody' (no match)": (users + "&page=1&q=nobody", True),
        "users: filter type=mentor": (users + "&page=1&type=mentor", True),
        "users: filter status=managed": (users + "&page=1&status=managed", True),
        "users: filter organization": (users + f"&page=1&organization={org_id}", True),
        "users: sort email": ("/manage/users?sort=email&dir=asc&page=1", True),
        "users: sort type desc": ("/manage/users?sort=type&dir=desc&page=1", True),
        "users: sort status": ("/manage/users?sort=status&dir=asc&page=1", True),
        "users: sort organization": ("/manage/users?sort=organization&dir=asc&page=1", True),
        "users: sort last login": ("/manage/users?sort=last_login&dir=asc&page=1", True),
        "users: page 2": (users + "&page=2", True),
        "users: page 2,000 (deep)": (users + "&page=2000", True),
        "users: page 2,000 status=active": (users + "&page=2000&status=active", True),
        "invitations fragment": ("/manage/invitations?sort=sent&dir=asc&page=1", True),
        "invitations: status=all": (invitations + "&status=all", True),
        "invitations: status=sent": (invitations + "&status=sent", True),
        "invitations: status=expired": (invitations + "&status=expired", True),
        "invitations: status=accepted": (invitations + "&status=accepted", True),
        "invitations: status=revoked": (invitations + "&status=revoked", True),
        "invitations: filter organization": (invitations + f"&organization={org_id}", True),
        "invitations: filter type=mentor": (invitations + "&type=mentor", True),
        "invitations: filter invited by": (invitations + f"&invited_by={inviter_id}", True),
        "invitations: sent in the last 7 days": (invitations + f"&sent_from={week_ago}", True),
        "invitations: page (full)": ("/manage/invitations", False),
        "employers table": ("/partners/employers?sort=name&dir=asc&page=1", True),
        "organization page": (f"/partners/organizations/{org_id}", False),
        f"MANAGE page with {organizations:,} organizations": ("/manage/users", False),
        # The organization pickers' options as one types (at most 20, best first).
        "picker: empty box": (picker, True),
        "picker: 'h'": (picker + "h", True),
        "picker: 'harbor'": (picker + "harbor", True),
        "picker: 'electric'": (picker + "electric", True),
        "picker: 'zzz' (no match)": (picker + "zzz", True),
    }
    # Rows the million-user scale adds: exact counts of each single filter, a full email
    # address, the last page by its number.
    _, page = client.get(users + "&page=1&q=garcia", htmx=True)
    address = re.search(rb"([a-z]+\.garcia\.\d+@example\.org)", page).group(1).decode()
    cases.update(
        {
            "users: filter status=active": (users + "&page=1&status=active", True),
            "users: filter status=deactivated": (users + "&page=1&status=deactivated", True),
            "users: filter type=provider": (users + "&page=1&type=provider", True),
            "users: search a full email address": (users + f"&page=1&q={address}", True),
            f"users: page {last_page:,} (last)": (users + f"&page={last_page}", True),
            f"users: page {last_page // 2:,} (middle)": (users + f"&page={last_page // 2}", True),
            f"users: page {last_page // 2:,} descending": (
                f"/manage/users?sort=name&dir=desc&page={last_page // 2}",
                True,
            ),
            f"users: page {last_page // 4:,} status=managed": (
                users + f"&page={last_page // 4}&status=managed",
                True,
            ),
            "users: jump to letter 'M'": (users + "&letter=M", True),
            "users: jump to letter 'S' type=mentor": (users + "&letter=S&type=mentor", True),
        }
    )
    # The last page reached by Next from the one before it (a keyset cursor).
    _, page = client.get(users + f"&page={last_page - 1}", htmx=True)
    found = re.search(rb'href="([^"]+)"[^>]*rel="next"', page)
    if found:
        cases["users: last page by Next"] = (found.group(1).decode().replace("&amp;", "&"), True)
    return cases


def first_page_bytes(client: Client) -> dict:
    response, page = client.get("/manage/users", encoding="br, gzip")
    _, plain = client.get("/manage/users")
    total = {"html": len(page), "html_uncompressed": len(plain)}
    assets = re.findall(rb'(?:href|src)="(/static/[^"]+)"', plain)
    for asset in dict.fromkeys(a.decode().replace("&amp;", "&") for a in assets):
        r, body = client.get(asset, encoding="br, gzip")
        total[asset] = len(body)
        total["cache_control " + asset.split("?")[0]] = r.headers.get("Cache-Control")
    total["total_compressed"] = sum(
        v for k, v in total.items() if k.startswith(("html", "/")) and k != "html_uncompressed"
    )
    return total


def run_database(db: str, url: str, args) -> dict:
    from benchmarks.apps import TRIVIAL_PATH

    seeding = seed(db, url, args.reuse, args.scale)
    smtp = SmtpSink()
    env = env_for(url, smtp.port)
    scope, port = start_gunicorn("benchmarks.apps:scope_app()", env, args.workers, args.threads)
    admin, admin_port = start_gunicorn(
        "benchmarks.apps:admin_app()", env, args.workers, args.threads
    )
    results: dict = {
        "database": db,
        "scale": args.scale,
        "seed_demo_s": seeding["wall_s"] if seeding else None,
        "seed_demo": seeding,
    }
    try:
        client = Client(port)
        client.login()
        cases = cases_for(client, args.scale)
        cases["trivial endpoint"] = (TRIVIAL_PATH, False)
        admin_path = "/admin/users/"
        rows = {}
        for name, (path, htmx) in cases.items():
            row = latency(client, path, htmx, args.samples, worker_pids(scope.pid))
            _, compressed = client.get(path, htmx=htmx, encoding="br, gzip")
            _, plain = client.get(path, htmx=htmx)
            row["bytes_compressed"] = len(compressed)
            row["bytes"] = len(plain)
            rows[name] = row
        admin_client = Client(admin_port)
        # Flask-Admin counts and pages with OFFSET: seconds a request at a million users.
        admin_samples = args.samples if args.scale == "100k" else min(args.samples, 20)
        row = latency(admin_client, admin_path, False, admin_samples, worker_pids(admin.pid))
        _, compressed = admin_client.get(admin_path, encoding="br, gzip")
        row["bytes_compressed"] = row["bytes"] = len(compressed)
        rows["flask_admin"] = row
        # Throughput in rounds, every request once per round, the best run kept. Each wrk
        # run opens new connections and the two gunicorn workers share them out by chance:
        # when one worker takes them all, a run measures half the server (a trivial
        # request did 650 or 1,800 req/s from one run to the next, and 650 every time right
        # after the full MANAGE page, whose last requests kept one worker busy). Rounds
        # also spread a slower minute of the machine over every request rather than one.
        targets = {name: (port, client.cookies, path, htmx) for name, (path, htmx) in cases.items()}
        targets["flask_admin"] = (admin_port, {}, admin_path, False)
        samples: dict[str, list[float]] = {name: [] for name in targets}
        # Flask-Admin at a million users takes seconds a request: a run of a few seconds
        # would end before its first request does.
        slow = {"flask_admin"} if args.scale != "100k" else set()
        for _ in range(args.rounds):
            for name, (target_port, cookies, path, htmx) in targets.items():
                seconds = args.seconds * 10 if name in slow else args.seconds
                samples[name].append(throughput(target_port, cookies, path, htmx, seconds))
        for name, row in rows.items():
            row["req_s"] = round(max(samples[name]), 1)
            label = "Flask-Admin list" if name == "flask_admin" else name
            print(f"  {db:10} {label:38} {row}", flush=True)
        statements = statements_per_request(url, cases, admin_path)
        for name, count in statements.items():
            rows[name]["sql_statements"] = count
        trivial = rows["trivial endpoint"]["req_s"]
        flask_admin = rows["flask_admin"]["req_s"]
        for row in rows.values():
            row["x_trivial"] = round(row["req_s"] / trivial, 3)
            row["x_flask_admin"] = round(row["req_s"] / flask_admin, 1) if flask_admin else None
        results["requests"] = rows
        results["first_page_load"] = first_page_bytes(client)
        results["users_csv_export"] = measure_export(port, client.cookies, worker_pids(scope.pid))
        print(f"  {db:10} Users CSV export {results['users_csv_export']}", flush=True)
        tag = f"{db}-{int(time.time())}"
        prepare_drafts(url, args.send_rows, tag)
        results["send"] = measure_send(port, scope.pid, client, smtp, args.send_rows)
        print(f"  {db:10} SEND {results['send']}", flush=True)
        results["bulk_resend"] = measure_bulk_resend(url, client, smtp, args.send_rows)
        print(f"  {db:10} bulk Resend {results['bulk_resend']}", flush=True)
        results["csv_check"] = measure_csv(client, args.send_rows, tag)
        print(f"  {db:10} CSV check {results['csv_check']}", flush=True)
    finally:
        stop(scope)
        stop(admin)
        smtp.stop()
    return results


def machine() -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    import sqlite3
    from importlib.metadata import version

    versions = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for package in ("flask", "sqlalchemy", "psycopg", "gunicorn", "flask-admin", "flask-compress"):
        versions[package] = version(package)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "versions": versions,
    }


def main() -> None:
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sqlite-path", default=str(ROOT / "instance" / "bench.sqlite3"))
    parser.add_argument("--scale", choices=tuple(SCALES), default="100k")
    parser.add_argument(
        "--pg-url", help="default: scope_bench (100k) or scope_bench_1m on 127.0.0.1:5432"
    )
    parser.add_argument("--reuse", action="store_true", help="skip seeding; the database is ready")
    parser.add_argument("--samples", type=int, default=200, help="single-client requests each")
    parser.add_argument("--seconds", type=int, default=2, help="each throughput run")
    parser.add_argument("--rounds", type=int, default=3, help="throughput runs of each request")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--send-rows", type=int, default=1000)
    args = parser.parse_args()
    Path(args.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.scale == "100k" else f"-{args.scale}"
    if not args.pg_url:
        args.pg_url = f"postgresql://postgres@127.0.0.1:5432/scope_bench{suffix.replace('-', '_')}"
    if suffix and args.sqlite_path == parser.get_default("sqlite_path"):
        args.sqlite_path = str(ROOT / "instance" / f"bench{suffix}.sqlite3")
    databases = {"sqlite": "sqlite:///" + args.sqlite_path, "postgresql": args.pg_url}
    chosen = list(databases) if args.db == "both" else [args.db]
    report = {"machine": machine(), "command": " ".join(sys.argv), "results": []}
    for db in chosen:
        report["results"].append(run_database(db, databases[db], args))
        out = ROOT / "benchmarks" / f"results-{db}{suffix}.json"
        out.write_text(json.dumps({**report, "results": report["results"][-1]}, indent=1))
    print(json.dumps(report["machine"]))


if __name__ == "__main__":
    main()
