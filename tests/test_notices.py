"""Notifications: notices for the staff member who sent an invitation, the header button's
count, Mark all read, and the daily digest instead."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from scope import create_app
from scope.extensions import db
from scope.invites.signup import accept_invitation
from scope.mail.delivery import deliver_due
from scope.models import (
    Invitation,
    InvitationState,
    MailMessage,
    Notice,
    User,
    UserStatus,
    UserType,
    utcnow,
)
from scope.notices import services
from tests.helpers import SMTPServer, element, elements, text_of, texts

STRONG = "lantern meadow quartz saddle"


def _invitation(app, sponsor_id, inviter_id, email, **fields) -> int:
    with app.app_context():
        invitation = Invitation(
            sponsor_id=sponsor_id,
            email=email,
            pending_email=email,
            user_type=fields.pop("user_type", UserType.STAFF),
            invited_by_id=inviter_id,
            state=InvitationState.PENDING,
            nonce=uuid.uuid4().hex,
            sent_at=utcnow(),
            expires_at=fields.pop("expires_at", utcnow() + timedelta(days=14)),
            resend_count=0,
            **fields,
        )
        db.session.add(invitation)
        db.session.commit()
        return invitation.id


def _accept(app, invitation_id, first="Maria", last="Lopez") -> int:
    with app.app_context():
        invitation = db.session.get(Invitation, invitation_id)
        user = accept_invitation(invitation, first_name=first, last_name=last, password=STRONG)
        db.session.commit()
        return user.id


def _notices(app, user_id) -> list[Notice]:
    with app.app_context():
        rows = db.session.scalars(
            select(Notice).where(Notice.user_id == user_id).order_by(Notice.id)
        ).all()
        db.session.expunge_all()
        return rows


def test_an_accepted_invitation_tells_its_inviter_and_links_to_the_account(
    app, staff, make_org, occupation_id
):
    org = make_org(staff.sponsor_id, "Acme Robotics")
    invitation_id = _invitation(
        app,
        staff.sponsor_id,
        staff.user_id,
        "maria@example.com",
        user_type=UserType.MENTOR,
        partner_organization_id=org,
        occupation_id=occupation_id(staff.sponsor_id),
    )
    account_id = _accept(app, invitation_id)

    count = staff.get("/notifications/count", htmx=True).get_data(as_text=True)
    assert text_of(count, "#notice-count") == "1 unread"
    page = staff.get("/notifications").get_data(as_text=True)
    [notice] = texts(page, ".notice-list .notice button")
    assert notice == "Maria Lopez accepted your invitation (Acme Robotics, Mentor)"
    assert "1 unread notice" in text_of(page, ".notices-head")

    [notice_id] = [n.id for n in _notices(app, staff.user_id)]
    response = staff.post(f"/notifications/{notice_id}/open")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/manage/users/{account_id}"
    count = staff.get("/notifications/count", htmx=True).get_data(as_text=True)
    assert text_of(count, "#notice-count") == "0 unread"


def test_only_the_inviter_is_told(app, staff, make_user, auth, client):
    colleague = make_user("colleague@riverbend.test", sponsor_id=staff.sponsor_id)
    _accept(app, _invitation(app, staff.sponsor_id, staff.user_id, "ada@example.com"))
    assert len(_notices(app, staff.user_id)) == 1
    assert _notices(app, colleague) == []
    auth.logout()
    auth.login("colleague@riverbend.test")
    page = client.get("/notifications").get_data(as_text=True)
    assert texts(page, ".notice-list .notice button") == []


def test_a_notice_of_someone_else_is_not_found(app, staff, make_user):
    colleague = make_user(sponsor_id=staff.sponsor_id)
    _accept(app, _invitation(app, staff.sponsor_id, colleague, "ben@example.com"))
    [theirs] = _notices(app, colleague)
    assert staff.post(f"/notifications/{theirs.id}/open").status_code == 404
    assert _notices(app, colleague)[0].read_at is None


def test_mark_all_read_empties_the_count_in_place(app, staff):
    for n in range(3):
        _accept(app, _invitation(app, staff.sponsor_id, staff.user_id, f"p{n}@example.com"))
    response = staff.post("/notifications/read", htmx=True)
    html = response.get_data(as_text=True)
    assert "Nothing unread." in text_of(html, ".notices-head")
    count = element(html, "#notice-count")
    assert count.get("hx-swap-oob") == "true"
    assert text_of(html, "#notice-count") == "0 unread"
    assert all(n.read_at is not None for n in _notices(app, staff.user_id))


def test_mark_all_read_leaves_unread_a_notice_that_came_after_the_list(app, staff):
    _accept(app, _invitation(app, staff.sponsor_id, staff.user_id, "seen@example.com"))
    listed = staff.get("/notifications", htmx=True)
    assert texts(listed, ".notice-list .notice button") == [
        n.text for n in _notices(app, staff.user_id)
    ]
    shown_up_to = element(listed, 'input[name="shown_up_to"]').get("value")
    _accept(app, _invitation(app, staff.sponsor_id, staff.user_id, "late@example.com"))
    response = staff.post("/notifications/read", {"shown_up_to": shown_up_to}, htmx=True)
    assert text_of(response, "#notice-count") == "1 unread"
    assert "1 unread notice" in text_of(response, ".notices-head")
    seen, late = _notices(app, staff.user_id)
    assert seen.read_at is not None and late.read_at is None


def test_the_header_button_says_notifications_and_polls_its_count(app, staff, make_user, auth):
    page = staff.get("/manage/users").get_data(as_text=True)
    [button] = elements(page, "header button.notice-button")
    assert button.text_content().startswith("Notifications")
    assert button.get("hx-target") == "#dialog-host"
    count = element(page, "#notice-count")
    assert count.get("hx-trigger") == "load, every 60s"
    assert count.get("hx-get") == "/notifications/count"

    dialog = staff.get("/notifications", htmx=True).get_data(as_text=True)
    assert element(dialog, "dialog[data-modal]") is not None
    assert texts(dialog, "button") == ["Mark all read", "Save", "Close"]


def test_partners_have_no_notifications(app, make_sponsor, make_user, make_org, auth, client):
    sponsor_id = make_sponsor()
    org = make_org(sponsor_id)
    make_user(
        "sup@example.com",
        sponsor_id=sponsor_id,
        user_type=UserType.SUPERVISOR,
        organization_id=org,
    )
    auth.login("sup@example.com")
    page = client.get("/my-account").get_data(as_text=True)
    assert elements(page, ".notice-button") == []
    assert client.get("/notifications").status_code == 403


def test_the_count_poll_does_not_keep_a_session_alive(app, staff):
    assert "Set-Cookie" not in staff.get("/notifications/count", htmx=True).headers
    assert "Set-Cookie" in staff.get("/notifications", htmx=True).headers


def test_a_deactivated_or_partner_inviter_is_not_told(app, staff, make_user):
    gone = make_user(sponsor_id=staff.sponsor_id, status=UserStatus.DEACTIVATED)
    _accept(app, _invitation(app, staff.sponsor_id, gone, "c@example.com"))
    assert _notices(app, gone) == []


def test_choosing_the_daily_digest_and_back(app, staff):
    _accept(app, _invitation(app, staff.sponsor_id, staff.user_id, "d@example.com"))
    response = staff.post("/notifications/digest", {"digest": "daily"}, htmx=True)
    html = response.get_data(as_text=True)
    assert element(html, "input[value=daily]").get("checked") is not None
    assert text_of(html, "#notice-count") == "0 unread"
    with app.app_context():
        assert db.session.get(User, staff.user_id).notice_digest is True
    [waiting] = _notices(app, staff.user_id)
    assert waiting.read_at is not None and waiting.emailed_at is None, "it goes in the email"

    staff.post("/notifications/digest", {"digest": "none"}, htmx=True)
    [back] = _notices(app, staff.user_id)
    assert back.read_at is None, "not emailed after all: unread again"
    count = staff.get("/notifications/count", htmx=True).get_data(as_text=True)
    assert text_of(count, "#notice-count") == "1 unread"


def test_a_digest_choice_that_is_neither_changes_nothing(app, staff):
    response = staff.post("/notifications/digest", {"digest": "hourly"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(User, staff.user_id).notice_digest is False


# --- what the mail worker makes -------------------------------------------------------------


@pytest.mark.real_commits
def test_an_undeliverable_invitation_tells_its_inviter(app, make_sponsor, make_user):
    sponsor_id = make_sponsor()
    inviter = make_user(sponsor_id=sponsor_id)
    invitation_id = _invitation(app, sponsor_id, inviter, "nobody@example.com")
    with app.app_context():
        db.session.add(
            MailMessage(
                sponsor_id=sponsor_id,
                kind="invitation",
                recipient="nobody@example.com",
                subject="Join",
                body_text="Hello",
                body_html="<p>Hello</p>",
                state="queued",
                attempts=0,
                invitation_id=invitation_id,
            )
        )
        db.session.commit()
    server = SMTPServer().start()
    server.sink.rcpt_answers["nobody@example.com"] = "550 5.1.1 Mailbox unavailable"
    worker = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "PUBLIC_URL": "http://scope.test",
            "MAIL_DELIVER_IN_PROCESS": False,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": server.port,
            "MAIL_SUPPRESS_SEND": False,
            "MAIL_TIMEOUT": 2,
        }
    )
    try:
        assert deliver_due(worker).failed == 1
    finally:
        server.stop()
        with worker.app_context():
            db.engine.dispose()
    [notice] = _notices(app, inviter)
    assert notice.kind == "undeliverable"
    assert notice.text.startswith(
        "The invitation to nobody@example.com could not be delivered: 550"
    )
    assert "Mailbox unavailable" in notice.text
    assert notice.invitation_id == invitation_id


@pytest.mark.real_commits
def test_invitations_about_to_expire_are_told_once_per_inviter(app, make_sponsor, make_user):
    sponsor_id = make_sponsor()
    inviter, other = make_user(sponsor_id=sponsor_id), make_user(sponsor_id=sponsor_id)
    soon = utcnow() + timedelta(hours=12)
    for n in range(3):
        _invitation(app, sponsor_id, inviter, f"soon{n}@example.com", expires_at=soon)
    _invitation(app, sponsor_id, inviter, "later@example.com", expires_at=soon + timedelta(days=2))
    single = _invitation(app, sponsor_id, other, "one@example.com", expires_at=soon)
    with app.app_context():
        assert services.queue_expiry_notices() == 4
        assert services.queue_expiry_notices() == 0
    assert [n.text for n in _notices(app, inviter)] == ["3 invitations you sent expire tomorrow"]
    [one] = _notices(app, other)
    assert one.text == "1 invitation you sent expires tomorrow"
    assert one.invitation_id == single


@pytest.mark.real_commits
def test_the_daily_digest_goes_once_a_day_with_what_is_new(app, make_sponsor, make_user):
    sponsor_id = make_sponsor()
    reader = make_user("reader@example.com", sponsor_id=sponsor_id, first_name="Rae")
    with app.app_context():
        db.session.execute(update(User).where(User.id == reader).values(notice_digest=True))
        db.session.commit()
    _accept(app, _invitation(app, sponsor_id, reader, "e@example.com"), first="Eve", last="Ng")
    [notice] = _notices(app, reader)
    assert notice.read_at is not None, "a digest reader's button stays quiet"

    with app.app_context():
        assert services.queue_digests() == 1
        assert services.queue_digests() == 0, "once a day"
        [digest] = db.session.scalars(
            select(MailMessage).where(MailMessage.kind == "notice_digest")
        ).all()
    assert digest.recipient == "reader@example.com"
    assert "Eve Ng accepted your invitation (Staff)" in digest.body_text
    assert "Eve Ng accepted your invitation (Staff)" in digest.body_html
    assert "http://" in digest.body_text and "/notifications" in digest.body_text

    _accept(app, _invitation(app, sponsor_id, reader, "f@example.com"), first="Fay", last="Ho")
    with app.app_context():
        assert services.queue_digests() == 0, "the next one waits a day"
        db.session.execute(
            update(User)
            .where(User.id == reader)
            .values(notice_digest_at=utcnow() - timedelta(days=1, minutes=1))
        )
        db.session.commit()
        assert services.queue_digests() == 1
        latest = db.session.scalars(
            select(MailMessage)
            .where(MailMessage.kind == "notice_digest")
            .order_by(MailMessage.id.desc())
        ).first()
    assert "Fay Ho" in latest.body_text and "Eve Ng" not in latest.body_text
