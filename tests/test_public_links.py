"""Public links: staff make them; people sign up, confirm by email, and wait for approval."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from scope.extensions import db, limiter
from scope.models import (
    AuditEvent,
    MailMessage,
    Notice,
    PublicLink,
    PublicSignup,
    SignupState,
    User,
    UserStatus,
    UserType,
)
from tests.helpers import (
    StaffSession,
    csrf_token,
    element,
    elements,
    field_error,
    login,
    text_of,
    texts,
)

STRONG = "lantern meadow quartz saddle"
LINK = re.compile(r"(https?://\S+)")


@pytest.fixture(autouse=True)
def _no_rate_limits():
    limiter.enabled = False  # the limits have a test of their own below
    yield
    limiter.enabled = True


@pytest.fixture
def employer(staff, make_org):
    return make_org(staff.sponsor_id, "Acme Robotics")


def create_link(staff, employer, **fields):
    data = {"organization": employer, "user_type": "supervisor", **fields}
    return staff.post("/invite/public-links/new", data)


def the_link(app, sponsor_id) -> PublicLink:
    with app.app_context():
        link = db.session.scalar(
            select(PublicLink)
            .where(PublicLink.sponsor_id == sponsor_id)
            .order_by(PublicLink.id.desc())
        )
        db.session.expunge(link)
        return link


def link_path(staff) -> str:
    page = staff.get("/invite/public-links")
    url = element(page, 'input[id^="public-link-url-"]').get("value")
    return "/" + url.split("/", 3)[3]


def last_mail(app, kind: str) -> MailMessage | None:
    with app.app_context():
        message = db.session.scalar(
            select(MailMessage).where(MailMessage.kind == kind).order_by(MailMessage.id.desc())
        )
        if message is not None:
            db.session.expunge(message)
        return message


def path_in(text: str) -> str:
    return "/" + LINK.search(text).group(1).split("/", 3)[3]


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def sign_up(app, path, email, first="Dana", last="Reyes", password=STRONG, client=None):
    client = client or app.test_client()
    token = csrf_token(client.get(path))
    return client.post(
        path,
        data={
            "first_name": first,
            "last_name": last,
            "email": email,
            "password": password,
            "confirm_password": password,
            "csrf_token": token,
        },
    )


def confirm(app, path, client=None):
    client = client or app.test_client()
    page = client.get(path)
    return client.post(path, data={"csrf_token": csrf_token(page)})


# --- staff make links ----------------------------------------------------------------------


def test_staff_create_a_link_and_see_its_settings_and_actions(app, staff, employer):
    answer = create_link(
        staff,
        employer,
        allowed_domains="@AcmeRobotics.com, acme.org",
        max_signups="25",
        expires_on=(date.today() + timedelta(days=30)).isoformat(),
        require_approval="y",
    )
    assert answer.status_code == 302
    page = staff.get("/invite/public-links")
    assert "Acme Robotics · Supervisor" in text_of(page)
    assert "acmerobotics.com, acme.org" in text_of(page)
    assert "0 of 25" in text_of(page)
    buttons = texts(page, ".public-link .button")
    for label in ("Copy link", "Show QR code", "Print flyer", "Rotate", "Disable"):
        assert label in buttons
    link = the_link(app, staff.sponsor_id)
    assert link.require_approval and link.created_by_id == staff.user_id
    # The address carries a 256-bit MAC the database cannot rebuild: only a nonce is kept.
    url = element(page, 'input[id^="public-link-url-"]').get("value")
    mac = url.rsplit(".", 1)[1]
    assert len(mac) == 43 and mac not in (link.nonce, link.previous_nonce)
    # The organization page lists it too, and offers a new one for itself.
    org_page = staff.get(f"/partners/organizations/{employer}")
    assert "Acme Robotics · Supervisor" in text_of(org_page)
    assert f"/invite/public-links/new?organization={employer}" in org_page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"organization": ""}, "organization", "Choose the organization"),
        ({"user_type": "staff"}, "user_type", "Choose a user type"),
        ({"user_type": "mentor"}, "occupation", "Choose the mentor's occupation"),
        ({"expires_on": "2001-01-01"}, "expires_on", "Choose today or a later day"),
        ({"max_signups": "0"}, "max_signups", "Use a number from 1"),
        ({"allowed_domains": "acme robotics!"}, "allowed_domains", "is not a domain"),
    ],
)
def test_a_link_that_breaks_a_rule_is_refused_beside_its_field(
    app, staff, employer, fields, field, message
):
    answer = create_link(staff, employer, **fields)
    assert answer.status_code == 422
    assert message in (field_error(answer, field) or "")
    assert count(app, PublicLink) == 0


def test_another_sponsors_organization_cannot_get_a_link(app, staff, make_sponsor, make_org):
    theirs = make_org(make_sponsor(), "Hidden Works")
    answer = create_link(staff, theirs)
    assert answer.status_code == 422
    assert "Hidden Works" not in answer.get_data(as_text=True)
    assert count(app, PublicLink) == 0


def test_qr_code_and_flyer_are_drawn_here(app, staff, employer):
    create_link(staff, employer)
    link = the_link(app, staff.sponsor_id)
    qr = staff.get(f"/invite/public-links/{link.id}/qr")
    assert qr.status_code == 200
    image = element(qr, "img.qr-code")
    assert image.get("src").startswith("data:image/svg+xml")
    assert image.get("alt")
    flyer = staff.get(f"/invite/public-links/{link.id}/flyer")
    assert "Riverbend Apprenticeship Alliance" in text_of(flyer)
    assert "Join Acme Robotics on Scope" in text_of(flyer)
    assert "Supervisor" in text_of(flyer)
    assert element(flyer, "img.flyer-qr").get("src").startswith("data:image/svg+xml")
    assert link_path(staff) in text_of(flyer)


# --- signing up ----------------------------------------------------------------------------


def test_sign_up_makes_no_account_until_the_address_is_confirmed(app, staff, employer):
    create_link(staff, employer)
    path = link_path(staff)
    page = app.test_client().get(path)
    for label in ("First name", "Last name", "Email", "Password", "Confirm password"):
        assert label in texts(page, "label")
    assert "Acme Robotics" in text_of(page)
    answer = sign_up(app, path, "Dana@Example.com")
    assert answer.status_code == 200
    assert "Check your email" in text_of(answer)
    assert count(app, User, User.email == "dana@example.com") == 0
    mail = last_mail(app, "public_signup_confirm")
    assert mail.recipient == "dana@example.com"
    confirm_path = path_in(mail.body_text)
    # Opening the link (a mail scanner does) confirms nothing.
    opened = app.test_client().get(confirm_path)
    assert "Confirm your email address" in text_of(opened)
    assert count(app, User, User.email == "dana@example.com") == 0
    browser = app.test_client()
    done = confirm(app, confirm_path, browser)
    assert done.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "dana@example.com"))
        assert user.status is UserStatus.ACTIVE and user.user_type is UserType.SUPERVISOR
        assert user.partner_organization_id == employer
        assert (user.first_name, user.last_name) == ("Dana", "Reyes")
        signup = db.session.scalar(select(PublicSignup))
        assert signup.password_hash is None and signup.user_id == user.id
        assert db.session.get(PublicLink, signup.public_link_id).signup_count == 1
    assert browser.get("/my/account").status_code == 200  # logged in
    again = confirm(app, confirm_path)
    assert "already confirmed" in text_of(again)
    assert count(app, User, User.email == "dana@example.com") == 1


def test_an_address_outside_the_allowed_domains_is_refused_and_nothing_is_kept(
    app, staff, employer
):
    create_link(staff, employer, allowed_domains="acmerobotics.com")
    path = link_path(staff)
    assert "Your work address at acmerobotics.com." in text_of(app.test_client().get(path))
    answer = sign_up(app, path, "dana@gmail.com")
    assert answer.status_code == 422
    assert "acmerobotics.com" in field_error(answer, "email")
    assert count(app, PublicSignup) == 0
    assert count(app, MailMessage, MailMessage.recipient == "dana@gmail.com") == 0
    assert sign_up(app, path, "dana@acmerobotics.com").status_code == 200


def test_the_password_rules_are_those_of_every_password(app, staff, employer):
    create_link(staff, employer)
    answer = sign_up(app, link_path(staff), "dana@example.com", password="password123")
    assert answer.status_code == 422
    assert field_error(answer, "password")
    assert count(app, PublicSignup) == 0


@pytest.mark.parametrize("known", ["account", "other_sponsor", "invitation"])
def test_a_known_address_gets_the_same_page_and_only_its_owner_learns_why(
    app, staff, employer, make_user, make_sponsor, known
):
    address = "known@example.com"
    if known == "account":
        make_user(address, sponsor_id=staff.sponsor_id)
    elif known == "other_sponsor":
        make_user(address, sponsor_id=make_sponsor())
    else:
        staff.post("/invite/teammates/rows", {"email": address})
        staff.post("/invite/teammates/send")
        assert last_mail(app, "invitation").recipient == address
    create_link(staff, employer)
    path = link_path(staff)
    answer = sign_up(app, path, address)
    fresh = sign_up(app, path, "new@example.com")
    assert answer.status_code == fresh.status_code == 200
    assert text_of(answer) == text_of(fresh)
    mail = last_mail(app, "public_signup_known")
    assert mail.recipient == address
    if known == "invitation":
        assert "already invited" in mail.body_text
    else:
        assert "You already have an account — log in or reset your password" in mail.body_text
    assert count(app, PublicSignup, PublicSignup.email == address) == 0
    assert count(app, User, User.email == address) == (0 if known == "invitation" else 1)


def test_signing_up_again_ends_the_earlier_confirmation_link(app, staff, employer):
    create_link(staff, employer)
    path = link_path(staff)
    sign_up(app, path, "dana@example.com")
    first = path_in(last_mail(app, "public_signup_confirm").body_text)
    sign_up(app, path, "dana@example.com")
    second = path_in(last_mail(app, "public_signup_confirm").body_text)
    assert "A newer confirmation email was sent" in text_of(confirm(app, first))
    assert confirm(app, second).status_code == 302
    assert count(app, User, User.email == "dana@example.com") == 1


# --- closed links ----------------------------------------------------------------------------


def test_disabled_rotated_expired_and_full_links_each_get_their_page(app, staff, employer):
    create_link(staff, employer, max_signups="1")
    link = the_link(app, staff.sponsor_id)
    old = link_path(staff)
    # Full: one confirmed sign-up fills it.
    sign_up(app, old, "first@example.com")
    confirm(app, path_in(last_mail(app, "public_signup_confirm").body_text))
    full = app.test_client().get(old)
    assert full.status_code == 410 and "This sign-up link is full" in text_of(full)
    # Rotated: the old address says so, the new one works (full still), settings stay.
    staff.post(f"/invite/public-links/{link.id}/rotate", htmx=True)
    rotated = app.test_client().get(old)
    assert rotated.status_code == 410 and "was replaced" in text_of(rotated)
    new = link_path(staff)
    assert new != old
    with app.app_context():
        db.session.get(PublicLink, link.id).max_signups = None
        db.session.commit()
    assert app.test_client().get(new).status_code == 200
    # Expired: the day after its last day.
    with app.app_context():
        db.session.get(PublicLink, link.id).expires_on = date.today() - timedelta(days=2)
        db.session.commit()
    expired = app.test_client().get(new)
    assert expired.status_code == 410 and "has expired" in text_of(expired)
    with app.app_context():
        db.session.get(PublicLink, link.id).expires_on = None
        db.session.commit()
    # Disabled.
    answer = staff.post(f"/invite/public-links/{link.id}/disable", htmx=True)
    assert "is disabled" in text_of(answer)
    disabled = app.test_client().get(new)
    assert disabled.status_code == 410 and "turned off" in text_of(disabled)
    posted = sign_up(app, new, "late@example.com")
    assert posted.status_code == 410
    assert count(app, PublicSignup, PublicSignup.email == "late@example.com") == 0
    # Made up: nothing about any link is told.
    invalid = app.test_client().get(f"/p/{link.id}.{'A' * 43}")
    assert invalid.status_code == 404 and "does not work" in text_of(invalid)
    foreign = app.test_client().get(f"/p/{link.id}.{'é' * 43}")  # no letters of ours
    assert foreign.status_code == 404 and "does not work" in text_of(foreign)
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.subject_type == "public_link", AuditEvent.subject_id == link.id
            )
        ).all()
    assert {"created", "rotated", "disabled"} <= set(actions)


def test_a_confirmation_after_the_link_was_disabled_makes_no_account(app, staff, employer):
    create_link(staff, employer)
    link = the_link(app, staff.sponsor_id)
    sign_up(app, link_path(staff), "dana@example.com")
    staff.post(f"/invite/public-links/{link.id}/disable", htmx=True)
    answer = confirm(app, path_in(last_mail(app, "public_signup_confirm").body_text))
    assert answer.status_code == 410 and "no longer takes sign-ups" in text_of(answer)
    assert count(app, User, User.email == "dana@example.com") == 0


def test_an_archived_organizations_link_adds_no_one_until_it_is_restored(app, staff, employer):
    """No one is added at an archived organization: its link reads as turned off, a sign-up
    made before cannot be confirmed, and restoring the organization opens the link again."""
    create_link(staff, employer)
    path = link_path(staff)
    sign_up(app, path, "early@example.com")
    early_confirmation = path_in(last_mail(app, "public_signup_confirm").body_text)
    assert staff.post(f"/partners/organizations/{employer}/archive").status_code == 302
    closed = app.test_client().get(path)
    assert closed.status_code == 410 and "turned off" in text_of(closed)
    assert sign_up(app, path, "dana@example.com").status_code == 410
    late = confirm(app, early_confirmation)
    assert late.status_code == 410 and "closed the link you signed up through" in text_of(late)
    assert count(app, User, User.email.in_(["early@example.com", "dana@example.com"])) == 0
    assert "Organization archived" in text_of(staff.get("/invite/public-links"))
    assert staff.post(f"/partners/organizations/{employer}/restore").status_code == 302
    assert app.test_client().get(path).status_code == 200


def test_a_sign_up_waiting_for_an_archived_organization_is_not_approved(app, staff, employer):
    signup_id = waiting_signup(app, staff, employer)
    staff.post(f"/partners/organizations/{employer}/archive")
    answer = staff.post(f"/manage/signups/{signup_id}/approve", htmx=True)
    assert "Acme Robotics is archived" in text_of(answer)
    assert count(app, User, User.email == "dana@example.com") == 0
    with app.app_context():
        assert db.session.get(PublicSignup, signup_id).state is SignupState.AWAITING_APPROVAL


# --- approval ------------------------------------------------------------------------------


def waiting_signup(app, staff, employer, email="dana@example.com"):
    create_link(staff, employer, require_approval="y")
    sign_up(app, link_path(staff), email)
    answer = confirm(app, path_in(last_mail(app, "public_signup_confirm").body_text))
    assert answer.status_code == 200
    assert "Your address is confirmed" in text_of(answer)
    with app.app_context():
        return db.session.scalar(select(PublicSignup.id).where(PublicSignup.email == email))


def test_with_approval_the_confirmed_sign_up_waits_and_staff_approve_it(app, staff, employer):
    signup_id = waiting_signup(app, staff, employer)
    assert count(app, User, User.email == "dana@example.com") == 0
    # MANAGE → Users fetches its queue once drawn (the page keeps its statement budget).
    placeholder = element(staff.get("/manage/users"), "#awaiting-approval")
    assert placeholder.get("hx-get") == "/manage/signups"
    users = staff.get("/manage/signups", htmx=True)
    row = text_of(users, f"#signup-{signup_id}")
    assert "Dana Reyes" in row and "Awaiting approval" in row
    assert texts(users, f"#signup-{signup_id} button") == ["Approve", "Decline"]
    answer = staff.post(f"/manage/signups/{signup_id}/approve", htmx=True)
    assert answer.status_code == 200
    assert "Dana Reyes approved" in text_of(answer)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "dana@example.com"))
        assert user.status is UserStatus.ACTIVE
        signup = db.session.get(PublicSignup, signup_id)
        assert signup.state is SignupState.APPROVED and signup.decided_by_id == staff.user_id
        assert signup.pending_email is None and signup.password_hash is None
        approved = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.subject_type == "public_signup", AuditEvent.action == "approved"
            )
        )
        assert approved.actor_id == staff.user_id
    assert "approved your sign-up" in last_mail(app, "public_signup_approved").body_text
    client = app.test_client()
    token = csrf_token(client.get("/login"))
    logged_in = client.post(
        "/login", data={"email": "dana@example.com", "password": STRONG, "csrf_token": token}
    )
    assert logged_in.status_code == 302
    # Twice is refused with a message, and no second account.
    again = staff.post(f"/manage/signups/{signup_id}/approve", htmx=True)
    assert "already decided" in text_of(again)
    assert count(app, User, User.email == "dana@example.com") == 1
    history = text_of(staff.get(f"/manage/users/{user.id}"))
    assert "Sign-up approved by Sam" in history
    assert "Signed up through a public link" in history


def test_approving_an_address_another_sponsor_has_made_a_login_tells_staff_nothing_of_it(
    app, staff, employer, make_sponsor, make_user
):
    """The address became another sponsor's login while the sign-up waited: no account can
    be made. Staff are not told an account exists elsewhere; the sign-up closes, leaves the
    queue, and only the mailbox's owner is told to log in with the account they have."""
    signup_id = waiting_signup(app, staff, employer)
    make_user("dana@example.com", sponsor_id=make_sponsor("Elsewhere"))
    answer = staff.post(f"/manage/signups/{signup_id}/approve", htmx=True)
    assert answer.status_code == 200
    said = text_of(answer)
    assert said.startswith(
        "Dana Reyes's sign-up could not be completed, so it is closed. They have been emailed."
    )
    assert "account" not in said and "Elsewhere" not in said
    assert not elements(answer, f"#signup-{signup_id}")
    assert count(app, User, User.email == "dana@example.com") == 1
    with app.app_context():
        signup = db.session.get(PublicSignup, signup_id)
        assert signup.state is SignupState.DECLINED and signup.password_hash is None
        assert signup.pending_email is None and signup.decided_by_id == staff.user_id
        assert db.session.get(PublicLink, signup.public_link_id).signup_count == 0
    known = last_mail(app, "public_signup_known")
    assert known.recipient == "dana@example.com"
    assert "You already have an account" in known.body_text
    assert last_mail(app, "public_signup_approved") is None


