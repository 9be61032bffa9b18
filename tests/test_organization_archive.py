"""Organizations are archived (out of pickers and lists, kept), restored, and deleted only
when nothing refers to them."""

from __future__ import annotations

from sqlalchemy import select

from scope.extensions import db
from scope.models import (
    AuditEvent,
    PartnerOrganization,
    User,
    UserType,
    WizardDraft,
    WizardKind,
    WizardRow,
)
from tests.helpers import element, text_of, texts


def _org(app, org_id) -> PartnerOrganization | None:
    with app.app_context():
        org = db.session.get(PartnerOrganization, org_id)
        if org is not None:
            db.session.expunge(org)
        return org


def _actions(app, org_id) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(
                    AuditEvent.subject_type == "partner_organization",
                    AuditEvent.subject_id == org_id,
                )
                .order_by(AuditEvent.id)
            )
        )


def test_an_archived_organization_leaves_the_list_and_the_wizard_and_comes_back(
    app, staff, make_org, make_user
):
    acme = make_org(staff.sponsor_id, "Acme Robotics")
    make_org(staff.sponsor_id, "Still Working Co")
    make_user(sponsor_id=staff.sponsor_id, user_type=UserType.SUPERVISOR, organization_id=acme)
    response = staff.post(f"/partners/organizations/{acme}/archive")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/partners/organizations/{acme}"
    assert _org(app, acme).archived_at is not None

    listed = staff.get("/partners/employers").get_data(as_text=True)
    assert "Acme Robotics" not in text_of(listed, "#organizations")
    shown = staff.get("/partners/employers?archived=1").get_data(as_text=True)
    row = text_of(shown, "#organizations")
    assert "Acme Robotics" in row and "Archived" in row
    # The wizard's Employer offers, as one types, only organizations not archived.
    offered = staff.get(
        "/partners/organizations/search?create=employer&organization_name=", htmx=True
    ).get_data(as_text=True)
    assert not any("Acme Robotics" in option for option in texts(offered, '[role="option"]'))
    assert any("Still Working Co" in option for option in texts(offered, '[role="option"]'))
    token = staff.token
    chosen = staff.client.post(
        "/invite/external", data={"organization": acme, "csrf_token": token}
    ).get_data(as_text=True)
    assert "Acme Robotics is archived." in chosen

    page = staff.get(f"/partners/organizations/{acme}").get_data(as_text=True)
    assert "was archived on" in text_of(page, ".organization-lifecycle")
    assert texts(page, ".organization-lifecycle button") == ["Restore", "Delete"]
    assert "Invite people to this organization" not in texts(page, "button")
    assert len(texts(page, "section.card table tbody tr")) == 1, "its user is kept"

    staff.post(f"/partners/organizations/{acme}/restore")
    assert _org(app, acme).archived_at is None
    assert "Acme Robotics" in text_of(
        staff.get("/partners/employers").get_data(as_text=True), "#organizations"
    )
    assert _actions(app, acme) == ["organization_archived", "organization_restored"]


def test_archive_twice_or_restore_what_is_not_archived_is_refused(app, staff, make_org):
    acme = make_org(staff.sponsor_id, "Twice Co")
    staff.post(f"/partners/organizations/{acme}/restore")
    page = staff.get(f"/partners/organizations/{acme}").get_data(as_text=True)
    assert "Twice Co is not archived." in text_of(page, "#alerts")
    staff.post(f"/partners/organizations/{acme}/archive")
    staff.post(f"/partners/organizations/{acme}/archive")
    page = staff.get(f"/partners/organizations/{acme}").get_data(as_text=True)
    assert "Twice Co is already archived." in text_of(page, "#alerts")
    assert _actions(app, acme) == ["organization_archived"]


