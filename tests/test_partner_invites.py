"""Partner administrators invite people to their own organization when their sponsor allows
it (off by default); nobody else at a partner does, and nobody sees another organization's
invitations."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from scope.extensions import db
from scope.invites import rows
from scope.mail.allowance import PER_ADDRESS_PER_DAY
from scope.models import (
    AuditEvent,
    Invitation,
    InvitationState,
    Sponsor,
    User,
    UserType,
    WizardRow,
)
from tests.helpers import StaffSession, csrf_token, login, text_of, texts

INVITER_ENDPOINTS = [
    ("GET", "/invite/"),
    ("GET", "/invite/external"),
    ("GET", "/invite/external/users"),
    ("POST", "/invite/external/rows"),
    ("POST", "/invite/external/send"),
    ("GET", "/manage/invitations"),
]


@pytest.fixture
def partner(app, staff, make_org, make_user, occupation_id):
    """An employer with its administrator (logged in), and another employer of the sponsor."""
    ours = make_org(staff.sponsor_id, "Keystone Electric")
    theirs = make_org(staff.sponsor_id, "Lakeside Plumbing")
    admin_id = make_user(
        "admin@keystone.example",
        sponsor_id=staff.sponsor_id,
        user_type=UserType.ADMINISTRATOR,
        organization_id=ours,
        first_name="Avery",
        last_name="Admin",
    )
    client = login(app, "admin@keystone.example")
    session = StaffSession(client, staff.sponsor_id, admin_id)
    session._token = csrf_token(client)
    return {
        "session": session,
        "ours": ours,
        "theirs": theirs,
        "occupation": occupation_id(staff.sponsor_id),
    }


def allow(app, sponsor_id, admins=False):
    with app.app_context():
        sponsor = db.session.get(Sponsor, sponsor_id)
        sponsor.partner_admins_invite = True
        sponsor.partner_admins_invite_admins = admins
        db.session.commit()


def invitations(app):
    with app.app_context():
        stmt = select(Invitation).order_by(Invitation.id)
        return [
            (i.email, i.partner_organization_id, i.invited_by_id) for i in db.session.scalars(stmt)
        ]


def test_off_by_default_partner_administrators_see_no_invite(app, partner):
    admin = partner["session"]
    for method, url in INVITER_ENDPOINTS:
        answer = admin.client.open(url, method=method, headers={"X-CSRFToken": admin.token})
        assert answer.status_code == 403, url
    assert "Invite" not in texts(admin.get("/my/organization"), "nav a")


def test_an_allowed_administrator_invites_a_mentor_to_their_own_organization(app, staff, partner):
    allow(app, staff.sponsor_id)
    admin = partner["session"]
    assert "Invite" in texts(admin.get("/my/organization"), "nav a")
    assert admin.get("/invite/").headers["Location"].endswith("/invite/external/users")
    wizard = admin.get("/invite/external", follow_redirects=True)
    assert "Organization: Keystone Electric" in text_of(wizard)
    # Supervisors and mentors for an employer; never staff, administrators or instructors.
    offered = texts(wizard, "#row-form select[name=user_type] option")
    assert offered == ["Choose…", "Supervisor", "Mentor"]
    refused = admin.post(
        "/invite/external/rows", {"user_type": "administrator", "email": "a@x.example"}, htmx=True
    )
    assert refused.status_code == 422
    assert "You can invite Supervisor, Mentor" in text_of(refused, "#user_type-error")
    added = admin.post(
        "/invite/external/rows",
        {"user_type": "mentor", "email": "mentor@x.example", "occupation": partner["occupation"]},
        htmx=True,
    )
    assert added.status_code == 200
    sent = admin.post("/invite/external/send", htmx=True)
    assert "1 invitation sent." in sent.get_data(as_text=True)
    assert invitations(app) == [("mentor@x.example", partner["ours"], admin.user_id)]
    # Staff see who invited whom.
    listed = staff.get("/manage/invitations").get_data(as_text=True)
    assert "Avery Admin" in listed and "mentor@x.example" in listed


def test_an_administrator_of_an_archived_organization_invites_no_one(app, staff, partner):
    """No one is invited to an archived organization: INVITE leaves its administrator's
    pages and its addresses answer 403, not an error; the invitations they sent stay theirs
    to see in MANAGE, as archiving keeps them."""
    allow(app, staff.sponsor_id)
    admin = partner["session"]
    admin.get("/invite/external")
    admin.post("/invite/external/rows", {"user_type": "supervisor", "email": "s@x.example"})
    assert "1 invitation sent" in text_of(admin.post("/invite/external/send", htmx=True))
    assert staff.post(f"/partners/organizations/{partner['ours']}/archive").status_code == 302
    assert texts(admin.get("/my/organization"), "nav a.nav-link") == [
        "Manage",
        "My organization",
        "My account",
    ]
    for method, url in INVITER_ENDPOINTS[:-1]:  # all but MANAGE → Invitations
        answer = admin.client.open(url, method=method, headers={"X-CSRFToken": admin.token})
        assert answer.status_code == 403, url
    listed = admin.get("/manage/invitations")
    assert listed.status_code == 200 and "s@x.example" in text_of(listed)
    assert [i[0] for i in invitations(app)] == ["s@x.example"]


def test_an_administrator_past_an_addresss_daily_cap_is_not_told_its_count(app, staff, partner):
    """Staff invited the address elsewhere four times today (revoking each): the
    administrator's SEND is refused without saying how many it got."""
    allow(app, staff.sponsor_id)
    for _ in range(PER_ADDRESS_PER_DAY):
        staff.post("/invite/external", {"organization": partner["theirs"]}, htmx=True)
        staff.post("/invite/external/rows", {"user_type": "supervisor", "email": "c@x.example"})
        assert "1 invitation sent" in text_of(staff.post("/invite/external/send", htmx=True))
        with app.app_context():
            pending = db.session.scalar(
                select(Invitation.id).where(Invitation.state == InvitationState.PENDING)
            )
        staff.post(f"/manage/invitations/{pending}/revoke", htmx=True)
    admin = partner["session"]
    admin.get("/invite/external")
    admin.post("/invite/external/rows", {"user_type": "supervisor", "email": "c@x.example"})
    said = text_of(admin.post("/invite/external/send", htmx=True))
    assert "This address cannot get another invitation today. Try again tomorrow." in said
    assert "already got" not in said


