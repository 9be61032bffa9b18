"""A request that lost a race is run again instead of answering 500."""

from __future__ import annotations

import io
import sqlite3
import threading
import time

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from scope.extensions import db
from scope.models import Occupation
from scope.transactions import retry_on_conflict


class _Driver(Exception):
    def __init__(self, sqlstate: str):
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _failing_once(error: DBAPIError):
    calls = []

    def view():
        calls.append(1)
        if len(calls) == 1:
            raise error
        return "done"

    return view, calls


@pytest.mark.parametrize(
    "sqlstate",
    [
        "40P01",  # deadlock
        "40001",  # serialization failure
        "23503",  # a row it refers to was deleted after it was checked
    ],
)
def test_a_request_that_lost_a_race_runs_again(app, sqlstate):
    view, calls = _failing_once(IntegrityError("INSERT …", {}, _Driver(sqlstate)))
    with app.test_request_context():
        assert retry_on_conflict(view)() == "done"
    assert len(calls) == 2


def test_other_database_errors_are_not_retried(app):
    # A unique violation is a rule the views answer themselves; running again cannot help.
    view, calls = _failing_once(IntegrityError("INSERT …", {}, _Driver("23505")))
    with app.test_request_context(), pytest.raises(IntegrityError):
        retry_on_conflict(view)()
    assert len(calls) == 1


class _SQLiteDriver(Exception):
    def __init__(self, code: int, name: str):
        super().__init__("database is locked")
        self.sqlite_errorcode = code
        self.sqlite_errorname = name


@pytest.mark.parametrize("code, name", [(5, "SQLITE_BUSY"), (517, "SQLITE_BUSY_SNAPSHOT")])
def test_a_request_sqlite_refused_a_lock_runs_again(app, code, name):
    view, calls = _failing_once(OperationalError("INSERT …", {}, _SQLiteDriver(code, name)))
    with app.test_request_context():
        assert retry_on_conflict(view)() == "done"
    assert len(calls) == 2


def test_sqlite_refusing_to_write_is_not_retried(app):
    # SQLITE_READONLY: no second attempt can write either; the error page says so.
    view, calls = _failing_once(
        OperationalError("INSERT …", {}, _SQLiteDriver(8, "SQLITE_READONLY"))
    )
    with app.test_request_context(), pytest.raises(OperationalError):
        retry_on_conflict(view)()
    assert len(calls) == 1


@pytest.mark.real_commits
def test_a_request_caught_in_a_sqlite_lock_cycle_runs_again_and_saves(app, make_sponsor):
    """The request reads inside a savepoint (a read lock kept to its end), another connection
    takes the write lock and waits to commit for that read lock to go: SQLite refuses the
    request's write at once rather than wait for ever. The request runs again and saves."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's locking")
        path = db.engine.url.database
    sponsor_id = make_sponsor("Lock cycle")
    other_committing = threading.Event()
    other_done = threading.Event()

    def commit_from_another_connection():
        connection = sqlite3.connect(path, timeout=10, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(
                "INSERT INTO occupation (sponsor_id, name, name_key, created_at)"
                " VALUES (?, 'Welder', 'welder', '2026-01-01 00:00:00')",
                (sponsor_id,),
            )
            other_committing.set()
            connection.execute("COMMIT")  # waits for the request's read lock
        finally:
            connection.close()
            other_done.set()

    attempts = []

    def view():
        attempts.append(1)
        with db.session.begin_nested():
            db.session.scalars(select(Occupation.id)).all()
            if len(attempts) == 1:
                threading.Thread(target=commit_from_another_connection, daemon=True).start()
                assert other_committing.wait(5)
                time.sleep(0.3)  # the other connection is now waiting in its COMMIT
            db.session.add(Occupation(sponsor_id=sponsor_id, name="Glazier", name_key="glazier"))
        db.session.commit()
        return "saved"

    with app.test_request_context():
        assert retry_on_conflict(view)() == "saved"
        assert other_done.wait(10)
        names = set(db.session.scalars(select(Occupation.name_key)))
        db.session.remove()
    assert len(attempts) == 2
    assert {"welder", "glazier"} <= names


def _saved_occupations(app, sponsor_id: int) -> list[str]:
    with app.app_context():
        saved = db.session.scalars(
            select(Occupation.name_key).where(Occupation.sponsor_id == sponsor_id)
        ).all()
        db.session.remove()
    return saved


@pytest.mark.real_commits
def test_an_attempt_that_committed_is_not_run_again(app, make_sponsor):
    """SQLite may refuse a read after the commit (a lock it waited for in vain): the view is
    not run again, or what it saved would be saved twice (a second email, a second row)."""
    sponsor_id = make_sponsor("Committed once")
    calls = []

    def view():
        calls.append(1)
        db.session.add(Occupation(sponsor_id=sponsor_id, name="Welder", name_key="welder"))
        db.session.commit()
        raise OperationalError("SELECT …", {}, _SQLiteDriver(5, "SQLITE_BUSY"))

    with app.test_request_context(), pytest.raises(OperationalError):
        retry_on_conflict(view)()
    saved = _saved_occupations(app, sponsor_id)
    assert len(calls) == 1
    assert saved.count("welder") == 1


@pytest.mark.real_commits
def test_a_commit_the_database_refused_runs_again(app, make_sponsor):
    """SQLite may refuse the COMMIT itself (a reader kept its lock past the busy timeout):
    nothing was written, so the attempt runs again and saves once."""
    sponsor_id = make_sponsor("Refused commit")
    calls, refused = [], []

    def refuse_once(connection):
        if not refused:
            refused.append(1)
            raise OperationalError("COMMIT", {}, _SQLiteDriver(5, "SQLITE_BUSY"))

    def view():
        calls.append(1)
        db.session.add(Occupation(sponsor_id=sponsor_id, name="Welder", name_key="welder"))
        db.session.commit()
        return "saved"

    with app.app_context():
        engine = db.engine
    event.listen(engine, "commit", refuse_once)
    try:
        with app.test_request_context():
            assert retry_on_conflict(view)() == "saved"
    finally:
        event.remove(engine, "commit", refuse_once)
    saved = _saved_occupations(app, sponsor_id)
    assert len(calls) == 2
    assert saved.count("welder") == 1


def test_a_savepoint_is_no_commit_and_the_attempt_runs_again(app, make_sponsor):
    sponsor_id = make_sponsor("Savepoint")
    calls = []

    def view():
        calls.append(1)
        with db.session.begin_nested():
            db.session.add(Occupation(sponsor_id=sponsor_id, name="Welder", name_key="welder"))
        if len(calls) == 1:
            raise OperationalError("INSERT …", {}, _SQLiteDriver(5, "SQLITE_BUSY"))
        return "done"

    with app.test_request_context():
        assert retry_on_conflict(view)() == "done"
    assert len(calls) == 2


def test_an_uploaded_file_is_read_from_its_start_again(app):
    reads = []

    def view():
        from flask import request

        reads.append(request.files["file"].read())
        if len(reads) == 1:
            raise OperationalError("INSERT …", {}, _SQLiteDriver(5, "SQLITE_BUSY"))
        return "done"

    upload = {"file": (io.BytesIO(b"email\nana@example.org\n"), "people.csv")}
    with app.test_request_context(method="POST", data=upload):
        assert retry_on_conflict(view)() == "done"
    assert reads == [b"email\nana@example.org\n"] * 2
