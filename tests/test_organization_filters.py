"""MANAGE's filter bars and the Create public link form pick an organization the way the
wizards do: a searchable combobox labelled Organization (hidden id, typed name, radio choice
without JavaScript), never a <select> of every organization of the sponsor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from scope.extensions import db
from scope.models import (
    Invitation,
    InvitationState,
    OrganizationKind,
    PartnerOrganization,
    PublicLink,
    UserType,
    utcnow,
)
from tests.helpers import element, elements, field_error, text_of


@pytest.fixture
def acme(app, staff, make_org):
    """Acme Tools and Acme Works, each with one pending invitation; 300 other employers."""
    ids = {name: make_org(staff.sponsor_id, name) for name in ("Acme Tools", "Acme Works")}
    for n in range(300):
        make_org(staff.sponsor_id, f"Organization number {n:03}")
    with app.app_context():
        for name, org_id in ids.items():
            email = f"{name.split()[1].lower()}@acme.example"
            db.session.add(
                Invitation(
                    sponsor_id=staff.sponsor_id,
                    email=email,
                    pending_email=email,
                    user_type=UserType.SUPERVISOR,
                    partner_organization_id=org_id,
                    invited_by_id=staff.user_id,
                    state=InvitationState.PENDING,
                    nonce=f"nonce-{email}",
                    sent_at=utcnow(),
                    expires_at=utcnow() + timedelta(days=14),
                )
            )
        db.session.commit()
    return ids


def test_the_invitations_organization_filter_is_the_combobox(staff, acme):
    page = staff.get("/manage/invitations").get_data(as_text=True)
    box = element(page, 'input#invitation-organization[role="combobox"]')
    assert text_of(page, 'label[for="invitation-organization"]') == "Organization"
    assert box.get("hx-get").startswith("/partners/organizations/search")
    assert not elements(page, "select#invitation-organization")
    assert "Organization number" not in page
    # Picking it (its hidden id changes) redraws the table, typing alone does not.
    trigger = element(page, "#invitations-toolbar").get("hx-trigger")
    assert "change from:#invitation-organization-value" in trigger
    assert "from:#invitation-organization," not in trigger


def test_the_users_and_invitations_filter_bars_are_one_part(staff, acme):
    users = element(staff.get("/manage/users"), "#users-toolbar")
    invitations = element(staff.get("/manage/invitations"), "#invitations-toolbar")
    for bar in (users, invitations):
        assert bar.get("role") == "search" and bar.get("hx-push-url") == "true"
        assert [label.text_content() for label in bar.cssselect("label")][-1] == "Rows per page"
        assert bar.cssselect("noscript")


@pytest.mark.parametrize("htmx", [True, False])
def test_invitations_filtered_by_a_picked_or_typed_organization(staff, acme, htmx):
    picked = text_of(staff.get(f"/manage/invitations?organization={acme['Acme Tools']}", htmx=htmx))
    assert "tools@acme.example" in picked and "works@acme.example" not in picked
    typed = staff.get("/manage/invitations?organization=&organization_name=acme+works", htmx=htmx)
    assert "works@acme.example" in text_of(typed) and "tools@acme.example" not in text_of(typed)
    if not htmx:
        chosen = element(typed, "#invitation-organization-value").get("value")
        assert chosen == str(acme["Acme Works"])


@pytest.mark.parametrize("htmx", [True, False])
def test_a_name_that_picks_no_one_organization_lists_nothing_and_says_why(staff, acme, htmx):
    response = staff.get("/manage/invitations?organization_name=acme", htmx=htmx)
    assert response.status_code == 200
    page = text_of(response)
    assert "tools@acme.example" not in page and "works@acme.example" not in page
    assert "No organization is named exactly “acme”" in page
    if not htmx:
        radios = elements(response, 'input[type="radio"][name="organization_choice"]')
        assert sorted(r.get("value") for r in radios) == sorted(map(str, acme.values()))


@pytest.mark.parametrize("table", ["users", "invitations"])
def test_the_export_of_a_name_that_picks_no_one_organization_is_empty_too(
    staff, acme, make_user, table
):
    """The export is of what the page shows: nobody, not everyone."""
    make_user(
        "tools.person@acme.example", sponsor_id=staff.sponsor_id, organization_id=acme["Acme Tools"]
    )
    page = staff.get(f"/manage/{table}?status=all&organization_name=acme")
    assert "@acme.example" not in text_of(page, f"#{table}")
    (export,) = [a.get("href") for a in elements(page, "a[download]")]
    assert "organization_name=acme" in export
    rows = staff.get(export).get_data().decode("utf-8-sig").splitlines()
    assert len(rows) == 1  # the header alone
    # The table's own address (its refresh) keeps the name too.
    assert "organization_name=acme" in element(page, f"#{table}").get("hx-get")


def test_select_all_matching_of_a_name_that_picks_no_one_organization_selects_nobody(
    app, staff, acme, make_user
):
    make_user(
        "tools.person@acme.example", sponsor_id=staff.sponsor_id, organization_id=acme["Acme Tools"]
    )
    bulk = "/manage/users/bulk/deactivate?matching=organization_name%3D"
    assert "No users selected" in text_of(staff.get(bulk + "acme", htmx=True))
    # Not that nothing can be: a name that picks Acme Tools selects its one user.
    assert "Deactivate 1 selected user?" in text_of(staff.get(bulk + "acme+tools", htmx=True))
    # The same for invitations: each organization has one pending.
    revoke = "/manage/invitations/bulk/revoke?matching=organization_name%3D"
    assert "No invitations selected" in text_of(staff.get(revoke + "acme", htmx=True))
    assert "Revoke 1 selected invitation?" in text_of(staff.get(revoke + "acme+works", htmx=True))


def test_select_all_matching_of_an_organization_gone_since_selects_nobody(
    app, staff, acme, make_user, make_sponsor, make_org
):
    """The page showed one organization's rows; the organization was deleted (or the id was
    never this sponsor's) before the action: it acts on no one, not on everyone."""
    make_user("someone@x.example", sponsor_id=staff.sponsor_id)
    gone = make_org(staff.sponsor_id, "Short Lived")
    assert staff.post(f"/partners/organizations/{gone}/delete").status_code == 302
    theirs = make_org(make_sponsor("Elsewhere"), "Zanzibar Freight")
    for organization in (gone, theirs):
        users = f"/manage/users/bulk/deactivate?matching=organization%3D{organization}"
        assert "No users selected" in text_of(staff.get(users, htmx=True))
        revoke = (
            f"/manage/invitations/bulk/revoke?matching=status%3Dall%26organization%3D{organization}"
        )
        assert "No invitations selected" in text_of(staff.get(revoke, htmx=True))


