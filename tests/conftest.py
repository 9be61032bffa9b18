"""Fast-test fixtures: one app per session on a migrated database, cleaned after every test.

SQLite by default; PostgreSQL when SCOPE_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import itertools
import os
import re

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from scope import create_app
from scope.auth.passwords import hash_password
from scope.extensions import db, limiter
from scope.models import (
    Occupation,
    OrganizationKind,
    PartnerOrganization,
    User,
    UserStatus,
    UserType,
)
from scope.sponsors import get_or_create_sponsor

PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = hash_password(PASSWORD)


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("SCOPE_TEST_DATABASE_URL")
    if url:
        return url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "scope-test.sqlite3")


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "SQLALCHEMY_DATABASE_URI": _database_url(tmp_path_factory),
            "PUBLIC_URL": "http://scope.test",
            "MAIL_DELIVER_IN_PROCESS": False,
            # Tests read the mail the app keeps when no SMTP server is configured.
            "DEV_MAILBOX": True,
            "SERVER_NAME": None,
        }
    )
    app.instance_path = str(instance)
    with app.app_context():
        _reset_schema()
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


def _reset_schema() -> None:
    """Start every session from an empty database, as a fresh machine would."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            db.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS user_search"))
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture(autouse=True)
def _clean_database(app):
    yield
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
    limiter.reset()
    # A test may leave the shared limiter counting in its in-memory fallback (its storage
    # unreachable, or an error inside a limit): the next test starts on the storage again.
    if limiter._storage_dead:
        limiter._fallback_storage.reset()
        limiter._storage_dead = False


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def database_down(app, monkeypatch):
    """Call it to make statements fail as a lost or refused connection does: every one, or
    those `when(statement)` picks; with lost=True the driver also reports the connection as
    gone, so SQLAlchemy invalidates it."""
    with app.app_context():
        dialect = db.engine.dialect
    refused = dialect.loaded_dbapi.OperationalError
    execute, execute_no_params = dialect.do_execute, dialect.do_execute_no_params

    def down(when=lambda statement: True, lost: bool = False) -> None:
        def do_execute(cursor, statement, *args, **kwargs):
            if when(statement):
                raise refused("server closed the connection unexpectedly")
            return execute(cursor, statement, *args, **kwargs)

        def do_execute_no_params(cursor, statement, *args, **kwargs):
            if when(statement):
                raise refused("server closed the connection unexpectedly")
            return execute_no_params(cursor, statement, *args, **kwargs)

        monkeypatch.setattr(dialect, "do_execute", do_execute)
        monkeypatch.setattr(dialect, "do_execute_no_params", do_execute_no_params)
        if lost:
            monkeypatch.setattr(dialect, "is_disconnect", lambda error, *args: True)

    yield down
    monkeypatch.undo()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_counter = itertools.count(1)


@pytest.fixture
def make_sponsor(app):
    def make(name: str | None = None):
        with app.app_context():
            sponsor = get_or_create_sponsor(name or f"Sponsor {next(_counter)}")
            db.session.commit()
            return sponsor.id

    return make


@pytest.fixture
def make_user(app, make_sponsor):
    """Create a user and return its id; staff by default, logged-in-able with PASSWORD."""

    def make(
        email: str | None = None,
        *,
        sponsor_id: int | None = None,
        user_type: UserType = UserType.STAFF,
        status: UserStatus = UserStatus.ACTIVE,
        organization_id: int | None = None,
        occupation_id: int | None = None,
        first_name: str = "Test",
        last_name: str | None = None,
        with_password: bool = True,
    ) -> int:
        with app.app_context():
            n = next(_counter)
            last = last_name if last_name is not None else f"Person{n}"
            user = User(
                sponsor_id=sponsor_id or make_sponsor(),
                email=email.lower() if email else (None if email == "" else f"user{n}@example.com"),
                first_name=first_name,
                last_name=last,
                user_type=user_type,
                status=status,
                partner_organization_id=organization_id,
                occupation_id=occupation_id,
                password_hash=_PASSWORD_HASH if with_password else None,
            )
            db.session.add(user)
            db.session.commit()
            return user.id

    return make


