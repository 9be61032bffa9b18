"""Fast-test fixtures: one app per session on a migrated database; no test sees another's rows.

SQLite by default; PostgreSQL when SCOPE_TEST_DATABASE_URL is set. `pytest -n 2` (pytest-xdist)
runs them in two processes, each on a database of its own.

Each test runs inside one database transaction that is rolled back after it: every session it
opens (its own, and each request's) joins that transaction, and their commits release
savepoints. A test whose writes must reach other connections (threads, subprocesses, another
app, `db.engine` used directly) is marked `@pytest.mark.real_commits`: it commits for real and
every table is emptied after it. A test that needs the mark and lacks it fails and says so.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
from flask import current_app
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, literal, select, text, union_all
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from scope import create_app, search
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
from scope.text import name_key
from tests.helpers import (
    PASSWORD_HASH,
    SECRET,
    Auth,
    StaffSession,
    add_draft_row,
    make_tenant,
)


@pytest.fixture(scope="session")
def _database_url(tmp_path_factory):
    url = os.environ.get("SCOPE_TEST_DATABASE_URL")
    if url:
        # A commit returns before PostgreSQL has flushed it to disk (2 ms less on a virtual
        # disk); what other connections see, and when, is the same.
        url = make_url(url)
        options = " ".join(filter(None, [url.query.get("options"), "-c synchronous_commit=off"]))
        url = url.update_query_dict({"options": options})
        with _worker_database(url) as own:
            yield own.render_as_string(hide_password=False)
        return
    # In memory-backed /dev/shm where there is one: a commit skips the disk's fsync (9 ms on a
    # virtual disk), and SQLite's locking, which the tests of simultaneous writers rely on, is
    # the same there.
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "scope-test.sqlite3")
        return
    folder = Path(tempfile.mkdtemp(prefix="scope-tests-", dir=shm))
    try:
        yield "sqlite:///" + str(folder / "scope-test.sqlite3")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _worker_database(url):
    """The database named, or under pytest-xdist (`pytest -n 2`) one of the worker's own next to
    it ("<name>_gw0"), made for the run and dropped after it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        yield url
        return
    own = url.set(database=f"{url.database}_{worker}")
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)

    def run(statement: str) -> None:
        with admin.connect() as conn:
            conn.execute(text(statement))

    run(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)')
    run(f'CREATE DATABASE "{own.database}"')
    try:
        yield own
    finally:
        run(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)')
        admin.dispose()


class ServerLikeClient(FlaskClient):
    """A test client that reads each response to its end and closes it, as a WSGI server
    does: a streamed body (a CSV export) holds the request's session until it is closed, and
    the tests share one connection. `buffered=False` reads a body a chunk at a time."""

    def open(self, *args, buffered: bool = True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


@pytest.fixture(scope="session")
def app(tmp_path_factory, _database_url):
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "SQLALCHEMY_DATABASE_URI": _database_url,
            "PUBLIC_URL": "http://scope.test",
            "MAIL_DELIVER_IN_PROCESS": False,
            # Tests read the mail the app keeps when no SMTP server is configured.
            "DEV_MAILBOX": True,
            "SERVER_NAME": None,
        }
    )
    app.instance_path = str(instance)
    app.test_client_class = ServerLikeClient
    with app.app_context():
        _reset_schema()
        upgrade()
        search._has_index()  # asked once per engine, on a connection of its own: ask it now
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
def _isolated_database(request, app):
    """Undo each test's writes: roll back its transaction, or empty the tables after it."""
    if request.node.get_closest_marker("real_commits"):
        yield
        with app.app_context():
            db.session.remove()
            _delete_every_row()
    else:
        with _rolled_back_transaction(app) as trespasses:
            yield
        with app.app_context():
            left = _tables_with_rows()
            if left:
                _delete_every_row()
        problems = trespasses + [f"rows left behind in {', '.join(left)}"] * bool(left)
        if problems:
            pytest.fail(
                "this test needs @pytest.mark.real_commits: " + "; ".join(problems), pytrace=False
            )
    limiter.reset()
    # A test may leave the shared limiter counting in its in-memory fallback (its storage
    # unreachable, or an error inside a limit): the next test starts on the storage again.
    if limiter._storage_dead:
        limiter._fallback_storage.reset()
        limiter._storage_dead = False


