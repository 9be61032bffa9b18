"""INVITE wizards, invitations, their links and MANAGE → Invitations."""

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from scope.extensions import db
from scope.invites import drafts, sending
from scope.invites.rows import RowInput
from scope.mail.allowance import PER_ADDRESS_PER_DAY
from scope.models import (
    AuditEvent,
    Invitation,
    InvitationState,
    MailMessage,
    OrganizationKind,
    User,
    UserStatus,
    UserType,
    WizardKind,
    utcnow,
)
from scope.templating import format_date
from tests.helpers import (
    Auth,
    csrf_token,
    elements,
    is_whole_page,
    needs_postgres,
    row_menu,
    text_of,
    texts,
)

STRONG = "lantern meadow quartz saddle"


@pytest.fixture
def employer(staff, make_org):
    return make_org(staff.sponsor_id, "Keystone Electric")


def choose(staff, org_id):
    return staff.post("/invite/external", {"organization": org_id}, htmx=True)


def add(staff, slug="external", **row):
    return staff.post(f"/invite/{slug}/rows", row, htmx=True)


def invitations(app):
    with app.app_context():
        return db.session.scalars(db.select(Invitation).order_by(Invitation.id)).all()


def mails(app, kind="invitation"):
    with app.app_context():
        return db.session.scalars(
            db.select(MailMessage).where(MailMessage.kind == kind).order_by(MailMessage.id)
        ).all()


def link_path(message) -> str:
    return re.search(r"http://scope\.test(/join/\S+)", message.body_text).group(1)


def invite_external(staff, app, org_id, *rows):
    choose(staff, org_id)
    for row in rows:
        assert add(staff, **row).status_code == 200
    response = staff.post("/invite/external/send", htmx=True)
    assert response.status_code == 200
    return response


# ---------------------------------------------------------------- the wizards


def test_invite_page_offers_both_flows_and_tabs(staff):
    html = staff.get("/invite/").get_data(as_text=True)
    assert "Invite Teammates" in html and "Invite External Users" in html
    assert "Authenticated" in texts(html, 'a[aria-selected="true"][tabindex="0"]')
    assert "Managed" in texts(html, 'a[aria-selected="false"][tabindex="-1"]')
    assert elements(html, '[role="tabpanel"][aria-labelledby="tab-authenticated"]')


def test_teammates_add_rows_and_send(app, staff):
    page = staff.get("/invite/teammates").get_data(as_text=True)
    assert elements(page, 'button:contains("Send Invitations")[disabled]')
    assert add(staff, "teammates", email="Pat@Riverbend.example").status_code == 200
    html = add(staff, "teammates", email="lee@riverbend.example").get_data(as_text=True)
    assert "pat@riverbend.example" in html and "lee@riverbend.example" in html
    response = staff.post("/invite/teammates/send", htmx=True)
    assert "2 invitations sent." in response.get_data(as_text=True)
    sent = invitations(app)
    assert [(i.email, i.user_type, i.partner_organization_id) for i in sent] == [
        ("pat@riverbend.example", UserType.STAFF, None),
        ("lee@riverbend.example", UserType.STAFF, None),
    ]
    assert len(mails(app)) == 2
    # The list is empty again afterwards.
    assert "No one added yet" in staff.get("/invite/teammates").get_data(as_text=True)


@pytest.mark.parametrize(
    "email, message",
    [
        ("", "Enter an email address."),
        ("not-an-email", "Enter a valid email address."),
        ("a@b", "Enter a valid email address."),
        ("x" * 300 + "@example.com", "at most 254 characters"),
        ("two@@example.com", "Enter a valid email address."),
    ],
)
def test_bad_email_is_refused_on_its_row(app, staff, email, message):
    response = add(staff, "teammates", email=email)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and elements(html, '[aria-invalid="true"]')
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(db.text("wizard_row"))) == 0


def test_duplicate_in_the_list_is_refused(staff):
    add(staff, "teammates", email="pat@riverbend.example")
    response = add(staff, "teammates", email="PAT@riverbend.example")
    assert response.status_code == 422
    assert "already in the list" in response.get_data(as_text=True)


