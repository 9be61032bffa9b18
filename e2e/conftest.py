"""End-to-end fixtures: a real gunicorn server, a real SMTP sink and a real Chromium.

The server runs in its own process on a fresh database (a temporary SQLite file, or the
PostgreSQL database named by SCOPE_TEST_DATABASE_URL with its schema reset), migrated with
`flask db upgrade` and sending mail to an aiosmtpd server in this process. Tests drive it with
pytest-playwright's `page` (relative addresses: `page.goto("/login")`).

Fixtures: `server` (.url, .flask(*args) runs the CLI against it, .command(*args) runs a command
in this process on an app configured as the server is, .log()), `mail` (the SMTP
sink, emptied for the test: .wait_for(predicate), .wait_for_mail_to(address), .clear(),
.refuse(address) answers 550 to that recipient), `smtp_server` (.stop() and .start() on the
same port, for an outage; `mail` starts it again after the test), `create_staff(...)` and
`staff` (made with `flask create-staff`), `login(page, email, password)`, `staff_page`
(logged in as `staff`), and `shot(page, name)`, which saves
e2e/screenshots/<test>/<NN>-<name>.png: call it on every screen a test visits. What test
modules import (the SMTP sink's classes, login, unique addresses, the steps staff tests share)
lives in helpers.py.

Every test gets its own people (unique addresses), and the server keeps its real rate limits,
so one address cannot log in more than 10 times a minute.

Set SCOPE_E2E_REQUIRE_BROWSER=1 (CI does) to fail instead of skipping when no browser starts.

`pytest e2e -n 2` (pytest-xdist) runs the tests in two processes, each with its own server,
SMTP sink, browser and database (on PostgreSQL, SCOPE_TEST_DATABASE_URL's name with the worker's
appended, made for the run and dropped after it), and rate limits counted under a key prefix of
its own.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import pytest
from flask import Flask
from helpers import MailCollector, SMTPServer, Staff, login
from playwright.sync_api import Browser, BrowserType, Page, Playwright, expect
from playwright.sync_api import Error as PlaywrightError

E2E_DIR = Path(__file__).resolve().parent
REPO_ROOT = E2E_DIR.parent
SCREENSHOTS_DIR = E2E_DIR / "screenshots"
ARTIFACTS_DIR = E2E_DIR / "artifacts"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
NO_BROWSER_HELP = (
    "No browser for the end-to-end tests. Install one with `apt-get install -y chromium` "
    "(Debian/Ubuntu) or `playwright install chromium`, or point SCOPE_E2E_CHROMIUM at a "
    "Chromium binary."
)

# Under pytest-xdist: "gw0", "gw1", ...; None in a plain run.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
SERVER_LOGS_DIR = ARTIFACTS_DIR / "server-logs"


def _server_log_path() -> Path:
    return SERVER_LOGS_DIR / f"{WORKER or 'server'}.log"


def pytest_sessionstart(session: pytest.Session) -> None:
    if WORKER is None:  # the run itself (not one of its workers): forget earlier runs' logs
        shutil.rmtree(SERVER_LOGS_DIR, ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    # pytest-playwright's failure artifacts (--tracing, --screenshot) go beside the tests,
    # wherever pytest was started from; an explicit --output still wins.
    if config.getoption("--output", default=None) == "test-results":
        config.option.output = str(ARTIFACTS_DIR)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """When something failed, the servers' own logs usually say why (one per worker)."""
    if exitstatus == 0 or WORKER is not None:
        return
    for log in sorted(SERVER_LOGS_DIR.glob("*.log")):
        terminalreporter.section(f"Scope server log ({log})")
        lines = log.read_text(errors="replace").splitlines()
        if len(lines) > 400:
            terminalreporter.write_line(f"... {len(lines) - 400} earlier lines in the file ...")
        for line in lines[-400:]:
            terminalreporter.write_line(line)


