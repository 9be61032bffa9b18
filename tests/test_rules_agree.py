"""Where two screens decide the same thing, they decide it the same way.

Each test here names a decision that used to be written in several places, which had drifted
apart: which actions an account offers, how a wizard row is judged, how an address is read,
when a login is recorded, what a resent invitation is.
"""

from __future__ import annotations

import io
import re
import unicodedata
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from scope.accounts import link_emails
from scope.extensions import db
from scope.models import (
    Invitation,
    MailMessage,
    OrganizationKind,
    User,
    UserStatus,
    UserType,
)
from tests.helpers import PASSWORD, Auth, row_menu

STRONG = "plum tractor orbit lantern"


def _profile_buttons(html: str) -> set[str]:
    actions = re.search(r'<div class="profile-actions">(.*?)\n    </div>', html, re.S).group(1)
    return {label.strip() for label in re.findall(r">([^<>]+)</(?:button|a)>", actions)}


@pytest.fixture
def accounts_of_every_kind(staff, make_user, make_org):
    sid = staff.sponsor_id
    org = make_org(sid, "Beacon Health")

    def partner(email, status, **kw):
        return make_user(
            email,
            sponsor_id=sid,
            user_type=UserType.SUPERVISOR,
            status=status,
            organization_id=org,
            with_password=status is not UserStatus.MANAGED,
            **kw,
        )

    return {
        "managed with email": partner("omar@beacon.example", UserStatus.MANAGED),
        "managed without email": partner("", UserStatus.MANAGED),
        "active": partner("maya@beacon.example", UserStatus.ACTIVE),
        "deactivated": partner("paul@beacon.example", UserStatus.DEACTIVATED),
        "deactivated managed": partner("", UserStatus.DEACTIVATED, first_name="Never"),
        "yourself": staff.user_id,
    }


# The profile's blue button says AUTHENTICATE where the row menu says Convert to Authenticated.
PROFILE_WORDS = {"Convert to Authenticated": "Authenticate"}


def test_the_row_menu_and_the_profile_offer_the_same_actions(staff, accounts_of_every_kind):
    table = staff.get("/manage/users").get_data(as_text=True)
    offered = {}
    for kind, user_id in accounts_of_every_kind.items():
        menu = {label for label, _, _ in row_menu(table, f"user-{user_id}")} - {"View profile"}
        profile = _profile_buttons(staff.get(f"/manage/users/{user_id}").get_data(as_text=True))
        assert {PROFILE_WORDS.get(label, label) for label in menu} == profile, kind
        offered[kind] = menu
    assert offered == {
        "managed with email": {"Convert to Authenticated", "Deactivate", "Delete"},
        "managed without email": {"Deactivate", "Delete"},
        "active": {"Deactivate"},
        "deactivated": {"Reactivate"},
        "deactivated managed": {"Reactivate"},
        "yourself": set(),
    }


ROUTES = {
    "Convert to Authenticated": "convert",
    "Deactivate": "deactivate",
    "Reactivate": "reactivate",
    "Delete": "delete",
}


def test_an_action_an_account_does_not_offer_is_refused_and_changes_nothing(
    app, staff, accounts_of_every_kind
):
    table = staff.get("/manage/users").get_data(as_text=True)
    for kind, user_id in accounts_of_every_kind.items():
        offered = {label for label, _, _ in row_menu(table, f"user-{user_id}")}
        for label, route in ROUTES.items():
            if label in offered:
                continue
            with app.app_context():
                before = db.session.get(User, user_id).status
            response = staff.post(f"/manage/users/{user_id}/{route}", htmx=True)
            assert response.status_code == 409, (kind, route)
            with app.app_context():
                assert db.session.get(User, user_id).status is before, (kind, route)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(MailMessage.id))) == 0


