"""The application shell: configuration, login, logout, errors, htmx redirects."""

import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import SAWarning
from sqlalchemy.schema import CreateIndex

from scope import create_app, schema
from scope.config import ConfigurationError, check_workers
from scope.extensions import db
from scope.models import User
from tests.helpers import PASSWORD, csrf_token, element, is_whole_page, texts


@pytest.mark.real_commits  # reads the schema on a connection of its own
def test_models_and_migrations_do_not_drift(app):
    with app.app_context(), db.engine.connect() as conn, warnings.catch_warnings():
        # SQLite's expression indexes are not reflected (both libraries say so): checked below.
        warnings.filterwarnings(
            "ignore", "Skipped unsupported reflection of expression-based index", SAWarning
        )
        warnings.filterwarnings(
            "ignore", "autogenerate skipping metadata-specified expression-based index"
        )
        diff = compare_metadata(
            MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "include_name": schema.include_name,
                    "include_object": schema.include_object,
                },
            ),
            db.metadata,
        )
        indexes = {i.name: i for t in db.metadata.tables.values() for i in t.indexes}
        for name in schema.EXPRESSION_INDEXES:
            if conn.dialect.name == "sqlite":
                made = conn.scalar(
                    text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name}
                )
                declared = str(CreateIndex(indexes[name]).compile(dialect=conn.dialect))
                assert " ".join(made.split()) == " ".join(declared.split())
            else:
                # The model's index made again under another name (and dropped): PostgreSQL
                # writes out both definitions alike when they are the same.
                definition = text("SELECT pg_get_indexdef(CAST(:n AS regclass))")
                made = conn.scalar(definition, {"n": name})
                declared = str(CreateIndex(indexes[name]).compile(dialect=conn.dialect))
                conn.rollback()
                with conn.begin() as check:
                    conn.exec_driver_sql(declared.replace(name, "drift_check", 1))
                    again = conn.scalar(definition, {"n": "drift_check"})
                    check.rollback()
                assert made == again.replace("drift_check", name, 1)
    assert diff == []


def test_secret_key_is_generated_once_per_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("SCOPE_SECRET_KEY", raising=False)
    first = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "DEV_MAILBOX": True})
    first.instance_path = str(tmp_path)
    from scope.config import _instance_secret_key

    key = _instance_secret_key(first)
    assert len(key) >= 40
    assert _instance_secret_key(first) == key
    assert (Path(tmp_path) / "secret_key").stat().st_mode & 0o077 == 0