def test_approving_an_address_this_sponsor_already_has_is_refused_and_says_so(
    app, staff, employer, make_user
):
    signup_id = waiting_signup(app, staff, employer)
    make_user("dana@example.com", sponsor_id=staff.sponsor_id)
    answer = staff.post(f"/manage/signups/{signup_id}/approve", htmx=True)
    assert "dana@example.com already has an account or an invitation" in text_of(answer)
    with app.app_context():
        assert db.session.get(PublicSignup, signup_id).state is SignupState.AWAITING_APPROVAL


def test_an_address_this_sponsor_took_at_the_same_moment_leaves_the_sign_up_waiting(
    app, staff, employer, make_user, monkeypatch
):
    """Staff made a record of the address just as Approve was pressed (the check before the
    insert missed it): Approve is refused and the sign-up waits, as when the record was
    there first; it is not closed as if the address were a login elsewhere."""
    from scope.public_links import signups

    signup_id = waiting_signup(app, staff, employer)
    make_user(
        "dana@example.com",
        sponsor_id=staff.sponsor_id,
        status=UserStatus.MANAGED,
        with_password=False,
    )
    real, asked = signups.email_conflict, []

    def missed_once(sponsor_id, email):
        asked.append(email)
        return None if len(asked) == 1 else real(sponsor_id, email)

    monkeypatch.setattr(signups, "email_conflict", missed_once)
    answer = staff.post(f"/manage/signups/{signup_id}/approve", htmx=True)
    assert len(asked) == 2
    assert "dana@example.com already has an account or an invitation" in text_of(answer)
    assert last_mail(app, "public_signup_known") is None
    with app.app_context():
        assert db.session.get(PublicSignup, signup_id).state is SignupState.AWAITING_APPROVAL