# The README's screenshots, taken from the e2e run (SCOPE_UPDATE_README_SCREENSHOTS=1):
# docs/<name> comes from the newest e2e/screenshots/<test>/<NN>-<screen>.png.
README_SCREENSHOTS = {
    "screenshot-invite.png": ("test_invite_external_users_who_sign_up", "supervisor-row.png"),
    "screenshot-manage-users.png": (
        "test_managed_users_are_created_then_authenticated",
        "users-managed.png",
    ),
    "screenshot-sign-up-375.png": ("test_invite_external_users_who_sign_up", "sign-up-375.png"),
    "screenshot-public-links.png": (
        "test_a_person_signs_up_through_a_public_link_and_staff_approve_them",
        "public-links.png",
    ),
    "screenshot-flyer.png": (
        "test_a_person_signs_up_through_a_public_link_and_staff_approve_them",
        "flyer.png",
    ),
}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("SCOPE_UPDATE_README_SCREENSHOTS") != "1" or exitstatus != 0:
        return
    docs = REPO_ROOT / "docs"
    for name, (test, screen) in README_SCREENSHOTS.items():
        found = sorted((SCREENSHOTS_DIR / test).glob(f"[0-9][0-9]-{screen}"))
        if found:
            shutil.copyfile(found[-1], docs / name)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- SMTP sink ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def smtp_server() -> SMTPServer:
    smtp = SMTPServer("127.0.0.1", _free_port(), MailCollector())
    smtp.start()
    yield smtp
    smtp.stop()


@pytest.fixture
def mail(smtp_server: SMTPServer) -> MailCollector:
    """The SMTP sink, emptied for this test (and listening again if a test stopped it)."""
    smtp_server.collector.clear()
    smtp_server.start()
    yield smtp_server.collector
    smtp_server.start()


# --- Scope server ------------------------------------------------------------------------