def test_delete_from_the_profile_goes_back_to_the_list(app, staff, accounts_of_every_kind):
    user_id = accounts_of_every_kind["managed with email"]
    dialog = staff.get(f"/manage/users/{user_id}/delete?view=profile", htmx=True)
    assert 'name="view" value="profile"' in dialog.get_data(as_text=True)
    response = staff.post(f"/manage/users/{user_id}/delete", {"view": "profile"}, htmx=True)
    assert response.headers["HX-Redirect"] == "/manage/users"
    with app.app_context():
        assert db.session.get(User, user_id) is None
    assert "deleted." in staff.get("/manage/users").get_data(as_text=True)


# Wizard rows: ADD+ and the CSV upload judge a person with the same words -------------------


def _csv(*rows: str) -> dict:
    body = "User type,First name,Last name,Email,Occupation\n" + "\n".join(rows) + "\n"
    return {"csv_file": (io.BytesIO(body.encode()), "people.csv")}


@pytest.mark.parametrize(
    "row, csv_line, message",
    [
        (
            {"user_type": "mentor", "first_name": "A", "last_name": "B", "email": ""},
            "Mentor,A,B,,",
            "Choose the mentor&#39;s occupation.",
        ),
        (
            {"user_type": "supervisor", "first_name": "A", "last_name": "B", "email": "a@@b"},
            "Supervisor,A,B,a@@b,",
            "Enter a valid email address.",
        ),
        (
            {"user_type": "", "first_name": "A", "last_name": "B", "email": ""},
            "Astronaut,A,B,,",
            "Choose a user type.",
        ),
        (
            {"user_type": "supervisor", "first_name": "", "last_name": "B", "email": ""},
            "Supervisor,,B,,",
            "Enter the first name.",
        ),
    ],
)
def test_add_and_the_csv_upload_refuse_a_row_with_the_same_words(
    app, staff, make_org, row, csv_line, message
):
    org = make_org(staff.sponsor_id, "Keystone Electric")
    staff.post("/invite/managed/organization", {"organization": org}, htmx=True)
    added = staff.post("/invite/managed/rows", row, htmx=True)
    uploaded = staff.post(
        "/invite/managed/upload", _csv(csv_line), htmx=True, content_type="multipart/form-data"
    )
    assert added.status_code == uploaded.status_code == 422
    assert message in added.get_data(as_text=True)
    assert message in uploaded.get_data(as_text=True)


@contextmanager
def _statements():
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_create_users_judges_every_row_in_a_few_statements(app, staff, make_org, occupation_id):
    org = make_org(staff.sponsor_id, "Keystone Electric")
    staff.post("/invite/managed/organization", {"organization": org}, htmx=True)
    electrician = occupation_id(staff.sponsor_id)
    rows = [
        f"Mentor,First{i},Last{i},person{i}@example.org,Electrician"
        if i % 2
        else f"Supervisor,First{i},Last{i},,"
        for i in range(60)
    ]
    staff.post("/invite/managed/upload", _csv(*rows), htmx=True, content_type="multipart/form-data")
    with app.app_context(), _statements() as seen:
        response = staff.post("/invite/managed/send", htmx=True)
    assert response.status_code == 200
    assert "60 managed users created." in response.get_data(as_text=True)
    # Before: three queries a row (its occupation, two conflict checks) besides the inserts,
    # which SQLite runs one a row and PostgreSQL in one statement.
    queries = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert len(queries) < 15, queries
    with app.app_context():
        created = db.session.scalars(db.select(User).where(User.status == UserStatus.MANAGED))
        mentors = [u for u in created if u.user_type is UserType.MENTOR]
        assert len(mentors) == 30 and {u.occupation_id for u in mentors} == {electrician}


# An address is read one way wherever it is typed -----------------------------------------


def test_an_address_typed_with_decomposed_accents_finds_its_account(app, auth, make_user):
    make_user("zoë@example.org")  # stored composed (NFC), as every address is
    typed = unicodedata.normalize("NFD", "ZOË@example.org")
    assert typed != "zoë@example.org".upper()
    assert auth.login(typed).status_code == 302


