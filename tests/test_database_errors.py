"""The database going away: a clean 503 page or alert, nothing half-saved, recovery by itself."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from sqlalchemy import exc as sa
from sqlalchemy import func, select

from scope.errors import cannot_write, database_unavailable
from scope.extensions import db
from scope.models import PartnerOrganization


def organizations(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(PartnerOrganization.id)))


def test_a_page_asked_for_during_an_outage_gets_a_503_page(staff, database_down):
    database_down()
    response = staff.get("/partners/employers")
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "<html" in html and "Service unavailable" in html
    assert "cannot reach its database right now. Nothing was saved" in html
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "no-store"


def test_an_htmx_request_during_an_outage_gets_a_message_in_the_alert_area(staff, database_down):
    database_down()
    response = staff.get("/manage/users?q=x", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "<html" not in html and "Service unavailable" in html
    assert response.headers["HX-Retarget"] == "#alerts"


def test_a_change_during_an_outage_is_not_saved_and_the_app_recovers_by_itself(
    app, staff, database_down, monkeypatch
):
    token = staff.token
    database_down()
    response = staff.post("/partners/employers/new", {"name": "Outage Works"}, htmx=True)
    assert response.status_code == 503
    monkeypatch.undo()  # the database is back
    assert organizations(app) == 0
    assert staff.token == token
    response = staff.post("/partners/employers/new", {"name": "Outage Works"}, htmx=True)
    assert response.status_code == 200
    assert organizations(app) == 1


def test_logging_in_during_an_outage_is_a_503_not_a_server_error(auth, make_user, database_down):
    make_user("someone@example.com")
    page = auth.client.get("/login")
    assert page.status_code == 200
    database_down()
    response = auth.login("someone@example.com")
    assert response.status_code == 503
    assert "Service unavailable" in response.get_data(as_text=True)


def test_a_lost_connection_that_something_swallowed_is_still_a_503(staff, database_down):
    # SEND's rate limit counts the draft's rows; Flask-Limiter swallows the error of that
    # query, and the view then meets a transaction whose connection was invalidated.
    assert staff.post("/invite/teammates/rows", {"email": "p@example.com"}).status_code == 200
    database_down(when=lambda statement: "wizard_draft" in statement, lost=True)
    response = staff.post("/invite/teammates/send", htmx=True)
    assert response.status_code == 503
    assert "Service unavailable" in response.get_data(as_text=True)


@pytest.mark.real_commits  # the rollback at teardown must reach the real connection
def test_a_connection_cut_after_the_answer_was_made_does_not_undo_it(app, staff, monkeypatch):
    """A restart between the last query and the teardown: closing the session rolls back on
    a dead connection. The answer stands, and the next request gets a working connection."""
    with app.app_context():
        dialect = db.engine.dialect
    refused = dialect.loaded_dbapi.OperationalError
    rollbacks = []

    def rollback(dbapi_connection):
        rollbacks.append(dbapi_connection)
        raise refused("terminating connection due to administrator command")

    monkeypatch.setattr(dialect, "do_rollback", rollback)
    response = staff.get("/partners/employers")
    monkeypatch.undo()
    assert response.status_code == 200 and rollbacks
    assert staff.get("/partners/employers").status_code == 200


def test_static_files_are_served_to_a_logged_in_person_during_an_outage(staff, database_down):
    database_down()
    response = staff.get("/static/scope.js")
    response.close()
    assert response.status_code == 200


def test_a_download_whose_query_fails_before_its_first_byte_is_a_503(staff, monkeypatch):
    def export_csv(listing):
        raise sa.OperationalError("SELECT ...", {}, sqlite3.OperationalError("gone"))
        yield ""

    monkeypatch.setattr("scope.manage.users.export_csv", export_csv)
    response = staff.get("/manage/users.csv")
    assert response.status_code == 503
    assert "Service unavailable" in response.get_data(as_text=True)


def test_disk_full_and_read_only_are_told_apart_by_their_codes_not_their_words():
    full = sqlite3.OperationalError("anything at all")
    full.sqlite_errorcode = sqlite3.SQLITE_FULL
    read_only = sqlite3.OperationalError("anything at all")
    read_only.sqlite_errorcode = sqlite3.SQLITE_READONLY | (1 << 8)  # an extended code
    locked = sqlite3.OperationalError("database or disk is full")
    locked.sqlite_errorcode = sqlite3.SQLITE_BUSY
    for original, expected in [
        (full, True),
        (read_only, True),
        (locked, False),
        (psycopg.errors.DiskFull("x"), True),
        (psycopg.errors.ReadOnlySqlTransaction("x"), True),
        (psycopg.errors.AdminShutdown("x"), False),
    ]:
        error = sa.OperationalError("INSERT ...", {}, original)
        assert cannot_write(error) is expected, original
        assert database_unavailable(error)
    assert database_unavailable(sa.InternalError("x", {}, psycopg.errors.ReadOnlySqlTransaction()))
    assert not database_unavailable(sa.IntegrityError("x", {}, psycopg.errors.UniqueViolation()))
    assert database_unavailable(sa.TimeoutError("QueuePool limit reached"))
