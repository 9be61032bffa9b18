"""The embedded SQLite database read-only, or its disk full: a clear page, nothing half-saved.

Running as root makes chmod no obstacle and mounting a tiny tmpfs needs privileges CI may
not have, so both are made the way SQLite itself offers: the database opened with
`?mode=ro` (a file that cannot be written), and `PRAGMA max_page_count` set on every
connection to barely more than the file holds (SQLITE_FULL, exactly what a full disk
answers), so that a large SEND fails part of the way through its transaction.
"""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import event, func, select, text

from scope import create_app
from scope.errors import CANNOT_WRITE
from scope.extensions import db, limiter
from scope.models import (
    AuditEvent,
    Invitation,
    MailMessage,
    PartnerOrganization,
    User,
    UserStatus,
    UserType,
    WizardKind,
    WizardRow,
)
from scope.sponsors import get_or_create_sponsor
from tests.helpers import PASSWORD, PASSWORD_HASH, csrf_token

TABLES = (PartnerOrganization, Invitation, MailMessage, AuditEvent, WizardRow, User)


@pytest.fixture
def sqlite_apps(tmp_path):
    """make(uri_suffix) -> an app on the same SQLite file; the file is migrated and holds a
    staff member with 300 teammate rows waiting to be sent."""
    path = tmp_path / "scope.sqlite3"
    made = []

    def make(uri: str):
        other = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "sqlite-storage-secret",
                "SQLALCHEMY_DATABASE_URI": uri,
                "MAIL_DELIVER_IN_PROCESS": False,
                "DEV_MAILBOX": True,
                "RECOVERY_ANSWER_SECONDS": 0,
            }
        )
        made.append(other)
        return other

    writable = make(f"sqlite:///{path}")
    with writable.app_context():
        upgrade()
        from scope.invites import drafts
        from scope.invites.rows import RowInput

        sponsor = get_or_create_sponsor("Embedded Sponsor")
        staff = User(
            sponsor_id=sponsor.id,
            email="staff@embedded.example.com",
            first_name="Sam",
            last_name="Embedded",
            user_type=UserType.STAFF,
            status=UserStatus.ACTIVE,
            password_hash=PASSWORD_HASH,
        )
        db.session.add(staff)
        db.session.flush()
        draft = drafts.get_draft(staff, WizardKind.TEAMMATES)
        for n in range(300):
            drafts.add_row(draft, RowInput(UserType.STAFF, f"teammate{n}@example.com"))
        db.session.commit()
    yield writable, make, path
    for other in made:
        with other.app_context():
            db.engine.dispose()
    # The shared limiter was bound to each of these apps: give it fresh memory again.
    create_app({"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    limiter.reset()


def counts(app) -> dict[str, int]:
    with app.app_context():
        result = {
            t.__tablename__: db.session.scalar(select(func.count()).select_from(t)) for t in TABLES
        }
        db.session.remove()
        return result


def logged_in(writable, other):
    """A client of `other` carrying a session made by logging in on the writable app."""
    client = writable.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        data={"email": "staff@embedded.example.com", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    moved = other.test_client()
    moved.set_cookie("session", client.get_cookie("session").value)
    token = csrf_token(moved.get("/invite/").get_data(as_text=True))
    return moved, {"X-CSRFToken": token}


def assert_cannot_write_page(response, htmx: bool) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 503, html[:2000]
    assert str(CANNOT_WRITE) in html
    assert ("<html" in html) is not htmx
    if htmx:
        assert response.headers["HX-Retarget"] == "#alerts"


def test_a_read_only_database_is_read_and_refuses_writes_with_a_clear_page(sqlite_apps):
    writable, make, path = sqlite_apps
    read_only = make(f"sqlite:///file:{path}?mode=ro&uri=true")
    before = counts(writable)
    client, headers = logged_in(writable, read_only)

    assert client.get("/partners/employers").status_code == 200
    assert client.get("/manage/users?q=sam", headers={"HX-Request": "true"}).status_code == 200
    for htmx in (False, True):
        response = client.post(
            "/partners/employers/new",
            data={"name": "Never Saved"},
            headers={**headers, **({"HX-Request": "true"} if htmx else {})},
        )
        assert_cannot_write_page(response, htmx)
    response = client.post("/invite/teammates/send", headers={**headers, "HX-Request": "true"})
    assert_cannot_write_page(response, htmx=True)
    # Logging in writes the time of the login: a clear refusal too, not a server error.
    stranger = read_only.test_client()
    token = csrf_token(stranger.get("/login").get_data(as_text=True))
    response = stranger.post(
        "/login",
        data={"email": "staff@embedded.example.com", "password": PASSWORD, "csrf_token": token},
    )
    assert_cannot_write_page(response, htmx=False)
    assert counts(writable) == before


def test_a_full_disk_in_the_middle_of_a_send_leaves_no_half_written_row(sqlite_apps):
    writable, make, path = sqlite_apps
    full = make(f"sqlite:///{path}")
    with full.app_context():
        engine = db.engine
        pages = db.session.scalar(text("PRAGMA page_count"))
        db.session.remove()
    engine.dispose()

    @event.listens_for(engine, "connect")
    def no_room_to_grow(dbapi_connection, record):
        # Two pages of room: the first invitations fit, the rest of the 300 do not.
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 2}")

    before = counts(writable)
    client, headers = logged_in(writable, full)
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    response = client.post("/invite/teammates/send", headers={**headers, "HX-Request": "true"})

    assert_cannot_write_page(response, htmx=True)
    inserted = [s for s in statements if s.startswith("INSERT INTO")]
    assert inserted, "the send failed before writing anything: the test proves nothing"
    assert counts(writable) == before
    assert before[WizardRow.__tablename__] == 300  # still there to send once there is room
    print(
        f"\nsqlite full: {len(inserted)} INSERT statements ran before SQLITE_FULL, "
        f"0 rows of them kept; 300 rows still waiting in the draft"
    )