def test_the_same_address_is_stored_the_same_way_from_every_entry_point(
    app, staff, runner, make_org
):
    typed = unicodedata.normalize("NFD", "  Zoë.Ruiz@Example.ORG ")
    stored = "zoë.ruiz@example.org"
    org = make_org(staff.sponsor_id, "Keystone Electric")
    staff.post("/invite/managed/organization", {"organization": org}, htmx=True)
    row = {"user_type": "supervisor", "first_name": "Zoë", "last_name": "Ruiz", "email": typed}
    assert staff.post("/invite/managed/rows", row, htmx=True).status_code == 200
    staff.post("/invite/managed/send", htmx=True)
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.first_name == "Zoë"))
        assert user.email == stored
        user_id = user.id
    edit = {"first_name": "Zoë", "last_name": "Ruiz", "email": typed.upper()}
    edit |= {"user_type": "supervisor", "organization": str(org), "occupation": ""}
    assert staff.post(f"/manage/users/{user_id}/edit", edit, htmx=True).status_code == 200
    with app.app_context():
        assert db.session.get(User, user_id).email == stored
    result = runner.invoke(
        args=[
            "create-staff",
            typed.replace("Ruiz", "Staff"),
            "--password",
            STRONG,
            "--sponsor",
            "S",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(db.select(User.email).where(User.email.like("zoë.staff%")))


# A login is a login, whichever way the person came in --------------------------------------


@pytest.mark.parametrize("purpose", ["set_password", "recovery"])
def test_a_link_that_logs_the_person_in_records_the_login(app, make_user, purpose):
    user_id = make_user("ana@example.org", status=UserStatus.MANAGED, with_password=False)
    with app.app_context():
        user = db.session.get(User, user_id)
        if purpose == "set_password":
            link_emails.send_set_password_link(user, actor_id=None)
        else:
            link_emails.request_recovery(user.email)
        db.session.commit()
        body = db.session.scalar(
            db.select(MailMessage.body_text).where(MailMessage.kind == purpose)
        )
    path = re.search(r"http://scope\.test(/account/\S+)", body).group(1)
    client = app.test_client()
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = {"password": STRONG, "confirm_password": STRONG, "csrf_token": token}
    assert client.post(path, data=form).status_code == 302
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.status is UserStatus.ACTIVE and user.last_login_at is not None


def test_logging_in_with_a_password_records_the_login(app, make_user):
    user_id = make_user("kim@example.org")
    assert Auth(app.test_client(), app).login("kim@example.org", PASSWORD).status_code == 302
    with app.app_context():
        assert db.session.get(User, user_id).last_login_at is not None


# A resent invitation is a new email: Sent again, not still Reviewed -------------------------


def test_a_resent_invitation_is_sent_again_not_reviewed(app, staff, make_org):
    org = make_org(staff.sponsor_id, "Keystone Electric", OrganizationKind.EMPLOYER)
    staff.post("/invite/external", {"organization": org}, htmx=True)
    staff.post("/invite/external/rows", {"user_type": "supervisor", "email": "li@example.org"})
    staff.post("/invite/external/send", htmx=True)
    with app.app_context():
        invitation = db.session.scalar(db.select(Invitation))
        body = db.session.scalar(db.select(MailMessage.body_text))
    path = re.search(r"http://scope\.test(/join/\S+)", body).group(1)
    reader = app.test_client()
    page = reader.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    reader.post(path + "/reviewed", headers={"X-CSRFToken": token})
    assert '<span class="badge reviewed">Reviewed</span>' in staff.get(
        "/manage/invitations"
    ).get_data(as_text=True)
    staff.post(f"/manage/invitations/{invitation.id}/resend", htmx=True)
    listing = staff.get("/manage/invitations").get_data(as_text=True)
    assert '<span class="badge sent">Sent</span>' in listing
    assert '<span class="badge reviewed">' not in listing
