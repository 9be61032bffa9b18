"""What a stolen staff session, a crafted request or a guessed link cannot do.

Each test is a way Scope was misused once: mail sent past the sponsor's daily allowance
through AUTHENTICATE and bulk Convert, one person mailed fifteen times, a crafted login or
redirect answering 500, an invitation link telling of an invitation without its secret, a
resent link bringing an expired one back, a file of empty lines keeping a worker busy.
"""

from __future__ import annotations

import io
import itertools
import re
import time

import pytest

from scope.extensions import db
from scope.invites import csv_rows
from scope.models import AuditEvent, Invitation, MailMessage, User, UserStatus, UserType
from tests.helpers import csrf_token


def _mail_count(app, kind: str | None = None) -> int:
    with app.app_context():
        stmt = db.select(db.func.count(MailMessage.id))
        if kind:
            stmt = stmt.where(MailMessage.kind == kind)
        return db.session.scalar(stmt)


@pytest.fixture
def managed(staff, make_user, make_org):
    org = make_org(staff.sponsor_id, "Keystone Electric")
    numbers = itertools.count()

    def make(n: int) -> list[int]:
        return [
            make_user(
                f"managed{next(numbers)}@keystone.example",
                sponsor_id=staff.sponsor_id,
                user_type=UserType.SUPERVISOR,
                status=UserStatus.MANAGED,
                organization_id=org,
                with_password=False,
            )
            for _ in range(n)
        ]

    return make


@pytest.fixture
def cap(app, monkeypatch):
    def set_cap(n: int) -> None:
        monkeypatch.setitem(app.config, "EMAILS_PER_SPONSOR_PER_DAY", n)

    return set_cap


def test_authenticate_counts_against_the_sponsors_daily_allowance(app, staff, managed, cap):
    cap(3)
    first, second, third = managed(3)
    staff.post("/invite/teammates/rows", {"email": "mate@riverbend.example"})
    assert staff.post("/invite/teammates/send", htmx=True).status_code == 200
    assert staff.post(f"/manage/users/{first}/convert", htmx=True).status_code == 200
    assert staff.post(f"/manage/users/{second}/convert", htmx=True).status_code == 200
    refused = staff.post(f"/manage/users/{third}/convert", htmx=True)
    assert refused.status_code == 429
    assert "Too many emails" in refused.get_data(as_text=True)
    assert _mail_count(app) == 3
    with app.app_context():
        assert db.session.get(User, third).authentication_sent_at is None


def test_bulk_convert_past_the_allowance_sends_nothing_and_says_how_many_fit(
    app, staff, managed, cap
):
    cap(5)
    ids = managed(8)
    data = {"user_id": [str(i) for i in ids], "custom_message": "Welcome"}
    response = staff.post("/manage/users/bulk/convert", data, htmx=True)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Too many emails" in html and "8 emails would be too many (5 left)" in html
    assert _mail_count(app) == 0
    data["user_id"] = data["user_id"][:5]
    assert staff.post("/manage/users/bulk/convert", data, htmx=True).status_code == 200
    assert _mail_count(app, "set_password") == 5


def test_one_address_gets_at_most_four_set_password_emails_a_day(app, staff, managed):
    (user_id,) = managed(1)
    codes = [
        staff.post(f"/manage/users/{user_id}/convert", htmx=True).status_code for _ in range(6)
    ]
    assert codes == [200, 200, 200, 200, 409, 409]
    assert _mail_count(app, "set_password") == 4
    # Bulk Convert skips the address and says why, rather than refusing the others.
    fresh = managed(2)[1]
    data = {"user_id": [str(user_id), str(fresh)]}
    preview = staff.get("/manage/users/bulk/convert", query_string=data, htmx=True)
    assert "emailed too often today" in preview.get_data(as_text=True)
    done = staff.post("/manage/users/bulk/convert", data, htmx=True).get_data(as_text=True)
    assert "1 email queued, 1 skipped: emailed too often today" in done
    assert _mail_count(app, "set_password") == 5


def test_resend_counts_against_the_allowance_too(app, staff, cap):
    cap(2)
    staff.post("/invite/teammates/rows", {"email": "mate@riverbend.example"})
    staff.post("/invite/teammates/send", htmx=True)
    with app.app_context():
        invitation_id = db.session.scalar(db.select(Invitation.id))
    assert staff.post(f"/manage/invitations/{invitation_id}/resend", htmx=True).status_code == 200
    refused = staff.post(f"/manage/invitations/{invitation_id}/resend", htmx=True)
    assert refused.status_code == 429 and "Too many emails" in refused.get_data(as_text=True)
    assert _mail_count(app) == 2