def test_staff_decline_a_sign_up_and_the_person_is_told(app, staff, employer):
    signup_id = waiting_signup(app, staff, employer)
    answer = staff.post(f"/manage/signups/{signup_id}/decline", htmx=True)
    assert "declined" in text_of(answer)
    assert count(app, User, User.email == "dana@example.com") == 0
    assert "did not approve" in last_mail(app, "public_signup_declined").body_text
    with app.app_context():
        signup = db.session.get(PublicSignup, signup_id)
        assert signup.state is SignupState.DECLINED and signup.password_hash is None
        assert db.session.get(PublicLink, signup.public_link_id).signup_count == 0
        assert db.session.scalar(
            select(AuditEvent.id).where(
                AuditEvent.subject_type == "public_signup", AuditEvent.action == "declined"
            )
        )


def notices_of(app, user_id) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(Notice.kind, Notice.text).where(Notice.user_id == user_id).order_by(Notice.id)
        )
        return [tuple(row) for row in rows]


def test_the_links_creator_is_notified_of_what_others_do_with_it(app, staff, employer, make_user):
    colleague_id = make_user("kim@riverbend.test", sponsor_id=staff.sponsor_id, first_name="Kim")
    colleague = StaffSession(login(app, "kim@riverbend.test"), staff.sponsor_id, colleague_id)
    signup_id = waiting_signup(app, staff, employer)
    waiting = notices_of(app, staff.user_id)
    assert waiting == [
        (
            "awaiting_approval",
            "Dana Reyes signed up through your public link (Acme Robotics, Supervisor) "
            "and awaits approval",
        )
    ]
    # The notice leads to the queue on MANAGE → Users.
    with app.app_context():
        notice_id = db.session.scalar(select(Notice.id).where(Notice.user_id == staff.user_id))
    opened = staff.post(f"/notifications/{notice_id}/open")
    assert opened.headers["Location"].endswith("/manage/users#awaiting-approval")
    colleague.post(f"/manage/signups/{signup_id}/approve", htmx=True)
    link = the_link(app, staff.sponsor_id)
    colleague.post(f"/invite/public-links/{link.id}/rotate")
    colleague.post(f"/invite/public-links/{link.id}/disable")
    with app.app_context():
        account_id = db.session.scalar(select(User.id).where(User.email == "dana@example.com"))
        kim = db.session.get(User, colleague_id).full_name
    assert notices_of(app, staff.user_id)[1:] == [
        (
            "approved",
            f"{kim} approved Dana Reyes's sign-up through your public link "
            "(Acme Robotics, Supervisor)",
        ),
        ("link_rotated", f"{kim} rotated your public link (Acme Robotics, Supervisor)"),
        ("link_disabled", f"{kim} disabled your public link (Acme Robotics, Supervisor)"),
    ]
    with app.app_context():
        approved = db.session.scalar(select(Notice).where(Notice.kind == "approved"))
        assert approved.account_id == account_id
    # What one does to one's own link tells nobody, and nobody else hears of it.
    assert notices_of(app, colleague_id) == []