def test_administrators_invite_administrators_only_when_the_sponsor_says_so(app, staff, partner):
    allow(app, staff.sponsor_id, admins=True)
    admin = partner["session"]
    wizard = admin.get("/invite/external", follow_redirects=True)
    offered = texts(wizard, "#row-form select[name=user_type] option")
    assert offered == ["Choose…", "Administrator", "Supervisor", "Mentor"]
    added = admin.post(
        "/invite/external/rows", {"user_type": "administrator", "email": "a@x.example"}, htmx=True
    )
    assert added.status_code == 200


def test_other_organizations_invitations_stay_out_of_reach(app, staff, partner):
    allow(app, staff.sponsor_id)
    staff.post("/invite/external", {"organization": partner["theirs"]}, htmx=True)
    staff.post("/invite/external/rows", {"user_type": "supervisor", "email": "z@lake.example"})
    staff.post("/invite/external/send", htmx=True)
    staff.post("/invite/external", {"organization": partner["ours"]}, htmx=True)
    staff.post("/invite/external/rows", {"user_type": "supervisor", "email": "k@key.example"})
    staff.post("/invite/external/send", htmx=True)
    with app.app_context():
        ids = {
            i.email: i.id
            for i in db.session.scalars(
                select(Invitation).where(Invitation.sponsor_id == staff.sponsor_id)
            )
        }
    admin = partner["session"]
    page = admin.get("/manage/invitations").get_data(as_text=True)
    assert "k@key.example" in page and "z@lake.example" not in page
    assert "Users" not in texts(admin.get("/manage/invitations"), "[role=tab]")
    theirs = ids["z@lake.example"]
    for method, url in [
        ("POST", f"/manage/invitations/{theirs}/revoke"),
        ("POST", f"/manage/invitations/{theirs}/resend"),
        ("GET", f"/manage/invitations/{theirs}/revoke"),
        ("GET", f"/manage/invitations/{theirs}/link"),
    ]:
        answer = admin.client.open(url, method=method, headers={"X-CSRFToken": admin.token})
        assert answer.status_code == 404, url
    with app.app_context():
        assert db.session.get(Invitation, theirs).state is InvitationState.PENDING
    # Their own organization's: Copy link and Revoke work.
    ours = ids["k@key.example"]
    assert admin.get(f"/manage/invitations/{ours}/link", htmx=True).status_code == 200
    assert admin.post(f"/manage/invitations/{ours}/revoke", htmx=True).status_code == 200
    with app.app_context():
        assert db.session.get(Invitation, ours).state is InvitationState.REVOKED
    # Staff pages, the other wizards and the other organization stay closed.
    for url in ("/manage/users", "/invite/teammates", "/invite/managed", "/partners/employers"):
        assert admin.get(url).status_code == 403, url
    admin.post("/invite/external", {"organization": partner["theirs"]}, htmx=True)
    wizard = admin.get("/invite/external/users").get_data(as_text=True)
    assert "Lakeside Plumbing" not in wizard