def test_an_organization_with_users_or_invitations_is_not_deleted(app, staff, make_org, make_user):
    acme = make_org(staff.sponsor_id, "Busy Works")
    for _ in range(2):
        make_user(sponsor_id=staff.sponsor_id, user_type=UserType.SUPERVISOR, organization_id=acme)
    response = staff.post(f"/partners/organizations/{acme}/delete", htmx=True)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/partners/organizations/{acme}"
    assert _org(app, acme) is not None
    page = staff.get(f"/partners/organizations/{acme}").get_data(as_text=True)
    assert "Busy Works cannot be deleted: 2 users refer to it. Archive it instead." in text_of(
        page, "#alerts"
    )


def test_an_organization_on_an_invite_list_is_not_deleted(app, staff, make_org):
    acme = make_org(staff.sponsor_id, "Listed Co")
    with app.app_context():
        draft = WizardDraft(
            sponsor_id=staff.sponsor_id,
            staff_user_id=staff.user_id,
            kind=WizardKind.EXTERNAL,
            partner_organization_id=acme,
        )
        draft.rows.append(
            WizardRow(
                partner_organization_id=acme, user_type=UserType.SUPERVISOR, email="s@example.com"
            )
        )
        db.session.add(draft)
        db.session.commit()
    staff.post(f"/partners/organizations/{acme}/delete")
    assert _org(app, acme) is not None
    page = staff.get(f"/partners/organizations/{acme}").get_data(as_text=True)
    assert "1 person on an INVITE list refer" in text_of(page, "#alerts")


def test_an_organization_nothing_refers_to_is_deleted_and_audited(app, staff, make_org):
    acme = make_org(staff.sponsor_id, "Typo Employer")
    response = staff.post(f"/partners/organizations/{acme}/delete")
    assert response.headers["Location"] == "/partners/employers"
    assert _org(app, acme) is None
    listed = staff.get("/partners/employers").get_data(as_text=True)
    assert "Typo Employer deleted." in text_of(listed, "#alerts")
    assert _actions(app, acme) == ["organization_deleted"]


def test_the_organization_page_asks_before_archive_and_delete(app, staff, make_org):
    acme = make_org(staff.sponsor_id, "Careful Co")
    page = staff.get(f"/partners/organizations/{acme}").get_data(as_text=True)
    forms = {
        text_of(form, "button"): form
        for form in [element(page, ".organization-lifecycle")]
        for form in form.iter("form")
    }
    assert list(forms) == ["Archive", "Delete"]
    assert forms["Archive"].get("data-confirm") == "Archive Careful Co?"
    assert forms["Delete"].get("data-confirm") == "Delete Careful Co?"
    assert forms["Delete"].get("hx-post") == f"/partners/organizations/{acme}/delete"


def test_no_one_is_moved_to_an_archived_organization_and_who_is_there_stays(
    app, staff, make_org, make_user
):
    here = make_org(staff.sponsor_id, "Keystone Electric")
    closed = make_org(staff.sponsor_id, "Old Mill Works")
    person = make_user(
        "pat@keystone.example",
        sponsor_id=staff.sponsor_id,
        user_type=UserType.SUPERVISOR,
        organization_id=here,
        first_name="Pat",
        last_name="Lee",
    )
    staff.post(f"/partners/organizations/{closed}/archive")

    def edit(organization, first_name="Pat"):
        profile = {
            "first_name": first_name,
            "last_name": "Lee",
            "email": "pat@keystone.example",
            "user_type": "supervisor",
            "organization": organization,
        }
        return staff.post(f"/manage/users/{person}/edit", profile, htmx=True)

    moved = edit(closed)
    assert moved.status_code == 422
    assert "Old Mill Works is archived" in text_of(moved)
    with app.app_context():
        assert db.session.get(User, person).partner_organization_id == here

    # Archived after the person was there: they stay, and their profile can still change.
    staff.post(f"/partners/organizations/{here}/archive")
    assert edit(here, first_name="Patricia").status_code == 200
    with app.app_context():
        assert db.session.get(User, person).first_name == "Patricia"