@dataclasses.dataclass
class ScopeServer:
    url: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None
    app: Flask | None = None  # made by the first .command()

    def flask(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run `flask --app scope ARGS` against this server's database and configuration."""
        return _run_flask(self.env, *args, check=check)

    def command(self, *args: str) -> str:
        """The same command (`flask --app scope ARGS`) run in this process, by an app configured
        exactly as the server is; returns what it printed. For the commands most tests start
        with: a new interpreter took a second and a half of the test's time for each."""
        if self.app is None:
            from scope import create_app

            with mock.patch.dict(os.environ, self.env, clear=True):
                self.app = create_app()
        result = self.app.test_cli_runner().invoke(args=list(args))
        if result.exit_code != 0:
            raise AssertionError(
                f"`flask --app scope {' '.join(args)}` exited {result.exit_code}\n"
                f"--- output\n{result.output}\n--- exception\n{result.exception!r}"
            )
        return result.output

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _run_flask(env: dict[str, str], *args: str, check: bool = True):
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "scope", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"`flask --app scope {' '.join(args)}` exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result


@pytest.fixture(scope="session")
def _server_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database URI for a server that starts from nothing, as on a fresh machine.

    On PostgreSQL, a worker of pytest-xdist gets a database of its own next to the one named,
    dropped when the run ends."""
    url = os.environ.get("SCOPE_TEST_DATABASE_URL")
    if not url:
        yield "sqlite:///" + str(tmp_path_factory.mktemp("database") / "scope-e2e.sqlite3")
        return
    import psycopg
    from sqlalchemy.engine import make_url

    if WORKER is None:
        conninfo = re.sub(r"^postgresql\+\w+://", "postgresql://", url)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
            conn.execute("CREATE SCHEMA public")
        yield url
        return
    named = make_url(url)
    own = named.set(database=f"{named.database}_{WORKER}")
    admin = re.sub(r"^postgresql\+\w+://", "postgresql://", named.render_as_string(False))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{own.database}"')
    try:
        yield own.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)')


def _wait_until_answering(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"Scope server exited with {process.returncode} before answering:\n"
                + log_path.read_text(errors="replace")
            )
        try:
            with urllib.request.urlopen(url + "/login", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as error:
            last_error = error
        time.sleep(0.2)
    raise RuntimeError(
        f"Scope server did not answer {url}/login within 60s ({last_error}):\n"
        + log_path.read_text(errors="replace")
    )


def _gunicorn_extra_options() -> list[str]:
    """Newer gunicorn opens a control socket in ~/.gunicorn; a test server needs none."""
    from gunicorn.config import KNOWN_SETTINGS

    if any("--no-control-socket" in setting.cli for setting in KNOWN_SETTINGS if setting.cli):
        return ["--no-control-socket"]
    return []


@pytest.fixture(scope="session")
def server(_server_database: str, smtp_server: SMTPServer) -> ScopeServer:
    """gunicorn serving scope:create_app() on a free port of 127.0.0.1."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        key: value
        for key, value in os.environ.items()
        # The server gets exactly the configuration below, plus any other SCOPE_ setting
        # the person running the tests chose (a Redis rate-limit store, say).
        if key not in ("SCOPE_SQLALCHEMY_DATABASE_URI", "FLASK_APP", "FLASK_DEBUG")
    }
    env.update(
        {
            "SCOPE_SQLALCHEMY_DATABASE_URI": _server_database,
            # Not valid JSON, so from_prefixed_env keeps it a string.
            "SCOPE_SECRET_KEY": "e2e-" + secrets.token_urlsafe(32),
            "SCOPE_PUBLIC_URL": url,
            "SCOPE_MAIL_SERVER": smtp_server.host,
            "SCOPE_MAIL_PORT": str(smtp_server.port),
            "SCOPE_MAIL_DEFAULT_SENDER": "Scope <no-reply@scope-e2e.localhost>",
            # A retry every 3 s for 3 minutes, looked for every 2 s: an outage test sees its
            # message soon after the server is back, however long the outage took under load.
            "SCOPE_MAIL_RETRY_DELAYS": "[" + ", ".join(["3"] * 60) + "]",
            "SCOPE_MAIL_WAKE_SECONDS": "2",
            # The Notifications count is polled every 2 s instead of 60: a test sees a notice
            # arrive without a reload, and without waiting a minute.
            "SCOPE_NOTIFICATIONS_POLL_SECONDS": "2",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if WORKER is not None:
        # Rate limits kept in Redis: each worker's server counts its own clients' attempts.
        env["SCOPE_RATELIMIT_KEY_PREFIX"] = f"{env.get('SCOPE_RATELIMIT_KEY_PREFIX', '')}{WORKER}"
    _run_flask(env, "db", "upgrade")

    log_path = _server_log_path()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "gthread",
            "--workers",
            "1",
            "--threads",
            "4",
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            "--access-logfile",
            "-",
            "--error-logfile",
            "-",
            *_gunicorn_extra_options(),
            "scope:create_app()",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    scope_server = ScopeServer(url=url, env=env, log_path=log_path, process=process)
    try:
        _wait_until_answering(url, process, log_path)
        yield scope_server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log_file.close()


@pytest.fixture(scope="session")
def base_url(server: ScopeServer) -> str:
    """pytest-playwright opens relative addresses (page.goto("/login")) on the server."""
    return server.url


# --- People ------------------------------------------------------------------------------


_sequence = itertools.count(1)


@pytest.fixture(scope="session")
def create_staff(server: ScopeServer) -> Callable[..., Staff]:
    """Create a staff user with the CLI, as an operator would; unique unless told otherwise."""
    run_id = secrets.token_hex(3)

    def create(
        email: str | None = None,
        *,
        sponsor: str | None = None,
        password: str | None = None,
        first_name: str = "",
        last_name: str = "",
    ) -> Staff:
        n = next(_sequence)
        staff = Staff(
            email=email or f"staff{n}-{run_id}@example.com",
            password=password or f"e2e-{secrets.token_urlsafe(12)}",
            sponsor=sponsor or f"E2E Sponsor {n} {run_id}",
        )
        names = ["--first-name", first_name, "--last-name", last_name]
        server.command(
            "create-staff",
            staff.email,
            "--password",
            staff.password,
            "--sponsor",
            staff.sponsor,
            *names,
        )
        return staff

    return create


@pytest.fixture
def staff(create_staff) -> Staff:
    """A new staff member of a new sponsor, not logged in."""
    return create_staff()


@pytest.fixture(name="login")
def login_fixture() -> Callable[[Page, str, str], None]:
    return login


@pytest.fixture
def staff_page(page: Page, staff: Staff) -> Page:
    """`page`, logged in as `staff` (a new staff member of a new sponsor)."""
    login(page, staff.email, staff.password)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    return page


# --- Browser -----------------------------------------------------------------------------


def _chromium_executable() -> str | None:
    configured = os.environ.get("SCOPE_E2E_CHROMIUM")
    if configured:
        return configured
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _no_browser(reason: str) -> None:
    message = f"{NO_BROWSER_HELP} ({reason})"
    if os.environ.get("SCOPE_E2E_REQUIRE_BROWSER") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser(
    playwright: Playwright, browser_type: BrowserType, browser_type_launch_args: dict
) -> Browser:
    """The system's Chromium when there is one, else Playwright's own build, else skip."""
    options = {"headless": True, **browser_type_launch_args}
    executable = _chromium_executable() if browser_type.name == "chromium" else None
    launched = None
    errors = []
    if executable:
        try:
            launched = browser_type.launch(
                executable_path=executable, args=CHROMIUM_ARGS, **options
            )
        except PlaywrightError as error:
            errors.append(f"{executable}: {str(error).splitlines()[0]}")
    if launched is None:
        try:
            args = CHROMIUM_ARGS if browser_type.name == "chromium" else []
            launched = browser_type.launch(args=args, **options)
        except PlaywrightError as error:
            errors.append(f"Playwright's {browser_type.name}: {str(error).splitlines()[0]}")
    if launched is None:
        _no_browser("; ".join(errors))
    yield launched
    launched.close()


# --- What the browser saw go wrong ---------------------------------------------------------


class BrowserProblems:
    """Everything a person's browser would have flagged in a test: a script error, a console
    error (a CSP violation after a swap, say), a request that failed or a file that was not
    found (a 404 favicon), an answer of 500 or more. Pages and htmx swaps that answer 4xx on
    purpose (a form to correct, a link that expired) are the app talking, not problems."""

    APP_ANSWERS = {"document", "xhr", "fetch"}
    # Chromium logs every 4xx/5xx it loads as a console error: the response rule judges those.
    LOGGED_RESPONSE = re.compile(r"^Failed to load resource: the server responded with a status")

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.allowed: list[re.Pattern] = []

    def allow(self, pattern: str) -> None:
        """A problem this test causes on purpose (matched against its description)."""
        self.allowed.append(re.compile(pattern))

    def watch(self, context) -> None:
        context.on("weberror", lambda error: self._add(f"script error: {error.error}"))
        context.on("console", self._console)
        context.on("requestfailed", self._request_failed)
        context.on("response", self._response)

    def _add(self, problem: str) -> None:
        self.seen.append(problem)

    def _console(self, message) -> None:
        if message.type != "error" or self.LOGGED_RESPONSE.match(message.text):
            return
        problem = f"console error: {message.text} ({message.location.get('url', '')})"
        # htmx logs a request it cancelled itself (hx-sync "replace": a search typed on while
        # the last one was answered) as two errors, afterRequest then sendAbort. The request
        # rule below already takes such a request as expected (ERR_ABORTED); so does this one.
        # afterRequest logged with anything else (a send error, a timeout) stays a problem.
        if message.text.startswith("htmx:sendAbort, "):
            before = problem.replace("htmx:sendAbort, ", "htmx:afterRequest, ", 1)
            if self.seen and self.seen[-1] == before:
                self.seen.pop()
                return
        self._add(problem)

    def _request_failed(self, request) -> None:
        # ERR_ABORTED: a navigation that replaced the page, or a request htmx cancelled.
        if request.failure and "ERR_ABORTED" not in request.failure:
            self._add(f"request failed: {request.method} {request.url}: {request.failure}")

    def _response(self, response) -> None:
        status, kind = response.status, response.request.resource_type
        if status >= 500 or (status >= 400 and kind not in self.APP_ANSWERS):
            self._add(f"{status} for {kind} {response.request.method} {response.url}")

    def problems(self) -> list[str]:
        return [p for p in self.seen if not any(a.search(p) for a in self.allowed)]


@pytest.fixture
def browser_problems() -> BrowserProblems:
    return BrowserProblems()


@pytest.fixture
def new_context(new_context, browser_problems: BrowserProblems):
    """Every browser context a test opens is watched; the test fails on what went wrong."""

    def make(**kwargs):
        context = new_context(**kwargs)
        browser_problems.watch(context)
        return context

    yield make
    problems = browser_problems.problems()
    assert not problems, "The browser saw problems:\n  " + "\n  ".join(problems)


# --- Screenshots -------------------------------------------------------------------------


def _screenshot_folder_name(node: pytest.Item) -> str:
    params = getattr(getattr(node, "callspec", None), "params", {})
    parts = [node.originalname]
    parts += [str(value) for key, value in params.items() if key != "browser_name"]
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", "-".join(parts)).strip("-")


# Rules axe-core leaves off by default that WCAG 2.2 AA (target size) or working ARIA
# references (unique ids) need.
AXE_EXTRA_RULES = ("target-size", "duplicate-id", "duplicate-id-active")


AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "rules": {rule: {"enabled": True} for rule in AXE_EXTRA_RULES},
}


@functools.cache
def _axe_source() -> str:
    from axe_playwright_python.sync_playwright import Axe

    return Axe().axe_script


def _axe_violations(page: Page) -> list[dict]:
    """axe-core's WCAG 2.0/2.1/2.2 A and AA rules (and its best practices) run on the page.

    axe-core is loaded into a document once (an htmx swap keeps it; a new page needs it
    again), and only the violations come back from the browser."""
    if not page.evaluate("typeof window.axe?.run === 'function'"):
        page.evaluate(_axe_source())
    return page.evaluate(
        "options => axe.run(document, options).then(r => r.violations)", AXE_OPTIONS
    )


def _describe_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        targets = ", ".join(
            " ".join(str(part) for part in node["target"]) for node in violation["nodes"][:6]
        )
        lines.append(
            f"  {violation['id']} ({violation['impact']}): {violation['help']} -- {targets}"
        )
    return "\n".join(lines)


SMALL_SCREEN = {"width": 375, "height": 812}


def _screenshot(page: Page, path: Path) -> None:
    """A full-page screenshot. Chromium's compositor now and then refuses one on a loaded
    machine ("Unable to capture screenshot"); the page is unchanged, so it is asked again."""
    for attempt in range(3):
        try:
            page.screenshot(path=path, full_page=True)
            return
        except PlaywrightError as error:
            if "Unable to capture screenshot" not in str(error) or attempt == 2:
                raise
            page.wait_for_timeout(200)


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """`shot(page, "name")` saves e2e/screenshots/<test>/<NN>-<name>.png (full page, 1280 px
    wide) and <NN>-<name>-375.png (375 px, a phone), and runs axe-core on the page at both
    widths: any violation fails the test, with the rule, its impact and the elements, and so
    does a page wider than the phone's screen.
    SCOPE_E2E_AXE_REPORT=<file> appends the violations to that file instead of failing."""
    folder = SCREENSHOTS_DIR / _screenshot_folder_name(request.node)
    shutil.rmtree(folder, ignore_errors=True)
    counter = itertools.count(1)
    report = os.environ.get("SCOPE_E2E_AXE_REPORT")

    def check(page: Page, label: str) -> None:
        violations = _axe_violations(page)
        if report:
            with open(report, "a") as out:
                for violation in violations:
                    out.write(
                        f"{label}\t{violation['id']}\t{violation['impact']}\t"
                        f"{len(violation['nodes'])}\n"
                    )
            return
        if violations:
            raise AssertionError(
                f"axe-core found {len(violations)} accessibility violation(s) on "
                f"{label} ({page.url}):\n{_describe_violations(violations)}"
            )

    def take(page: Page, name: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")
        stem = f"{next(counter):02d}-{safe}"
        path = folder / f"{stem}.png"
        label = f"{folder.name}/{stem}"
        _screenshot(page, path)
        check(page, label)
        wide = page.viewport_size
        page.set_viewport_size(SMALL_SCREEN)
        try:
            _screenshot(page, folder / f"{stem}-375.png")
            check(page, label + "-375")
            # A phone never scrolls the whole page sideways: wide tables scroll in their frame.
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= SMALL_SCREEN["width"], f"{label} is {width} px wide at 375 px"
        finally:
            page.set_viewport_size(wide)
        return path

    return take
