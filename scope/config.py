"""Configuration: defaults, then SCOPE_-prefixed environment variables, then test overrides."""

import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

from flask import Flask

# Where the development server listens unless told otherwise (scripts/run passes its port).
DEVELOPMENT_URL = "http://127.0.0.1:5000"

DEFAULTS = {
    # The address the links in emails point at: required in production; on a development
    # machine DEVELOPMENT_URL (scripts/run sets it from the port it starts on).
    "PUBLIC_URL": None,
    "MAIL_SERVER": None,
    # Mail kept in the app for staff to read: anyone could follow a colleague's recovery link,
    # so only on a machine someone set up for development (scripts/run does).
    "DEV_MAILBOX": False,
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_DEFAULT_SENDER": "Scope <no-reply@scope.localhost>",
    "MAIL_TIMEOUT": 10,
    # Deliver queued mail from the web process shortly after commit; off when mail-worker runs.
    "MAIL_DELIVER_IN_PROCESS": True,
    # How often the in-process delivery looks for retries that are due, and the waits between
    # attempts in seconds (None: 30 s, 2 min, 10 min, 1 h, 6 h); tests shorten both.
    "MAIL_WAKE_SECONDS": 30,
    "MAIL_RETRY_DELAYS": None,
    "INVITATION_DAYS": 14,
    # Days after an invitation was sent that a pending one gets a reminder email ([]: none).
    "INVITATION_REMINDER_DAYS": [3, 10],
    # How often the Notifications button asks for its unread count (htmx polling).
    "NOTIFICATIONS_POLL_SECONDS": 60,
    "SET_PASSWORD_DAYS": 7,
    "RECOVERY_MINUTES": 60,
    # Recovery emails one account receives in an hour, however many are asked for.
    "RECOVERY_EMAILS_PER_HOUR": 3,
    "PAGE_SIZE": 25,
    # Emails staff actions of one sponsor may send in 24 hours (invitations, resends,
    # set-password links): a stolen staff session cannot spam (scope.mail.allowance).
    "EMAILS_PER_SPONSOR_PER_DAY": 500,
    # How many reverse proxies in front set X-Forwarded-For (and -Proto); 0 trusts no header,
    # so a client cannot pick the address its rate limits are counted under.
    "TRUSTED_PROXIES": 0,
    "RATELIMIT_STORAGE_URI": "memory://",
    # memory:// counts in each process: several gunicorn workers would each allow the whole
    # limit. Refused at start unless this says it is meant (gunicorn_hooks.on_starting).
    "RATELIMIT_ALLOW_MEMORY_WITH_WORKERS": False,
    "RATELIMIT_HEADERS_ENABLED": True,
    # Redis unreachable: every limit is kept in each process's memory until it is back
    # (docs/RELIABILITY.md says why this rather than refusing logins), and an error the
    # fallback cannot catch (Redis failing between a request's check and its count) is
    # logged rather than turned into a 500.
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "RATELIMIT_SWALLOW_ERRORS": True,
    # A session ends after this many hours without a request (the cookie's signed timestamp
    # is renewed by every request, and checked on the next one).
    "SESSION_IDLE_HOURS": 12,
    "SESSION_REFRESH_EACH_REQUEST": False,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
}


def load_config(app: Flask, overrides: dict | None) -> None:
    app.config.update(DEFAULTS)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(
        Path(app.instance_path) / "scope.sqlite3"
    )
    app.config.from_prefixed_env("SCOPE")
    if overrides:
        app.config.update(overrides)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(app)
    if not app.config["PUBLIC_URL"] and is_development(app):
        app.config["PUBLIC_URL"] = DEVELOPMENT_URL
    app.config["PUBLIC_URL"] = str(app.config["PUBLIC_URL"] or "").rstrip("/")
    app.config["SESSION_COOKIE_SECURE"] = app.config["PUBLIC_URL"].startswith("https://")
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(
        hours=float(app.config["SESSION_IDLE_HOURS"])
    )
    if str(app.config["RATELIMIT_STORAGE_URI"]).startswith(("redis://", "rediss://")):
        # Without timeouts, a Redis that stops answering would hang every limited request.
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {
            "socket_connect_timeout": 1,
            "socket_timeout": 1,
            **app.config.get("RATELIMIT_STORAGE_OPTIONS", {}),
        }
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://"):
        # psycopg 3 is the driver we ship.
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.split("://", 1)[1]