def _delete_every_row() -> None:
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


def _tables_with_rows() -> list[str]:
    probes = [
        select(literal(table.name).label("name")).select_from(table).limit(1).subquery().select()
        for table in db.metadata.sorted_tables
    ]
    return list(db.session.scalars(union_all(*probes)))


@contextmanager
def _rolled_back_transaction(app):
    """One connection in one transaction, rolled back at the end, shared by every session.

    Sessions join it with join_transaction_mode="create_savepoint" (SQLAlchemy's recipe for
    tests that roll back), so a commit releases a savepoint and a rollback returns to one.
    Yields a list of what the test did that this cannot undo: a second connection to the
    database, or the shared connection used from another thread.
    """
    trespasses: list[str] = []
    with app.app_context():
        engine = db.engine
    connection = engine.connect()
    owner = threading.get_ident()
    url = engine.url.render_as_string(hide_password=False)
    driver = connection.connection.driver_connection
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # pysqlite begins and commits on its own, which SAVEPOINT does not survive: take that
        # over, as SQLAlchemy's documentation of pysqlite shows (restored before it goes back).
        isolation_level = driver.isolation_level
        driver.isolation_level = None
    transaction = connection.begin()
    if sqlite:
        connection.exec_driver_sql("BEGIN")

    factory = db.session.session_factory
    get_bind = factory.class_.get_bind

    def bound_to_the_test(session, *args, **kwargs):
        if current_app._get_current_object() is not app:  # another app made by the test
            return get_bind(session, *args, **kwargs)
        if threading.get_ident() != owner:
            trespasses.append("a thread used the database")
            raise RuntimeError("a thread used the test's connection: mark the test real_commits")
        return connection

    def another_connection(conn):
        if conn is not connection and conn.engine.url.render_as_string(hide_password=False) == url:
            trespasses.append("it opened a connection of its own to the database")

    event.listen(Engine, "engine_connect", another_connection)
    try:
        with (
            mock.patch.dict(factory.kw, bind=connection, join_transaction_mode="create_savepoint"),
            mock.patch.object(factory.class_, "get_bind", bound_to_the_test),
        ):
            yield trespasses
    finally:
        event.remove(Engine, "engine_connect", another_connection)
        transaction.rollback()
        if sqlite:
            driver.isolation_level = isolation_level
        connection.close()


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
            sponsor_id = get_or_create_sponsor(name or f"Sponsor {next(_counter)}").id
            db.session.commit()
            return sponsor_id

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
                password_hash=PASSWORD_HASH if with_password else None,
            )
            db.session.add(user)
            db.session.flush()
            user_id = user.id  # read before the commit expires it: no query to load it again
            db.session.commit()
            return user_id

    return make


@pytest.fixture
def make_org(app):
    def make(
        sponsor_id: int, name: str | None = None, kind: OrganizationKind = OrganizationKind.EMPLOYER
    ) -> int:
        with app.app_context():
            name = name or f"Organization {next(_counter)}"
            org = PartnerOrganization(
                sponsor_id=sponsor_id, kind=kind, name=name, name_key=name_key(name)
            )
            db.session.add(org)
            db.session.flush()
            org_id = org.id
            db.session.commit()
            return org_id

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


@pytest.fixture
def world(app, make_sponsor, make_user, make_org, monkeypatch):
    """Two sponsors with one of everything; the second one's records all say SECRET."""
    monkeypatch.setitem(app.config, "RECOVERY_ANSWER_SECONDS", 0)
    monkeypatch.setitem(app.config, "RATELIMIT_ENABLED", False)
    limiter.enabled = False
    home = make_tenant(app, make_sponsor, make_user, make_org, "home")
    other = make_tenant(app, make_sponsor, make_user, make_org, SECRET)
    add_draft_row(app, home, "new@home.example.com")
    add_draft_row(app, other, f"new@{SECRET}.example.com")
    yield home, other
    limiter.enabled = True