@pytest.fixture
def make_org(app):
    def make(
        sponsor_id: int, name: str | None = None, kind: OrganizationKind = OrganizationKind.EMPLOYER
    ) -> int:
        with app.app_context():
            name = name or f"Organization {next(_counter)}"
            org = PartnerOrganization(
                sponsor_id=sponsor_id, kind=kind, name=name, name_key=name.lower()
            )
            db.session.add(org)
            db.session.commit()
            return org.id

    return make


@pytest.fixture
def occupation_id(app):
    def find(sponsor_id: int, name: str = "Electrician") -> int:
        with app.app_context():
            return db.session.scalar(
                db.select(Occupation.id).where(
                    Occupation.sponsor_id == sponsor_id, Occupation.name == name
                )
            )

    return find


class Auth:
    def __init__(self, client, app):
        self.client = client
        self.app = app

    def login(self, email: str, password: str = PASSWORD):
        page = self.client.get("/login")
        token = csrf_token_from(page.get_data(as_text=True))
        return self.client.post(
            "/login", data={"email": email, "password": password, "csrf_token": token}
        )

    def logout(self):
        return self.client.post("/logout", headers={"X-CSRFToken": self.csrf_token()})

    def csrf_token(self) -> str:
        return csrf_token_from(self.client.get("/login").get_data(as_text=True)) or (
            csrf_token_from(self.client.get("/").get_data(as_text=True))
        )


def row_menu(html: str, row_id: str) -> list[tuple[str, str, str]]:
    """(label, method, url) of each item a row's Actions menu shows, built as scope.js builds it.

    Rows borrow one menu from a <template> named by their button's data-menu-from: items
    marked data-action appear only when the row lists them in data-actions, and {name}
    placeholders in the items' attributes take the row's data-name values.
    """
    row = re.search(rf'<tr id="{row_id}"([^>]*)>(.*?)</tr>', html, re.S)
    assert row, f"no row {row_id}"
    data = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', row.group(1)))
    source = re.search(r'data-menu-from="([^"]+)"', row.group(2)).group(1)
    menu = re.search(rf'<template id="{source}">(.*?)</template>', html, re.S).group(1)
    offered = data.get("actions", "").split()
    items = []
    for item in re.findall(r"<li role=\"none\"(.*?)</li>", menu, re.S):
        action = re.match(r'\s*data-action="([^"]+)"', item)
        if action and action.group(1) not in offered:
            continue
        item = re.sub(r"\{(\w+)\}", lambda m: data.get(m.group(1), m.group(0)), item)
        label = re.sub(r"<[^>]+>", "", item.split(">", 1)[1]).strip()
        how = re.search(r'(href|hx-get|hx-post)="([^"]+)"', item)
        items.append((label, "POST" if how.group(1) == "hx-post" else "GET", how.group(2)))
    return items


def csrf_token_from(html: str) -> str | None:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'"X-CSRFToken": "([^"]+)"', html
    )
    return match.group(1) if match else None


@pytest.fixture
def auth(client, app):
    return Auth(client, app)


@pytest.fixture
def staff(app, make_sponsor, make_user, auth, client):
    """A logged-in staff member; returns a namespace with ids and an htmx helper."""
    sponsor_id = make_sponsor("Riverbend Apprenticeship Alliance")
    user_id = make_user("staff@riverbend.test", sponsor_id=sponsor_id, first_name="Sam")
    response = auth.login("staff@riverbend.test")
    assert response.status_code == 302
    return StaffSession(client, sponsor_id, user_id)


class StaffSession:
    def __init__(self, client, sponsor_id, user_id):
        self.client = client
        self.sponsor_id = sponsor_id
        self.user_id = user_id
        self._token = None

    @property
    def token(self) -> str:
        if self._token is None:
            html = self.client.get("/invite/").get_data(as_text=True)
            self._token = csrf_token_from(html)
        return self._token

    def get(self, url, htmx=False, **kw):
        headers = kw.pop("headers", {})
        if htmx:
            headers["HX-Request"] = "true"
        return self.client.get(url, headers=headers, **kw)

    def post(self, url, data=None, htmx=False, csrf=True, **kw):
        headers = kw.pop("headers", {})
        if htmx:
            headers["HX-Request"] = "true"
        if csrf:
            headers["X-CSRFToken"] = self.token
        return self.client.post(url, data=data or {}, headers=headers, **kw)