def test_rows_survive_a_reload(staff):
    add(staff, "teammates", email="pat@riverbend.example")
    assert "pat@riverbend.example" in staff.get("/invite/teammates").get_data(as_text=True)


def test_rows_can_be_removed(app, staff):
    add(staff, "teammates", email="pat@riverbend.example")
    with app.app_context():
        row_id = db.session.scalar(db.text("select id from wizard_row"))
    html = staff.post(f"/invite/teammates/rows/{row_id}/delete", htmx=True).get_data(as_text=True)
    assert "pat@riverbend.example" not in html and "No one added yet" in html


def test_external_wizard_picks_the_organization_in_a_combobox_and_continues(
    staff, make_org, employer
):
    make_org(staff.sponsor_id, "Lakeshore College", OrganizationKind.PROVIDER)
    page = staff.get("/invite/external").get_data(as_text=True)
    assert "Employer" in texts(page, 'label[for="organization"]')
    assert elements(page, 'input#organization[role="combobox"]')
    assert elements(page, 'input[type="hidden"][name="organization"]')
    # The options come as one types: the page lists no organization.
    assert "Lakeshore College" not in page and "Keystone Electric" not in page
    response = choose(staff, employer)
    assert response.headers["HX-Push-Url"] == "/invite/external/users"
    html = response.get_data(as_text=True)
    assert "Keystone Electric" in html and "User type" in html and "Occupation" in html


def test_external_rows_need_an_organization_of_this_sponsor(
    staff, make_sponsor, make_org, employer
):
    theirs = make_org(make_sponsor("Other"), "Elsewhere Inc")
    response = choose(staff, theirs)
    assert response.status_code == 422 and "Choose an organization" in response.get_data(
        as_text=True
    )
    assert staff.get("/invite/external/users").status_code == 302


def test_mentor_needs_an_occupation(staff, employer, occupation_id):
    choose(staff, employer)
    response = add(staff, user_type="mentor", email="m@keystone.example")
    assert response.status_code == 422
    assert "Choose the mentor's occupation." in text_of(response)
    ok = add(
        staff,
        user_type="mentor",
        email="m@keystone.example",
        occupation=occupation_id(staff.sponsor_id),
    )
    assert ok.status_code == 200 and "Electrician" in ok.get_data(as_text=True)


@pytest.mark.parametrize("user_type", ["", "staff", "wizard", "0"])
def test_external_rows_take_only_partner_user_types(staff, employer, user_type):
    choose(staff, employer)
    response = add(staff, user_type=user_type, email="x@keystone.example")
    assert response.status_code == 422 and "Choose a user type." in response.get_data(as_text=True)


def test_send_mentor_and_supervisor_in_one_send(app, staff, employer, occupation_id):
    response = invite_external(
        staff,
        app,
        employer,
        {
            "user_type": "mentor",
            "email": "maya@keystone.example",
            "occupation": occupation_id(staff.sponsor_id),
        },
        {"user_type": "supervisor", "email": "sam@keystone.example"},
    )
    assert "2 invitations sent." in response.get_data(as_text=True)
    sent = invitations(app)
    assert [(i.user_type, i.partner_organization_id) for i in sent] == [
        (UserType.MENTOR, employer),
        (UserType.SUPERVISOR, employer),
    ]
    assert (
        sent[0].occupation_id == occupation_id(staff.sponsor_id) and sent[1].occupation_id is None
    )
    assert sent[0].expires_at - sent[0].sent_at == timedelta(days=14)
    messages = mails(app)
    assert [m.recipient for m in messages] == ["maya@keystone.example", "sam@keystone.example"]
    body = messages[0].body_text
    for words in (
        "Riverbend Apprenticeship Alliance",
        "Keystone Electric",
        "a Mentor",
        "Sam Person",
    ):
        assert words in body
    assert "/join/" in body and "/join/" in messages[0].body_html
    with app.app_context():
        assert (
            db.session.scalar(
                db.select(db.func.count(AuditEvent.id)).where(AuditEvent.action == "invited")
            )
            == 2
        )