def test_declining_tells_the_creator_and_acting_on_ones_own_link_does_not(
    app, staff, employer, make_user
):
    colleague_id = make_user("kim@riverbend.test", sponsor_id=staff.sponsor_id, first_name="Kim")
    colleague = StaffSession(login(app, "kim@riverbend.test"), staff.sponsor_id, colleague_id)
    first = waiting_signup(app, staff, employer)
    colleague.post(f"/manage/signups/{first}/decline", htmx=True)
    assert notices_of(app, staff.user_id)[-1][0] == "declined"
    second = waiting_signup(app, staff, employer, email="lee@example.com")
    before = len(notices_of(app, staff.user_id))
    staff.post(f"/manage/signups/{second}/approve", htmx=True)
    staff.post(f"/invite/public-links/{the_link(app, staff.sponsor_id).id}/disable")
    assert len(notices_of(app, staff.user_id)) == before


def test_partner_users_cannot_approve(app, staff, employer, make_user):
    signup_id = waiting_signup(app, staff, employer)
    make_user(
        "admin@example.com",
        sponsor_id=staff.sponsor_id,
        user_type=UserType.ADMINISTRATOR,
        organization_id=employer,
    )
    partner = login(app, "admin@example.com")
    token = csrf_token(partner)
    answer = partner.post(f"/manage/signups/{signup_id}/approve", headers={"X-CSRFToken": token})
    assert answer.status_code == 403
    assert count(app, User, User.email == "dana@example.com") == 0