def test_a_new_login_address_counts_against_the_allowance(app, staff, make_user, cap):
    cap(0)
    user_id = make_user("maya@riverbend.example", sponsor_id=staff.sponsor_id)
    data = {"first_name": "Maya", "last_name": "Chen", "email": "maya.chen@riverbend.example"}
    response = staff.post(f"/manage/users/{user_id}/edit", data, htmx=True)
    assert response.status_code == 422 and "Too many emails" in response.get_data(as_text=True)
    assert _mail_count(app) == 0


def test_the_send_of_a_list_past_the_allowance_keeps_the_list(app, staff, cap):
    cap(2)
    for n in range(3):
        staff.post("/invite/teammates/rows", {"email": f"p{n}@riverbend.example"})
    response = staff.post("/invite/teammates/send", htmx=True)
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert "3 emails would be too many (2 left)" in html and "3 people in the list" in html
    assert _mail_count(app) == 0


# Crafted input ---------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["ana\x00@example.com", "ana@exa\x1bmple.com"])
def test_a_control_character_in_the_login_email_is_refused_with_a_message(client, email):
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login",
        data={"email": email, "password": "whatever it is", "csrf_token": csrf_token(page)},
    )
    assert response.status_code == 422
    assert "without hidden or control characters" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "next_", ["/manage/users\r\nSet-Cookie: x=1", "/partners\n", "/\\evil.example", "/a\x00b"]
)
def test_a_next_address_a_header_cannot_carry_goes_home_instead(auth, make_user, client, next_):
    make_user("kim@example.org")
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login",
        query_string={"next": next_},
        data={
            "email": "kim@example.org",
            "password": "correct horse battery staple",
            "csrf_token": csrf_token(page),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/partners/employers"
    assert "Set-Cookie: x" not in str(response.headers)


def test_a_file_of_empty_lines_is_refused_quickly(app, staff, make_org):
    org = make_org(staff.sponsor_id, "Keystone Electric")
    staff.post("/invite/managed/organization", {"organization": org}, htmx=True)
    # (Under the test client's 500 KB spooling limit, past which it leaves a file open.)
    data = b"User type,First name,Last name,Email,Occupation\n" + b"\n" * 400_000
    started = time.monotonic()
    response = staff.post(
        "/invite/managed/upload",
        {"csv_file": (io.BytesIO(data), "empty.csv")},
        htmx=True,
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert f"more than {csv_rows.MAX_LINES:,} lines" in response.get_data(as_text=True)
    assert time.monotonic() - started < 2


# Links -----------------------------------------------------------------------------------


def _invite(app, staff, email="li@example.org") -> tuple[int, str]:
    staff.post("/invite/teammates/rows", {"email": email})
    staff.post("/invite/teammates/send", htmx=True)
    with app.app_context():
        invitation = db.session.scalar(db.select(Invitation).where(Invitation.email == email))
        body = db.session.scalar(
            db.select(MailMessage.body_text).where(MailMessage.invitation_id == invitation.id)
        )
    return invitation.id, re.search(r"http://scope\.test(/join/\S+)", body)[1]


def test_a_link_without_its_secret_tells_nothing_of_the_invitation(app, staff):
    invitation_id, path = _invite(app, staff)
    staff.post(f"/manage/invitations/{invitation_id}/revoke", htmx=True)
    forged = f"/join/{invitation_id}." + "A" * 43
    answer = app.test_client().get(forged)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 404
    assert "revoked" not in html and "Riverbend" not in html
    # The real link, held by the person invited, says what happened.
    real = app.test_client().get(path)
    assert real.status_code == 410 and "This invitation was revoked" in real.get_data(as_text=True)


def test_invitation_pages_are_never_cached(app, staff):
    _, path = _invite(app, staff)
    for url in (path, "/join/1." + "A" * 43, "/join/nonsense"):
        assert app.test_client().get(url).headers["Cache-Control"] == "no-store", url


def test_resending_counts_in_sql_and_is_audited(app, staff):
    invitation_id, _ = _invite(app, staff)
    for _ in range(2):
        staff.post(f"/manage/invitations/{invitation_id}/resend", htmx=True)
    with app.app_context():
        assert db.session.get(Invitation, invitation_id).resend_count == 2
        resent = db.select(db.func.count(AuditEvent.id)).where(AuditEvent.action == "resent")
        assert db.session.scalar(resent) == 2
