"""The organization page lists its pending invitations and invites more people to it."""

from __future__ import annotations

import uuid
from datetime import timedelta

from scope.extensions import db
from scope.models import Invitation, InvitationState, UserType, WizardDraft, WizardKind, utcnow
from tests.helpers import element, text_of, texts


def _invite(app, sponsor_id, org_id, email, inviter_id, **fields) -> int:
    with app.app_context():
        pending = fields.get("state", InvitationState.PENDING) is InvitationState.PENDING
        invitation = Invitation(
            sponsor_id=sponsor_id,
            email=email,
            pending_email=email if pending else None,
            user_type=UserType.SUPERVISOR,
            partner_organization_id=org_id,
            invited_by_id=inviter_id,
            state=InvitationState.PENDING,
            nonce=uuid.uuid4().hex,
            sent_at=utcnow(),
            expires_at=utcnow() + timedelta(days=14),
            resend_count=0,
        )
        for key, value in fields.items():
            setattr(invitation, key, value)
        db.session.add(invitation)
        db.session.commit()
        return invitation.id


def test_the_organization_page_lists_its_pending_invitations(app, staff, make_org):
    acme = make_org(staff.sponsor_id, "Acme Robotics")
    other = make_org(staff.sponsor_id, "Other Works")
    _invite(app, staff.sponsor_id, acme, "waiting@example.com", staff.user_id)
    _invite(app, staff.sponsor_id, acme, "reminded@example.com", staff.user_id, reminder_count=2)
    _invite(
        app,
        staff.sponsor_id,
        acme,
        "gone@example.com",
        staff.user_id,
        state=InvitationState.REVOKED,
        revoked_at=utcnow(),
    )
    _invite(app, staff.sponsor_id, other, "elsewhere@example.com", staff.user_id)

    page = staff.get(f"/partners/organizations/{acme}").get_data(as_text=True)
    rows = texts(page, "section.organization-invitations tbody tr")
    assert len(rows) == 2
    assert any("waiting@example.com" in row and "Sent" in row for row in rows)
    assert any("reminded@example.com" in row and "reminded 2×" in row for row in rows)
    assert "gone@example.com" not in page and "elsewhere@example.com" not in page
    link = element(page, "section.organization-invitations tbody a")
    assert link.get("href").startswith("/manage/invitations?q=")


def test_invite_people_to_this_organization_opens_the_wizard_with_it_chosen(app, staff, make_org):
    acme = make_org(staff.sponsor_id, "Acme Robotics")
    page = staff.get(f"/partners/organizations/{acme}").get_data(as_text=True)
    form = element(page, "form:has(button.primary)")
    assert texts(form, "button") == ["Invite people to this organization"]
    data = {i.get("name"): i.get("value") for i in form.iter("input")}
    assert data["organization"] == str(acme)

    response = staff.client.post(form.get("action"), data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == "/invite/external/users"
    with app.app_context():
        draft = db.session.scalar(
            db.select(WizardDraft).where(
                WizardDraft.staff_user_id == staff.user_id,
                WizardDraft.kind == WizardKind.EXTERNAL,
            )
        )
        assert draft.partner_organization_id == acme
    wizard = staff.get("/invite/external/users").get_data(as_text=True)
    assert "Organization: Acme Robotics" in text_of(wizard)


def test_an_organization_without_pending_invitations_says_so(app, staff, make_org):
    acme = make_org(staff.sponsor_id, "Quiet Co")
    page = staff.get(f"/partners/organizations/{acme}").get_data(as_text=True)
    assert "No pending invitations for this organization." in page