@pytest.mark.real_commits  # reads on a connection of its own
def test_tokens_are_not_stored_and_need_the_secret(app, staff, employer):
    invite_external(staff, app, employer, {"user_type": "supervisor", "email": "s@k.example"})
    path = link_path(mails(app)[0])
    token = path.rsplit("/", 1)[1]
    mac = token.split(".", 1)[1]
    assert len(mac) >= 43  # 256 bits
    with app.app_context(), db.engine.connect() as conn:
        dump = " ".join(str(row) for row in conn.execute(db.text("select * from invitation")))
    assert mac not in dump


def test_pending_address_is_refused_at_add_with_resend(app, staff, employer):
    invite_external(
        staff, app, employer, {"user_type": "supervisor", "email": "sam@keystone.example"}
    )
    choose(staff, employer)
    response = add(staff, user_type="administrator", email="Sam@Keystone.example")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    # It says what the address is already invited to: where, as what, since when.
    sent_on = format_date(invitations(app)[0].sent_at)
    assert f"Already invited to Keystone Electric as Supervisor on {sent_on}" in html
    assert "Resend" in texts(html, "button")
    invitation = invitations(app)[0]
    resent = staff.post(f"/manage/invitations/{invitation.id}/resend?from=wizard", htmx=True)
    assert "sent again" in resent.get_data(as_text=True)
    assert len(mails(app)) == 2 and len(invitations(app)) == 1


def test_existing_accounts_are_refused_with_a_link(app, staff, employer, make_user, make_sponsor):
    active = make_user("ann@keystone.example", sponsor_id=staff.sponsor_id, user_type="supervisor")
    make_user(
        "mo@keystone.example",
        sponsor_id=staff.sponsor_id,
        user_type="mentor",
        status="managed",
        with_password=False,
    )
    make_user("far@away.example", sponsor_id=make_sponsor("Far Away"))
    choose(staff, employer)
    html = add(staff, user_type="supervisor", email="ann@keystone.example").get_data(as_text=True)
    assert "already has an account" in html and elements(html, f'a[href="/manage/users/{active}"]')
    html = add(staff, user_type="supervisor", email="mo@keystone.example").get_data(as_text=True)
    assert "managed account" in html and "AUTHENTICATE" in html
    # Another sponsor's account is not this sponsor's business: the address is new here.
    response = add(staff, user_type="supervisor", email="far@away.example")
    assert response.status_code == 200 and "Far Away" not in response.get_data(as_text=True)


def test_rules_hold_again_at_send(app, staff, employer, make_user):
    choose(staff, employer)
    add(staff, user_type="supervisor", email="late@keystone.example")
    add(staff, user_type="supervisor", email="fine@keystone.example")
    make_user("late@keystone.example", sponsor_id=staff.sponsor_id)  # signed up meanwhile
    html = staff.post("/invite/external/send", htmx=True).get_data(as_text=True)
    assert "1 invitation sent." in html and "1 row was not sent" in html
    assert "already has an account" in html
    assert [i.email for i in invitations(app)] == ["fine@keystone.example"]


def test_database_allows_one_pending_invitation_per_sponsor_and_address(app, staff):
    with app.app_context():
        for _ in range(2):
            db.session.add(
                Invitation(
                    sponsor_id=staff.sponsor_id,
                    email="x@y.example",
                    pending_email="x@y.example",
                    user_type=UserType.STAFF,
                    state=InvitationState.PENDING,
                    nonce="n",
                    expires_at=utcnow(),
                )
            )
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


# ---------------------------------------------------------------- sign-up from the link


def sign_up(client, path, **data):
    page = client.get(path)
    token = csrf_token(page)
    form = {
        "first_name": "Maya",
        "last_name": "Chen",
        "password": STRONG,
        "confirm_password": STRONG,
    }
    form.update(data)
    form["csrf_token"] = token
    return client.post(path, data=form)


