"""A deleted row's id given to the next row: SQLite does that (its tables reuse the largest
id once that row is deleted, and it checks no foreign keys). What pointed at the deleted row
must never come to point at the new one: an organization in a wizard (perhaps another
sponsor's), an account's History."""

from __future__ import annotations

from sqlalchemy import select, update

from scope.extensions import db
from scope.models import (
    Invitation,
    PartnerOrganization,
    UserStatus,
    UserType,
    WizardDraft,
    WizardKind,
)
from tests.helpers import text_of


def test_a_deleted_organizations_id_reused_by_another_sponsor_never_reaches_a_wizard(
    app, staff, make_sponsor, make_org
):
    """SQLite (the embedded default) gives a deleted row's id to the next row: a wizard draft
    still pointing at a deleted organization must not end up on another sponsor's."""
    mine = make_org(staff.sponsor_id, "Short Lived Welding")
    chose = staff.post("/invite/external", {"organization": mine}, htmx=True)
    assert chose.status_code == 200
    deleted = staff.post(f"/partners/organizations/{mine}/delete")
    assert deleted.status_code in (200, 302, 303)
    with app.app_context():
        assert db.session.get(PartnerOrganization, mine) is None
    # Another sponsor adds an organization: it takes the freed id.
    other_sponsor = make_sponsor("Zanzibar Guild")
    theirs = make_org(other_sponsor, "Zanzibar Secret Robotics")
    page = staff.get("/invite/external/users", follow_redirects=True)
    assert "Zanzibar Secret Robotics" not in page.get_data(as_text=True)
    staff.post("/invite/external/rows", {"user_type": "supervisor", "email": "s@x.example"})
    staff.post("/invite/external/send", htmx=True)
    with app.app_context():
        leaked = db.session.scalars(
            select(Invitation).where(
                Invitation.sponsor_id == staff.sponsor_id,
                Invitation.partner_organization_id == theirs,
            )
        ).all()
        assert leaked == []


def test_a_new_account_does_not_inherit_a_deleted_accounts_history(app, staff, make_user, make_org):
    """SQLite gives a deleted managed user's id to the next account: that account's History
    must not show what was done to the person deleted before it existed."""
    org = make_org(staff.sponsor_id, "Keystone Electric")
    gone = make_user(
        "gone@keystone.example",
        sponsor_id=staff.sponsor_id,
        user_type=UserType.SUPERVISOR,
        status=UserStatus.MANAGED,
        organization_id=org,
        with_password=False,
        first_name="Gone",
    )
    assert staff.post(f"/manage/users/{gone}/delete").status_code in (200, 302, 303)
    newcomer = make_user(
        "new@keystone.example",
        sponsor_id=staff.sponsor_id,
        user_type=UserType.SUPERVISOR,
        status=UserStatus.MANAGED,
        organization_id=org,
        with_password=False,
        first_name="Newcomer",
    )
    profile = staff.get(f"/manage/users/{newcomer}")
    assert profile.status_code == 200
    history = text_of(profile, "section[aria-labelledby=history-title]")
    assert "Deleted" not in history, history


def test_deleting_an_organization_sends_a_wizard_left_on_it_back_to_choose(app, staff, make_org):
    mine = make_org(staff.sponsor_id, "Short Lived Welding")
    staff.post("/invite/external", {"organization": mine}, htmx=True)
    staff.post(f"/partners/organizations/{mine}/delete")
    with app.app_context():
        draft = db.session.scalar(
            select(WizardDraft).where(WizardDraft.kind == WizardKind.EXTERNAL)
        )
        assert draft.partner_organization_id is None
    answer = staff.get("/invite/external/users")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/invite/external")


def test_a_wizard_never_shows_an_organization_of_another_sponsor(
    app, staff, make_sponsor, make_org
):
    """However its draft came to name one (a database written before deletes cleared it)."""
    mine = make_org(staff.sponsor_id, "Keystone Electric")
    theirs = make_org(make_sponsor("Zanzibar Guild"), "Zanzibar Secret Robotics")
    staff.post("/invite/external", {"organization": mine}, htmx=True)
    with app.app_context():
        db.session.execute(update(WizardDraft).values(partner_organization_id=theirs))
        db.session.commit()
    answer = staff.get("/invite/external/users", follow_redirects=True)
    assert "Zanzibar" not in answer.get_data(as_text=True)
    added = staff.post(
        "/invite/external/rows", {"user_type": "supervisor", "email": "s@x.example"}, htmx=True
    )
    assert "Zanzibar" not in added.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(WizardDraft.partner_organization_id)) is None