def test_another_sponsors_organization_is_no_filter(staff, acme, make_sponsor, make_org):
    theirs = make_org(make_sponsor("Elsewhere"), "Zanzibar Freight")
    response = staff.get(f"/manage/invitations?organization={theirs}")
    assert response.status_code == 200
    assert (
        field_error(response, "invitation-organization") == "Choose an organization from the list."
    )
    assert "Zanzibar" not in response.get_data(as_text=True)


# --- Create public link ----------------------------------------------------------------------


def links(app) -> list[tuple[int, UserType]]:
    with app.app_context():
        rows = db.session.execute(select(PublicLink.partner_organization_id, PublicLink.user_type))
        return [tuple(row) for row in rows]


def test_the_public_link_form_picks_its_organization_with_the_combobox(staff, acme):
    page = staff.get("/invite/public-links/new").get_data(as_text=True)
    assert element(page, 'input#organization[role="combobox"]') is not None
    assert text_of(page, 'label[for="organization"]') == "Organization"
    assert "Organization number" not in page and not elements(page, "select#organization")
    # Opened from an organization's page, that organization is chosen.
    page = staff.get(f"/invite/public-links/new?organization={acme['Acme Works']}")
    assert element(page, "#organization").get("value") == "Acme Works"
    assert element(page, "#organization-value").get("value") == str(acme["Acme Works"])


@pytest.mark.parametrize("by", ["id", "name"])
def test_a_link_is_made_for_the_picked_or_typed_organization(app, staff, acme, by):
    organization = (
        {"organization": acme["Acme Tools"]} if by == "id" else {"organization_name": "acme tools"}
    )
    answer = staff.post("/invite/public-links/new", {**organization, "user_type": "supervisor"})
    assert answer.status_code == 302
    assert links(app) == [(acme["Acme Tools"], UserType.SUPERVISOR)]


def test_a_name_that_picks_none_offers_the_candidates_and_makes_no_link(app, staff, acme):
    answer = staff.post(
        "/invite/public-links/new", {"organization_name": "acme", "user_type": "supervisor"}
    )
    assert answer.status_code == 422
    assert field_error(answer, "organization").startswith("No organization is named exactly")
    radios = elements(answer, 'input[type="radio"][name="organization_choice"]')
    assert sorted(r.get("value") for r in radios) == sorted(map(str, acme.values()))
    assert links(app) == []
    chosen = {"organization_name": "acme", "organization_choice": acme["Acme Works"]}
    answer = staff.post("/invite/public-links/new", {**chosen, "user_type": "supervisor"})
    assert answer.status_code == 302
    assert links(app) == [(acme["Acme Works"], UserType.SUPERVISOR)]


def test_an_empty_organization_is_refused_with_the_other_fields(app, staff):
    answer = staff.post("/invite/public-links/new", {"user_type": "staff"})
    assert answer.status_code == 422
    assert field_error(answer, "organization").startswith("Choose the organization")
    assert field_error(answer, "user_type").startswith("Choose a user type")
    assert links(app) == []


def test_an_archived_organization_gets_no_new_link(app, staff, make_org):
    closed = make_org(staff.sponsor_id, "Closed Works", OrganizationKind.EMPLOYER)
    with app.app_context():
        db.session.get(PartnerOrganization, closed).archived_at = utcnow()
        db.session.commit()
    answer = staff.post(
        "/invite/public-links/new", {"organization": closed, "user_type": "supervisor"}
    )
    assert answer.status_code == 422
    assert "Closed Works is archived" in field_error(answer, "organization")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PublicLink)) == 0