# --- abuse ---------------------------------------------------------------------------------


def test_the_form_is_rate_limited_per_client(app, staff, employer):
    limiter.enabled = True
    create_link(staff, employer)
    path = link_path(staff)
    client = app.test_client()
    answers = [
        sign_up(app, path, f"person{n}@example.com", client=client).status_code for n in range(21)
    ]
    assert answers[:20] == [200] * 20 and answers[20] == 429


def test_the_form_is_rate_limited_per_address(app, staff, employer):
    limiter.enabled = True
    create_link(staff, employer)
    path = link_path(staff)
    answers = [sign_up(app, path, "victim@example.com").status_code for _ in range(6)]
    assert answers[:5] == [200] * 5 and answers[5] == 429


_SIGN_UP_FIELDS = ("first_name", "last_name", "email", "password", "confirm_password")
_TEXT = st.text(max_size=300) | st.sampled_from(["", " ", "a@b", "x" * 5000, "\x00", "é@ü.com"])


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    form=st.fixed_dictionaries(
        {},
        optional=dict.fromkeys(
            ("first_name", "last_name", "email", "password", "confirm_password"), _TEXT
        ),
    )
)
def test_fuzzing_the_public_form_never_answers_500_nor_keeps_a_refusal(app, staff, employer, form):
    if count(app, PublicLink) == 0:
        create_link(staff, employer, allowed_domains="example.com")
    path = link_path(staff)
    client = app.test_client()
    before = (count(app, PublicSignup), count(app, MailMessage), count(app, User))
    answer = client.post(path, data={**form, "csrf_token": csrf_token(client.get(path))})
    assert answer.status_code < 500
    if answer.status_code >= 400:
        assert (count(app, PublicSignup), count(app, MailMessage), count(app, User)) == before
    assert count(app, User) == before[2]  # no account before a confirmation