def is_development(app: Flask) -> bool:
    """A machine someone set up for development (scripts/run sets SCOPE_DEV_MAILBOX), a debug
    server, or the tests: what production must not do without is defaulted there."""
    return bool(app.debug or app.testing or app.config["DEV_MAILBOX"])


class ConfigurationError(RuntimeError):
    """A setting that would make Scope unsafe or broken; the message says what to set."""


def check_config(app: Flask) -> None:
    """Refuse to start a production process that could not work as configured."""
    config = app.config
    proxies = config["TRUSTED_PROXIES"]
    if isinstance(proxies, bool) or not isinstance(proxies, int) or proxies < 0:
        raise ConfigurationError(
            f"SCOPE_TRUSTED_PROXIES must be a whole number (0 or more), not {proxies!r}: how "
            "many reverse proxies in front of Scope set X-Forwarded-For."
        )
    days = config["INVITATION_REMINDER_DAYS"]
    if not isinstance(days, list) or not all(
        isinstance(d, int | float) and not isinstance(d, bool) and d > 0 for d in days
    ):
        raise ConfigurationError(
            f"SCOPE_INVITATION_REMINDER_DAYS must be a JSON list of days after sending, such "
            f"as [3, 10] (or [] for no reminders), not {days!r}."
        )
    if not config["PUBLIC_URL"]:
        raise ConfigurationError(
            "SCOPE_PUBLIC_URL is not set: the address the links in emails point at, such as "
            "https://scope.example.org (it is never taken from a request's Host header)."
        )
    if config["MAIL_SERVER"] is None and not is_development(app):
        raise ConfigurationError(
            "No mail server is configured, so invitations and password links could not be "
            "sent. Set SCOPE_MAIL_SERVER (and SCOPE_MAIL_PORT, SCOPE_MAIL_USERNAME, ... as "
            "needed). On a development machine, SCOPE_DEV_MAILBOX=true keeps mail in the "
            "app's Development mailbox instead."
        )
    # gunicorn's arbiter sets SERVER_SOFTWARE; its config file imports the hooks module.
    under_gunicorn = os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn/")
    if under_gunicorn and "scope.gunicorn_hooks" not in sys.modules:
        raise ConfigurationError(
            "gunicorn started without Scope's gunicorn.conf.py, whose hooks check the "
            "deployment before any worker starts. Start gunicorn in the directory that holds "
            "it, or pass -c /path/to/scope/gunicorn.conf.py (a config file of your own can "
            "`from scope.gunicorn_hooks import on_starting`)."
        )


def check_workers(config, workers: int) -> None:
    """Rate limits counted in each process's memory would each admit the whole limit."""
    in_memory = str(config["RATELIMIT_STORAGE_URI"]).startswith("memory://")
    if workers > 1 and in_memory and not config["RATELIMIT_ALLOW_MEMORY_WITH_WORKERS"]:
        raise ConfigurationError(
            f"gunicorn would start {workers} workers that each count rate limits in their own "
            f"memory (SCOPE_RATELIMIT_STORAGE_URI is memory://), so every limit, logging in "
            f"included, would admit {workers} times as many attempts. Set "
            "SCOPE_RATELIMIT_STORAGE_URI=redis://host:6379/0, or run one worker (-w 1, with "
            "--threads for concurrency), or set SCOPE_RATELIMIT_ALLOW_MEMORY_WITH_WORKERS=true "
            "to accept it."
        )


def _instance_secret_key(app: Flask) -> str:
    """A key generated once per instance folder, so sessions survive restarts."""
    path = Path(app.instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
