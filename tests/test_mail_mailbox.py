"""The development mailbox and the delivery state staff see for invitations."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask_login import login_user

from scope import create_app
from scope.extensions import db
from scope.mail.delivery import deliver_due
from scope.mail.services import (
    development_mailbox_enabled,
    latest_delivery_for_invitations,
    linkify,
)
from scope.models import (
    Invitation,
    InvitationState,
    MailMessage,
    MailState,
    User,
    UserType,
    utcnow,
)
from tests.helpers import element, elements, fragment_elements, texts


@pytest.fixture
def mail(app):
    """Write a message into the outbox and return its id."""

    def add(sponsor_id, recipient="ana@example.com", **fields) -> int:
        with app.app_context():
            message = MailMessage(
                sponsor_id=sponsor_id,
                kind=fields.pop("kind", "invitation"),
                recipient=recipient,
                subject=fields.pop("subject", f"You are invited, {recipient}"),
                body_text=fields.pop(
                    "body_text", "Hello,\nset up your account: http://scope.test/join/t0k3n.\n"
                ),
                body_html=fields.pop(
                    "body_html", '<p>Hello, <a href="http://scope.test/join/t0k3n">join</a></p>'
                ),
                state=fields.pop("state", MailState.QUEUED),
                attempts=0,
                **fields,
            )
            db.session.add(message)
            db.session.commit()
            return message.id

    return add


def test_staff_see_their_sponsors_mail_newest_first(staff, mail, make_sponsor):
    mail(staff.sponsor_id, "older@example.com", created_at=utcnow() - timedelta(hours=1))
    mail(staff.sponsor_id, "newer@example.com", kind="set_password", state=MailState.DELIVERED)
    mail(make_sponsor(), "elsewhere@example.com")

    page = staff.get("/mail/mailbox")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Development mailbox" in texts(html, "h1")
    assert html.index("newer@example.com") < html.index("older@example.com")
    assert "You are invited, newer@example.com" in html
    # Kinds in words; nothing was sent anywhere, so nothing says "Delivered".
    assert texts(html, "tbody td:nth-child(3)") == ["Set password", "Invitation"]
    assert "set_password" not in html and "Delivered" not in html
    assert "In this mailbox" in texts(html, "span.badge.delivered")
    assert "Queued" in texts(html, "span.badge.queued")
    # The app's date format, in a <time>.
    assert re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}, \d{4} at \d\d:\d\d UTC", texts(html, "td time")[0])
    assert "elsewhere@example.com" not in html


def test_an_empty_mailbox_says_so(staff):
    assert "No mail yet." in texts(staff.get("/mail/mailbox"), "p.empty")


def test_the_mailbox_pages_and_answers_htmx_with_the_table_only(staff, mail):
    for n in range(12):
        mail(staff.sponsor_id, f"person{n:02}@example.com", created_at=utcnow() + timedelta(n))

    first = staff.get("/mail/mailbox?size=10").get_data(as_text=True)
    assert "person11@example.com" in first and "person01@example.com" not in first
    assert "1–10 of 12" in first

    second = staff.get("/mail/mailbox?size=10&page=2", htmx=True)
    html = second.get_data(as_text=True)
    root = fragment_elements(html)[0]
    assert (root.tag, root.get("id")) == ("section", "mailbox")
    assert "person01@example.com" in html and "person11@example.com" not in html
    assert "HX-Request" in second.headers["Vary"]


def test_a_message_shows_its_text_with_clickable_links_and_its_html_sandboxed(staff, mail):
    message_id = mail(
        staff.sponsor_id,
        body_html='<p onclick="x()">Hello "friend"</p><script>alert(1)</script>',
    )

    page = staff.get(f"/mail/mailbox/{message_id}")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "You are invited, ana@example.com" in texts(html, "h1")
    # The link is clickable, the full stop after it is not part of it.
    link = element(html, 'a[href="http://scope.test/join/t0k3n"]')
    assert link.text_content() == "http://scope.test/join/t0k3n" and link.tail.startswith(".")
    # The HTML part is the document of a sandboxed frame, never the page's: no scripts in it,
    # its links may only open the whole window when clicked.
    frame = element(html, "iframe")
    assert set(frame.get("sandbox").split()) == {
        "allow-popups",
        "allow-popups-to-escape-sandbox",
        "allow-top-navigation-by-user-activation",
    }
    assert frame.get("src") == f"/mail/mailbox/{message_id}/html"
    assert not [s for s in elements(html, "script") if "alert(1)" in s.text_content()]
    assert "alert(1)" not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    # Not delivered to a server: no count of attempts, no "Delivered".
    assert "Attempts" not in html and "Delivered" not in html


def test_the_html_part_is_served_with_a_policy_that_lets_its_styles_and_nothing_else(staff, mail):
    message_id = mail(
        staff.sponsor_id,
        body_html='<html><body style="color: #1d2939"><p>Hi</p><script>alert(1)</script></body>',
    )
    part = staff.get(f"/mail/mailbox/{message_id}/html")
    assert part.status_code == 200 and part.mimetype == "text/html"
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in part.headers["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'none'" and policy["style-src"] == "'unsafe-inline'"
    assert policy["frame-ancestors"] == "'self'" and "script-src" not in policy
    assert part.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert part.headers["Cache-Control"] == "no-store"
    body = part.get_data(as_text=True)
    assert '<base target="_top"><body style="color: #1d2939">' in body


def test_another_sponsors_message_is_not_found(staff, mail, make_sponsor):
    message_id = mail(make_sponsor(), "elsewhere@example.com")

    assert staff.get(f"/mail/mailbox/{message_id}").status_code == 404
    assert staff.get(f"/mail/mailbox/{message_id}/html").status_code == 404
    assert staff.get("/mail/mailbox/999999").status_code == 404


def test_partner_users_may_not_read_the_mailbox(
    client, auth, make_sponsor, make_user, make_org, mail
):
    sponsor_id = make_sponsor()
    message_id = mail(sponsor_id)
    make_user(
        "admin@partner.test",
        sponsor_id=sponsor_id,
        user_type=UserType.ADMINISTRATOR,
        organization_id=make_org(sponsor_id),
    )
    auth.login("admin@partner.test")

    assert client.get("/mail/mailbox").status_code == 403
    assert client.get(f"/mail/mailbox/{message_id}").status_code == 403
    assert client.get(f"/mail/mailbox/{message_id}/html").status_code == 403


def test_anonymous_people_are_sent_to_log_in(client):
    response = client.get("/mail/mailbox")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_mailbox_does_not_exist_with_a_real_mail_server(app):
    with_smtp = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "MAIL_SERVER": "smtp.example.org",
            "MAIL_DELIVER_IN_PROCESS": False,
        }
    )
    try:
        assert with_smtp.test_client().get("/mail/mailbox").status_code == 404
        assert with_smtp.test_client().get("/mail/mailbox/1").status_code == 404
    finally:
        with with_smtp.app_context():
            db.engine.dispose()


def test_without_the_development_flag_there_is_no_mailbox_and_mail_stays_queued(
    app, staff, mail, monkeypatch
):
    monkeypatch.setitem(app.config, "DEV_MAILBOX", False)
    message_id = mail(staff.sponsor_id, "colleague@example.com", kind="recovery")

    assert staff.get("/mail/mailbox").status_code == 404
    assert staff.get(f"/mail/mailbox/{message_id}").status_code == 404
    assert staff.get(f"/mail/mailbox/{message_id}/html").status_code == 404
    assert staff.get("/mail/mailbox", htmx=True).status_code == 404
    assert "Development mailbox" not in staff.get("/partners/employers").get_data(as_text=True)
    assert deliver_due(app).delivered == 0
    with app.app_context():
        message = db.session.get(MailMessage, message_id)
        assert message.state is MailState.QUEUED and message.delivered_at is None

    monkeypatch.setitem(app.config, "DEV_MAILBOX", True)
    assert "Development mailbox" in staff.get("/partners/employers").get_data(as_text=True)
    assert "colleague@example.com" in staff.get("/mail/mailbox").get_data(as_text=True)


def test_the_mailbox_is_on_in_flask_debug_and_off_with_a_mail_server():
    assert development_mailbox_enabled({"MAIL_SERVER": None, "DEV_MAILBOX": True})
    assert development_mailbox_enabled({"MAIL_SERVER": None, "DEBUG": True})
    assert not development_mailbox_enabled({"MAIL_SERVER": None, "DEV_MAILBOX": False})
    assert not development_mailbox_enabled({"MAIL_SERVER": "smtp.example.org", "DEBUG": True})
    assert not development_mailbox_enabled({"MAIL_SERVER": "smtp.example.org", "DEV_MAILBOX": True})


def test_linkify_escapes_everything_but_the_links():
    html = linkify('<b>Go</b> to https://a.test/x?y=1&z="2" (or http://b.test/).')
    assert html == (
        "&lt;b&gt;Go&lt;/b&gt; to "
        '<a href="https://a.test/x?y=1&amp;z=">https://a.test/x?y=1&amp;z=</a>&#34;2&#34; '
        '(or <a href="http://b.test/">http://b.test/</a>).'
    )


def _invitation(sponsor_id: int, email: str) -> int:
    invitation = Invitation(
        sponsor_id=sponsor_id,
        email=email,
        pending_email=email,
        user_type=UserType.STAFF,
        state=InvitationState.PENDING,
        nonce=email,
        expires_at=utcnow() + timedelta(days=14),
    )
    db.session.add(invitation)
    db.session.flush()
    return invitation.id


def test_latest_delivery_for_invitations(app, make_user, make_sponsor):
    sponsor_id = make_sponsor()
    staff_id = make_user(sponsor_id=sponsor_id)
    other_sponsor = make_sponsor()
    with app.app_context():
        resent = _invitation(sponsor_id, "resent@example.com")
        waiting = _invitation(sponsor_id, "waiting@example.com")
        unsent = _invitation(sponsor_id, "unsent@example.com")
        foreign = _invitation(other_sponsor, "foreign@example.com")
        for invitation_id, sponsor, state in [
            (resent, sponsor_id, MailState.FAILED),
            (resent, sponsor_id, MailState.DELIVERED),
            (waiting, sponsor_id, MailState.QUEUED),
            (foreign, other_sponsor, MailState.DELIVERED),
        ]:
            db.session.add(
                MailMessage(
                    sponsor_id=sponsor,
                    kind="invitation",
                    recipient="x@example.com",
                    subject="Invitation",
                    body_text="",
                    body_html="",
                    state=state,
                    attempts=0,
                    invitation_id=invitation_id,
                )
            )
        db.session.commit()

    with app.test_request_context():
        login_user(db.session.get(User, staff_id))
        latest = latest_delivery_for_invitations([resent, waiting, unsent, foreign])
        assert {i: m.state for i, m in latest.items()} == {
            resent: MailState.DELIVERED,
            waiting: MailState.QUEUED,
        }
        assert latest_delivery_for_invitations([]) == {}