def test_sign_up_page_shows_the_invitation_and_does_not_count_a_get_as_review(
    app, staff, employer, client
):
    invite_external(
        staff, app, employer, {"user_type": "supervisor", "email": "sam@keystone.example"}
    )
    path = link_path(mails(app)[0])
    staff.post("/logout")
    html = app.test_client().get(path).get_data(as_text=True)
    for words in (
        "Riverbend Apprenticeship Alliance",
        "Keystone Electric",
        "Supervisor",
        "sam@keystone.example",
        "Create account",
    ):
        assert words in html
    assert invitations(app)[0].reviewed_at is None  # a scanner's GET is not a review
    visitor = app.test_client()
    page = visitor.get(path).get_data(as_text=True)
    visitor.post(
        path + "/reviewed", headers={"X-CSRFToken": csrf_token(page), "HX-Request": "true"}
    )
    assert invitations(app)[0].reviewed_at is not None
    listing = staff.client.get("/manage/invitations")  # logged out: goes to login
    assert listing.status_code == 302


def test_sign_up_creates_the_account_and_logs_in(app, staff, employer, occupation_id):
    invite_external(
        staff,
        app,
        employer,
        {
            "user_type": "mentor",
            "email": "maya@keystone.example",
            "occupation": occupation_id(staff.sponsor_id),
        },
    )
    path = link_path(mails(app)[0])
    person = app.test_client()
    response = sign_up(person, path)
    assert response.status_code == 302 and response.headers["Location"] == "/my/organization"
    assert person.get("/my/organization").status_code == 200
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "maya@keystone.example"))
        assert (user.status, user.user_type, user.partner_organization_id, user.occupation_id) == (
            UserStatus.ACTIVE,
            UserType.MENTOR,
            employer,
            occupation_id(staff.sponsor_id),
        )
        invitation = db.session.get(Invitation, invitations(app)[0].id)
        assert invitation.state is InvitationState.ACCEPTED and invitation.pending_email is None
    assert "maya@keystone.example" not in staff.get("/manage/invitations").get_data(as_text=True)
    # A second use of the link fails and says so.
    again = app.test_client().get(path)
    assert again.status_code == 410 and "already used" in again.get_data(as_text=True)


def test_teammate_sign_up_gives_staff_access(app, staff):
    add(staff, "teammates", email="pat@riverbend.example")
    staff.post("/invite/teammates/send", htmx=True)
    person = app.test_client()
    response = sign_up(person, link_path(mails(app)[0]), first_name="Pat")
    assert response.headers["Location"] == "/partners/employers"
    assert person.get("/partners/employers").status_code == 200


def test_the_pages_own_review_request_answering_after_the_sign_up_keeps_the_person_logged_in(
    app, staff
):
    """The sign-up page posts /reviewed a second after it loads. In a browser that request can
    still be on its way, carrying the cookie from before the sign-up, when the sign-up's answer
    has logged the person in: its answer must not set the cookie back to the old session."""
    add(staff, "teammates", email="pat@riverbend.example")
    staff.post("/invite/teammates/send", htmx=True)
    path = link_path(mails(app)[0])
    person = app.test_client()
    page = person.get(path).get_data(as_text=True)
    in_flight = app.test_client()
    in_flight.set_cookie("session", person.get_cookie("session").value)
    assert sign_up(person, path).headers["Location"] == "/partners/employers"
    late = in_flight.post(
        path + "/reviewed", headers={"X-CSRFToken": csrf_token(page), "HX-Request": "true"}
    )
    assert late.status_code == 204
    assert "Set-Cookie" not in late.headers
    assert person.get("/partners/employers").status_code == 200