def test_an_address_with_an_account_elsewhere_in_the_sponsor_is_refused_without_names(
    app, staff, partner, make_user
):
    allow(app, staff.sponsor_id)
    make_user(
        "known@lake.example",
        sponsor_id=staff.sponsor_id,
        user_type=UserType.SUPERVISOR,
        organization_id=partner["theirs"],
        first_name="Quinn",
        last_name="Hidden",
    )
    admin = partner["session"]
    admin.get("/invite/external")
    refused = admin.post(
        "/invite/external/rows",
        {"user_type": "supervisor", "email": "known@lake.example"},
        htmx=True,
    )
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "already has an account or an invitation" in body
    assert "Quinn" not in body and "/manage/users/" not in body


def test_an_address_staff_invite_elsewhere_during_the_send_is_refused_without_names(
    app, staff, partner, monkeypatch
):
    """Staff invite the address to another organization after the administrator's list was
    checked and before its insert (a race PostgreSQL runs; here the check is made to miss
    it): the refusal beside the row names no organization, as at ADD+."""
    allow(app, staff.sponsor_id)
    admin = partner["session"]
    admin.get("/invite/external")
    added = admin.post(
        "/invite/external/rows", {"user_type": "supervisor", "email": "x@x.example"}, htmx=True
    )
    assert added.status_code == 200
    staff.post("/invite/external", {"organization": partner["theirs"]}, htmx=True)
    staff.post("/invite/external/rows", {"user_type": "supervisor", "email": "x@x.example"})
    assert "1 invitation sent" in text_of(staff.post("/invite/external/send", htmx=True))
    real = rows.email_conflicts
    checks = []

    def before_the_rival(sponsor_id, emails):
        checks.append(emails)
        return {} if len(checks) == 1 else real(sponsor_id, emails)

    monkeypatch.setattr(rows, "email_conflicts", before_the_rival)
    answer = admin.post("/invite/external/send", htmx=True)
    assert len(checks) == 2  # the check that missed it, and the insert's own
    said = text_of(answer)
    assert "already has an account or an invitation" in said
    assert "Lakeside Plumbing" not in said and "Already invited to" not in said
    assert [i[0] for i in invitations(app)] == ["x@x.example"]


@pytest.mark.parametrize("user_type", [UserType.SUPERVISOR, UserType.MENTOR, UserType.PROVIDER])
def test_other_partner_users_see_none_of_it_even_when_allowed(
    app, staff, partner, make_user, user_type
):
    allow(app, staff.sponsor_id, admins=True)
    make_user(
        f"{user_type.value}@keystone.example",
        sponsor_id=staff.sponsor_id,
        user_type=user_type,
        organization_id=partner["ours"],
        occupation_id=partner["occupation"] if user_type is UserType.MENTOR else None,
    )
    client = login(app, f"{user_type.value}@keystone.example")
    token = csrf_token(client)
    for method, url in INVITER_ENDPOINTS:
        answer = client.open(url, method=method, headers={"X-CSRFToken": token})
        assert answer.status_code == 403, url


def test_staff_switch_it_on_in_sponsor_settings(app, staff):
    page = staff.get("/settings")
    assert "Partner administrators cannot" in page.get_data(as_text=True)
    answer = staff.post(
        "/settings/partner-invites",
        {"partner_admins_invite": "y", "partner_admins_invite_admins": ""},
        htmx=True,
    )
    assert "Partner administrators invite people to their own organization." in answer.get_data(
        as_text=True
    )
    with app.app_context():
        sponsor = db.session.get(Sponsor, staff.sponsor_id)
        assert sponsor.partner_admins_invite and not sponsor.partner_admins_invite_admins
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "partner_invites_changed")
        )
        assert event.actor_id == staff.user_id and event.details["allow"] is True


def test_an_administrator_moved_to_another_organization_invites_to_the_new_one(app, staff, partner):
    allow(app, staff.sponsor_id)
    admin = partner["session"]
    admin.get("/invite/external")  # INVITE: the wizard for their organization
    assert "Organization: Keystone Electric" in text_of(admin.get("/invite/external/users"))
    with app.app_context():  # staff move them to Lakeside Plumbing
        db.session.get(User, admin.user_id).partner_organization_id = partner["theirs"]
        db.session.commit()

    assert admin.get("/invite/").headers["Location"].endswith("/invite/external/users")
    assert "Organization: Lakeside Plumbing" in text_of(admin.get("/invite/external/users"))
    added = admin.post(
        "/invite/external/rows", {"user_type": "supervisor", "email": "sue@x.org"}, htmx=True
    )
    assert added.status_code == 200
    with app.app_context():
        rows = db.session.execute(select(WizardRow.email, WizardRow.partner_organization_id))
        assert rows.all() == [("sue@x.org", partner["theirs"])]