def test_config_comes_from_prefixed_environment(monkeypatch):
    monkeypatch.setenv("SCOPE_PUBLIC_URL", "https://scope.example.org/")
    monkeypatch.setenv("SCOPE_MAIL_PORT", "2525")
    monkeypatch.setenv("SCOPE_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("SCOPE_MAIL_SERVER", "smtp.example.org")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["PUBLIC_URL"] == "https://scope.example.org"
    assert app.config["MAIL_SERVER"] == "smtp.example.org"
    assert app.config["MAIL_PORT"] == 2525
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["SESSION_COOKIE_SECURE"] is True


def _production_environment(monkeypatch) -> None:
    for name in ("SCOPE_MAIL_SERVER", "SCOPE_DEV_MAILBOX", "FLASK_DEBUG", "SCOPE_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SCOPE_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("SCOPE_PUBLIC_URL", "https://scope.example.org")


def test_a_production_start_without_a_public_url_is_refused_saying_what_to_set(monkeypatch):
    _production_environment(monkeypatch)
    monkeypatch.setenv("SCOPE_MAIL_SERVER", "smtp.example.org")
    monkeypatch.delenv("SCOPE_PUBLIC_URL")
    with pytest.raises(ConfigurationError) as refused:
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert "SCOPE_PUBLIC_URL is not set" in str(refused.value)
    # On a development machine links point at the development server.
    monkeypatch.setenv("SCOPE_DEV_MAILBOX", "true")
    development = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert development.config["PUBLIC_URL"] == "http://127.0.0.1:5000"


def test_a_production_start_without_a_mail_server_is_refused_saying_what_to_set(monkeypatch):
    _production_environment(monkeypatch)
    with pytest.raises(ConfigurationError) as refused:
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert "Set SCOPE_MAIL_SERVER" in str(refused.value)
    assert "SCOPE_DEV_MAILBOX=true" in str(refused.value)

    monkeypatch.setenv("SCOPE_DEV_MAILBOX", "true")
    development = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert development.config["DEV_MAILBOX"] is True
    monkeypatch.delenv("SCOPE_DEV_MAILBOX")
    monkeypatch.setenv("SCOPE_MAIL_SERVER", "smtp.example.org")
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["DEV_MAILBOX"] is False


REPO_ROOT = Path(__file__).resolve().parents[1]


def _gunicorn(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    """gunicorn started as in production; these settings make it exit before serving."""
    return subprocess.run(
        [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", *args, "scope:create_app()"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_gunicorn_exits_saying_what_to_set_when_no_mail_server_is_configured(monkeypatch):
    _production_environment(monkeypatch)
    monkeypatch.setenv("SCOPE_SQLALCHEMY_DATABASE_URI", "sqlite://")
    result = _gunicorn()
    assert result.returncode == 1
    assert "Error: No mail server is configured" in result.stderr
    assert "Set SCOPE_MAIL_SERVER" in result.stderr


@pytest.mark.parametrize(
    "option, environment, workers",
    [
        (["-w", "2"], {}, 2),
        ([], {"WEB_CONCURRENCY": "3"}, 3),
        ([], {"GUNICORN_CMD_ARGS": "--workers 4"}, 4),
    ],
)
def test_several_gunicorn_workers_counting_limits_in_memory_are_refused(
    monkeypatch, option, environment, workers
):
    _production_environment(monkeypatch)
    monkeypatch.setenv("SCOPE_SQLALCHEMY_DATABASE_URI", "sqlite://")
    monkeypatch.setenv("SCOPE_DEV_MAILBOX", "true")
    monkeypatch.delenv("SCOPE_RATELIMIT_STORAGE_URI", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    result = _gunicorn(*option)
    assert result.returncode == 1
    assert f"Error: gunicorn would start {workers} workers" in result.stderr
    assert "SCOPE_RATELIMIT_STORAGE_URI=redis://" in result.stderr
    assert "SCOPE_RATELIMIT_ALLOW_MEMORY_WITH_WORKERS=true" in result.stderr
    assert "Booting worker" not in result.stderr


def test_gunicorn_without_scopes_config_file_is_refused(monkeypatch, tmp_path):
    _production_environment(monkeypatch)
    monkeypatch.setenv("SCOPE_SQLALCHEMY_DATABASE_URI", "sqlite://")
    monkeypatch.setenv("SCOPE_DEV_MAILBOX", "true")
    result = _gunicorn("-w", "1", cwd=tmp_path)
    assert result.returncode != 0
    assert "gunicorn started without Scope's gunicorn.conf.py" in result.stderr


def test_several_workers_start_with_shared_limits_or_the_explicit_override():
    memory = {"RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_ALLOW_MEMORY_WITH_WORKERS": False}
    check_workers(memory, 1)
    with pytest.raises(ConfigurationError):
        check_workers(memory, 2)
    check_workers({**memory, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}, 8)
    check_workers({**memory, "RATELIMIT_ALLOW_MEMORY_WITH_WORKERS": True}, 8)


def test_gunicorn_with_the_override_starts_its_workers(monkeypatch):
    _production_environment(monkeypatch)
    monkeypatch.setenv("SCOPE_SQLALCHEMY_DATABASE_URI", "sqlite://")
    monkeypatch.setenv("SCOPE_DEV_MAILBOX", "true")
    monkeypatch.setenv("SCOPE_RATELIMIT_ALLOW_MEMORY_WITH_WORKERS", "true")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "--bind", f"127.0.0.1:{port}"]
        + ["scope:create_app()"],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        status = None
        deadline = time.monotonic() + 30
        while status is None and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                    status = r.status
            except OSError:
                time.sleep(0.2)
        assert status == 200, server.poll()
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_login_page_has_labelled_fields(client):
    html = client.get("/login").get_data(as_text=True)
    assert "Email" in texts(html, 'label[for="email"]')
    assert "Password" in texts(html, 'label[for="password"]')
    assert "Forgot password?" in html


def test_staff_logs_in_and_lands_on_employers(staff):
    response = staff.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/partners/employers")
    page = staff.get("/partners/employers").get_data(as_text=True)
    assert "Employers" in page and "Log out" in page


def test_wrong_password_is_refused_with_a_message(auth, make_user):
    make_user("someone@example.com")
    response = auth.login("someone@example.com", "not the password at all")
    assert response.status_code == 422
    assert "do not match an active account" in response.get_data(as_text=True)


@pytest.mark.parametrize("status", ["managed", "deactivated"])
def test_only_active_accounts_log_in(auth, make_user, status):
    make_user("someone@example.com", status=status)
    assert auth.login("someone@example.com").status_code == 422


def test_login_email_is_case_insensitive(auth, make_user):
    make_user("someone@example.com")
    assert auth.login("  SomeOne@Example.COM ").status_code == 302


def test_login_ignores_an_offsite_next(auth, make_user, client):
    make_user("someone@example.com")
    token = auth.csrf_token()
    response = client.post(
        "/login?next=//evil.example/x",
        data={
            "email": "someone@example.com",
            "password": "correct horse battery staple",
            "csrf_token": token,
        },
    )
    assert response.headers["Location"] == "/partners/employers"


def test_logout_ends_the_session_everywhere(app, staff, client):
    other = app.test_client()
    with client.session_transaction() as s:
        cookie_session = dict(s)
    with other.session_transaction() as s:
        s.update(cookie_session)
    assert other.get("/partners/employers").status_code == 200
    assert staff.post("/logout").status_code == 302
    assert other.get("/partners/employers").status_code == 302
    with app.app_context():
        assert db.session.get(User, staff.user_id).session_version == 2


def test_post_without_csrf_token_is_refused(staff):
    response = staff.post("/logout", csrf=False)
    assert response.status_code == 400
    assert "Reload the page" in response.get_data(as_text=True)
    assert staff.get("/partners/employers").status_code == 200


def test_htmx_request_with_expired_session_gets_hx_redirect(client):
    response = client.get("/partners/employers", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/login?next=")
    assert response.get_data() == b""


def test_logging_in_again_after_an_htmx_post_lands_on_the_page_it_came_from(app, staff):
    """A session ended while a page was open: its next ADD+ (a POST, an address no browser
    can ask for again) sends the person to log in and back to the page, not to a 405."""
    token = staff.token  # the page's, from before the session ended
    with app.app_context():
        from scope.auth.services import end_all_sessions

        end_all_sessions(db.session.get(User, staff.user_id))
        db.session.commit()
    headers = {
        "HX-Request": "true",
        "HX-Current-URL": "http://localhost/invite/teammates?from=tab",
        "X-CSRFToken": token,
    }
    answer = staff.client.post(
        "/invite/teammates/rows", data={"email": "p@x.test"}, headers=headers
    )
    assert answer.headers["HX-Redirect"] == "/login?next=/invite/teammates?from%3Dtab"
    page = staff.client.get(answer.headers["HX-Redirect"])
    done = staff.client.post(
        answer.headers["HX-Redirect"],
        data={
            "email": "staff@riverbend.test",
            "password": PASSWORD,
            "csrf_token": csrf_token(page),
        },
    )
    assert done.headers["Location"] == "/invite/teammates?from=tab"
    assert staff.client.get(done.headers["Location"]).status_code == 200
    # A plain form's POST has no page to name: logging in lands where it always does.
    visitor = app.test_client()
    form = {"email": "p@x.test", "csrf_token": csrf_token(visitor.get("/login"))}
    assert visitor.post("/invite/teammates/rows", data=form).headers["Location"] == "/login"


@pytest.mark.parametrize(
    "current, back_to",
    [
        ("http://[", "/manage/users?q%3Da"),  # no address: the request's own
        ("javascript:alert(1)", "/manage/users?q%3Da"),
        ("", "/manage/users?q%3Da"),
        ("https://evil.example/x?y=1", "/x?y%3D1"),  # only ever a path of this site
    ],
)
def test_the_page_an_htmx_request_names_is_only_ever_a_path_here(client, current, back_to):
    headers = {"HX-Request": "true", "HX-Current-URL": current}
    response = client.get("/manage/users?q=a", headers=headers)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/login?next={back_to}"


def test_anonymous_full_page_goes_to_login(client):
    response = client.get("/manage/users")
    assert response.status_code == 302
    assert "/login?next=/manage/users" in response.headers["Location"]


def test_partner_user_gets_403_on_staff_pages(client, auth, make_sponsor, make_user, make_org):
    sponsor = make_sponsor()
    org = make_org(sponsor)
    make_user("mentor@example.com", sponsor_id=sponsor, user_type="supervisor", organization_id=org)
    auth.login("mentor@example.com")
    response = client.get("/partners/employers")
    assert response.status_code == 403
    assert "Not allowed" in response.get_data(as_text=True)
    fragment = client.get("/manage/users", headers={"HX-Request": "true"})
    assert fragment.status_code == 403
    assert fragment.headers["HX-Retarget"] == "#alerts"
    assert not is_whole_page(fragment)
    assert client.get("/my/organization").status_code == 200


def test_404_page_and_fragment(staff):
    page = staff.get("/no/such/page")
    assert page.status_code == 404 and is_whole_page(page)
    fragment = staff.get("/no/such/page", htmx=True)
    assert fragment.status_code == 404 and not is_whole_page(fragment)
    assert "Not found" in fragment.get_data(as_text=True)


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe" not in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "HX-Request" in response.headers["Vary"]


def test_cli_create_staff_then_login(runner, auth):
    result = runner.invoke(
        args=[
            "create-staff",
            "Boss@Example.com",
            "--password",
            "a long and unusual passphrase",
            "--sponsor",
            "Acme Sponsor",
        ]
    )
    assert result.exit_code == 0, result.output
    assert auth.login("boss@example.com", "a long and unusual passphrase").status_code == 302


def test_cli_create_staff_refuses_weak_password_and_bad_email(runner, app):
    weak = runner.invoke(
        args=["create-staff", "a@example.com", "--password", "password1234", "--sponsor", "S"]
    )
    assert weak.exit_code != 0 and "password" in weak.output.lower()
    bad = runner.invoke(
        args=[
            "create-staff",
            "not-an-email",
            "--password",
            "a long and unusual passphrase",
            "--sponsor",
            "S",
        ]
    )
    assert bad.exit_code != 0
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(User.id))) == 0


@pytest.mark.real_commits  # seed-demo analyzes on a connection of its own
def test_cli_seed_demo_prints_a_working_login(runner, auth):
    result = runner.invoke(args=["seed-demo", "--users", "30", "--invitations", "5", "--orgs", "6"])
    assert result.exit_code == 0, result.output
    line = [line for line in result.output.splitlines() if line.startswith("Staff login:")][0]
    email, password = line.removeprefix("Staff login: ").split(" / ")
    assert auth.login(email, password).status_code == 302


@pytest.mark.real_commits  # seed-demo analyzes on a connection of its own
def test_the_demo_login_can_recover_its_password(app, runner):
    from scope.extensions import db
    from scope.models import MailMessage

    result = runner.invoke(args=["seed-demo", "--users", "3", "--invitations", "0", "--orgs", "1"])
    email = result.output.split("Staff login: ", 1)[1].split(" / ")[0]
    client = app.test_client()
    token = csrf_token(client.get("/forgot-password"))
    response = client.post("/forgot-password", data={"email": email, "csrf_token": token})
    assert response.status_code == 200
    assert "valid email" not in response.get_data(as_text=True).lower()
    with app.app_context():
        sent = db.session.scalars(db.select(MailMessage.recipient)).all()
    assert email in sent


@pytest.mark.real_commits  # seed-demo analyzes on a connection of its own
def test_a_second_demo_run_keeps_the_password_the_first_printed(app, runner, auth, tmp_path):
    def login_line() -> str:
        result = runner.invoke(
            args=[
                "seed-demo",
                "--users",
                "2",
                "--invitations",
                "0",
                "--orgs",
                "1",
                "--keep-password",
            ]
        )
        assert result.exit_code == 0, result.output
        return result.output.split("Staff login: ", 1)[1].strip()

    original = app.instance_path
    app.instance_path = str(tmp_path)
    try:
        first = login_line()
        assert login_line() == first
    finally:
        app.instance_path = original
    kept = tmp_path / "demo-password"
    assert kept.read_text().strip() == first.split(" / ")[1]
    assert kept.stat().st_mode & 0o077 == 0
    email, password = first.split(" / ")
    assert auth.login(email, password).status_code == 302


def _scripts_run(tmp_path, *args, **environment) -> dict:
    """scripts/run with `python` and `flask` replaced by stand-ins that record what they were
    asked and with which SCOPE_PUBLIC_URL: its own logic, without installing or serving."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "calls"
    for name in ("python", "flask"):
        stand_in = bin_dir / name
        stand_in.write_text(
            f'#!/bin/sh\necho "{name} $* | $SCOPE_PUBLIC_URL | $SCOPE_DEV_MAILBOX" >> "{log}"\n'
        )
        stand_in.chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "VIRTUAL_ENV": str(tmp_path),  # "the active virtualenv": none is created
        **environment,
    }
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "run"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    serve = [call for call in calls if call.startswith("flask --app scope run")][-1]
    return {"calls": calls, "serve": serve, "output": result.stdout}


@pytest.mark.parametrize(
    "args, environment, url",
    [
        ((), {}, "http://127.0.0.1:5000"),
        (("--port", "5312"), {}, "http://127.0.0.1:5312"),
        (("--port=5313",), {}, "http://127.0.0.1:5313"),
        (("-p", "5314", "--debug"), {}, "http://127.0.0.1:5314"),
        (("--host", "0.0.0.0", "--port", "8080"), {}, "http://127.0.0.1:8080"),
        (("--host=localhost",), {"FLASK_RUN_PORT": "5400"}, "http://localhost:5400"),
        (
            ("--port", "5312"),
            {"SCOPE_PUBLIC_URL": "https://demo.example.org"},
            "https://demo.example.org",
        ),
    ],
)
def test_scripts_run_points_emailed_links_at_the_port_it_serves(tmp_path, args, environment, url):
    ran = _scripts_run(tmp_path, *args, **environment)
    assert ran["serve"] == f"flask --app scope run {' '.join(args)} | {url} | true".replace(
        "run  |", "run |"
    )
    assert f"Emailed links point at {url}" in ran["output"]
    assert any(
        call.startswith("flask --app scope seed-demo --keep-password") for call in ran["calls"]
    )


def test_every_page_names_its_icon_and_the_old_address_leads_to_it(client):
    page = client.get("/login").get_data(as_text=True)
    icon = element(page, 'link[rel="icon"]')
    assert icon.get("type") == "image/svg+xml"
    served = client.get(icon.get("href"))
    served.close()
    assert served.status_code == 200 and served.mimetype == "image/svg+xml"
    old = client.get("/favicon.ico")
    assert old.status_code == 301 and old.headers["Location"] == icon.get("href")