@pytest.mark.parametrize(
    "data, message",
    [
        ({"password": "short"}, "at least 12 characters"),
        (
            {"password": "password1234", "confirm_password": "password1234"},
            "Choose a less common password",
        ),
        ({"confirm_password": "something else entirely"}, "The passwords do not match."),
        ({"first_name": ""}, "Enter your first name."),
        ({"last_name": "x" * 10_000}, "Use at most 100 characters."),
    ],
)
def test_sign_up_bad_input_creates_nothing(app, staff, data, message):
    add(staff, "teammates", email="pat@riverbend.example")
    staff.post("/invite/teammates/send", htmx=True)
    response = sign_up(app.test_client(), link_path(mails(app)[0]), **data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert (
            db.session.scalar(db.select(User).where(User.email == "pat@riverbend.example")) is None
        )
    assert invitations(app)[0].state is InvitationState.PENDING


def test_expired_revoked_and_mangled_links(app, staff):
    for email in ("a@r.example", "b@r.example"):
        add(staff, "teammates", email=email)
    staff.post("/invite/teammates/send", htmx=True)
    first, second = invitations(app)
    paths = [link_path(m) for m in mails(app)]
    with app.app_context():
        db.session.get(Invitation, first.id).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    visitor = app.test_client()
    expired = visitor.get(paths[0])
    assert expired.status_code == 410 and "has expired" in expired.get_data(as_text=True)
    assert "Expired" in staff.get("/manage/invitations").get_data(as_text=True)
    staff.post(f"/manage/invitations/{second.id}/revoke", htmx=True)
    revoked = visitor.get(paths[1])
    assert revoked.status_code == 410 and "was revoked" in revoked.get_data(as_text=True)
    assert sign_up(visitor, paths[1]).status_code == 410
    # A real invitation's number with letters no link of ours has (hmac refuses to compare
    # them) is no link either.
    foreign = f"/join/{second.id}." + "é" * 43
    for bad in (
        paths[1][:-3],
        "/join/abc",
        "/join/1.x",
        "/join/" + "9" * 40 + "." + "a" * 43,
        foreign,
    ):
        response = visitor.get(bad)
        assert response.status_code == 404 and "does not work" in response.get_data(as_text=True)


def test_logged_in_as_someone_else_is_told_to_log_out(app, staff):
    add(staff, "teammates", email="pat@riverbend.example")
    staff.post("/invite/teammates/send", htmx=True)
    response = staff.get(link_path(mails(app)[0]))
    assert response.status_code == 409 and "Log out" in response.get_data(as_text=True)


# ---------------------------------------------------------------- MANAGE → Invitations


def test_invitations_tab_lists_pending_invitations(app, staff, employer):
    invite_external(
        staff, app, employer, {"user_type": "supervisor", "email": "sam@keystone.example"}
    )
    html = staff.get("/manage/invitations").get_data(as_text=True)
    for words in (
        "sam@keystone.example",
        "Supervisor",
        "Keystone Electric",
        "Sam Person",
        "Sent",
        "Queued",
    ):
        assert words in html
    assert elements(html, '[aria-label="Actions"]')
    invitation = invitations(app)[0]
    items = row_menu(html, f"invitation-{invitation.id}")
    assert [label for label, _, _ in items] == ["Revoke", "Resend", "Copy Invitation Link"]
    adapter = app.url_map.bind("localhost")
    assert [adapter.match(url, method=method) for _, method, url in items] == [
        ("manage.confirm_revoke", {"invitation_id": invitation.id}),
        ("manage.resend_invitation", {"invitation_id": invitation.id}),
        ("manage.invitation_link", {"invitation_id": invitation.id}),
    ]
    fragment = staff.get("/manage/invitations?q=nobody", htmx=True).get_data(as_text=True)
    assert not is_whole_page(fragment) and "No invitations match" in fragment
    assert "sam@keystone.example" in staff.get("/manage/invitations?status=sent").get_data(
        as_text=True
    )
    assert "sam@keystone.example" not in staff.get("/manage/invitations?status=expired").get_data(
        as_text=True
    )


def test_resend_sends_a_new_email_with_a_fresh_expiry_and_is_limited(app, staff):
    add(staff, "teammates", email="pat@riverbend.example")
    staff.post("/invite/teammates/send", htmx=True)
    invitation = invitations(app)[0]
    with app.app_context():
        db.session.get(Invitation, invitation.id).expires_at = utcnow() - timedelta(days=1)
        db.session.commit()
    response = staff.post(f"/manage/invitations/{invitation.id}/resend", htmx=True)
    assert response.status_code == 200 and "sent again" in response.get_data(as_text=True)
    renewed = invitations(app)[0]
    assert renewed.expires_at > utcnow() + timedelta(days=13)
    messages = mails(app)
    # A new link: the expired one must not work again, and says a newer one was sent.
    assert len(messages) == 2 and link_path(messages[0]) != link_path(messages[1])
    old = app.test_client().get(link_path(messages[0]))
    assert old.status_code == 410 and "A newer invitation was sent" in old.get_data(as_text=True)
    assert app.test_client().get(link_path(messages[1])).status_code == 200
    for _ in range(5):
        last = staff.post(f"/manage/invitations/{invitation.id}/resend", htmx=True)
    assert last.status_code == 409 and "Try again tomorrow" in last.get_data(as_text=True)
    assert len(mails(app)) == PER_ADDRESS_PER_DAY
    with app.app_context():
        assert db.session.get(Invitation, invitation.id).resend_count == PER_ADDRESS_PER_DAY - 1


def test_invite_revoke_and_invite_again_mails_no_more_a_day_than_resend(app, staff):
    """SEND counts an address's invitation emails of the day as Resend does: past the cap its
    row stays on the list, refused beside it, and the rest of the list is invited."""
    for _ in range(PER_ADDRESS_PER_DAY):
        add(staff, "teammates", email="pat@riverbend.example")
        assert "1 invitation sent" in text_of(staff.post("/invite/teammates/send", htmx=True))
        pending = [i for i in invitations(app) if i.state is InvitationState.PENDING]
        staff.post(f"/manage/invitations/{pending[0].id}/revoke", htmx=True)
    add(staff, "teammates", email="pat@riverbend.example")
    add(staff, "teammates", email="lee@riverbend.example")
    answer = staff.post("/invite/teammates/send", htmx=True)
    assert "1 invitation sent" in text_of(answer)
    assert "already got 4 of these emails in the last 24 hours. Try again tomorrow." in text_of(
        answer
    )
    assert "Copy Invitation Link" not in text_of(answer)  # no invitation to copy it from
    assert len(mails(app)) == PER_ADDRESS_PER_DAY + 1
    assert [i.email for i in invitations(app) if i.state is InvitationState.PENDING] == [
        "lee@riverbend.example"
    ]
    with app.app_context():
        kept = drafts.get_draft(db.session.get(User, staff.user_id), WizardKind.TEAMMATES)
        assert [row.email for row in kept.rows] == ["pat@riverbend.example"]


def test_copy_link_shows_the_same_working_link(app, staff):
    add(staff, "teammates", email="pat@riverbend.example")
    staff.post("/invite/teammates/send", htmx=True)
    invitation = invitations(app)[0]
    html = staff.get(f"/manage/invitations/{invitation.id}/link", htmx=True).get_data(as_text=True)
    assert elements(html, "dialog") and "Invitation link" in texts(html, "label")
    assert "http://scope.test" + link_path(mails(app)[0]) in html


def test_revoke_asks_then_kills_the_link_and_frees_the_address(app, staff):
    add(staff, "teammates", email="pat@riverbend.example")
    staff.post("/invite/teammates/send", htmx=True)
    invitation = invitations(app)[0]
    dialog = staff.get(f"/manage/invitations/{invitation.id}/revoke", htmx=True).get_data(
        as_text=True
    )
    assert "Revoke invitation?" in dialog and elements(dialog, "dialog")
    response = staff.post(f"/manage/invitations/{invitation.id}/revoke", htmx=True)
    assert response.headers["HX-Trigger"] == "scope:close-dialog"
    assert "revoked" in response.get_data(as_text=True)
    assert invitations(app)[0].state is InvitationState.REVOKED
    assert "pat@riverbend.example" not in staff.get("/manage/invitations").get_data(as_text=True)
    assert add(staff, "teammates", email="pat@riverbend.example").status_code == 200
    again = staff.post(f"/manage/invitations/{invitation.id}/revoke", htmx=True)
    assert again.status_code == 409


def test_another_sponsors_invitations_are_out_of_reach(app, staff, make_sponsor, make_user):
    add(staff, "teammates", email="pat@riverbend.example")
    staff.post("/invite/teammates/send", htmx=True)
    invitation = invitations(app)[0]
    other = app.test_client()
    other_sponsor = make_sponsor("Other Sponsor")
    make_user("boss@other.example", sponsor_id=other_sponsor)
    Auth(other, app).login("boss@other.example")
    assert "pat@riverbend.example" not in other.get("/manage/invitations").get_data(as_text=True)
    token = csrf_token(other.get("/invite/"))
    for method, url in [
        ("post", f"/manage/invitations/{invitation.id}/revoke"),
        ("post", f"/manage/invitations/{invitation.id}/resend"),
        ("get", f"/manage/invitations/{invitation.id}/link"),
        ("get", f"/manage/invitations/{invitation.id}/revoke"),
    ]:
        response = getattr(other, method)(url, headers={"X-CSRFToken": token})
        assert response.status_code == 404, url
    assert invitations(app)[0].state is InvitationState.PENDING
    assert len(mails(app)) == 1


# ---------------------------------------------------------------- managed users wizard


def test_managed_wizard_creates_managed_users_without_email(app, staff, employer, occupation_id):
    assert "Get Started" in staff.get("/invite/managed").get_data(as_text=True)
    staff.post("/invite/managed/organization", {"organization": employer}, htmx=True)
    r1 = add(staff, "managed", user_type="supervisor", first_name="Ann", last_name="Lee", email="")
    assert r1.status_code == 200
    r2 = add(
        staff,
        "managed",
        user_type="mentor",
        first_name="Bo",
        last_name="Kim",
        email="bo@keystone.example",
        occupation=occupation_id(staff.sponsor_id),
    )
    assert r2.status_code == 200
    html = staff.post("/invite/managed/send", htmx=True).get_data(as_text=True)
    assert "2 managed users created." in html
    with app.app_context():
        users = db.session.scalars(
            db.select(User).where(User.status == UserStatus.MANAGED).order_by(User.id)
        ).all()
        assert [(u.first_name, u.email, u.partner_organization_id) for u in users] == [
            ("Ann", None, employer),
            ("Bo", "bo@keystone.example", employer),
        ]
        assert db.session.scalar(db.select(db.func.count(MailMessage.id))) == 0


def test_managed_rows_need_names(staff, employer):
    staff.post("/invite/managed/organization", {"organization": employer}, htmx=True)
    response = add(staff, "managed", user_type="supervisor", first_name="", last_name="Lee")
    assert response.status_code == 422 and "Enter the first name." in response.get_data(
        as_text=True
    )


# ---------------------------------------------------------------- concurrency


@pytest.mark.real_commits  # threads
@needs_postgres
def test_twenty_simultaneous_sends_of_one_address_make_one_invitation(app, make_sponsor, make_user):
    sponsor_id = make_sponsor()
    staff_ids = [make_user(sponsor_id=sponsor_id) for _ in range(20)]
    with app.app_context():
        for staff_id in staff_ids:
            draft = drafts.get_draft(db.session.get(User, staff_id), WizardKind.TEAMMATES)
            drafts.add_row(draft, RowInput(UserType.STAFF, "same@person.example"))
        db.session.commit()
    barrier = threading.Barrier(20, timeout=30)
    results = []

    def send(staff_id):
        barrier.wait()  # before touching the pool: it holds fewer than 20 connections
        with app.app_context():
            staff = db.session.get(User, staff_id)
            draft = drafts.get_draft(staff, WizardKind.TEAMMATES)
            result = sending.send_invitations(draft, staff)
            db.session.commit()
            results.append(len(result.sent))
            db.session.remove()

    threads = [threading.Thread(target=send, args=(i,)) for i in staff_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0] * 19 + [1]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Invitation.id))) == 1
        assert db.session.scalar(db.select(db.func.count(MailMessage.id))) == 1
