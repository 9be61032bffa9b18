"""Tables drawn as cards on a phone (scope.css, `.table.stacked`): every data cell names its
column in the header's own words (data-label, drawn beside the value), and every part of the
table says its role, so a screen reader still reads a table once CSS has changed its display.

The layout itself (cards inside 375 px, one-line names and dates at 1280 px) is checked in a
real browser by e2e/test_phone_tables.py.
"""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from lxml.html import HtmlElement

from scope.extensions import db
from scope.models import (
    Invitation,
    InvitationState,
    MailMessage,
    MailState,
    OrganizationKind,
    PublicLink,
    PublicSignup,
    SignupState,
    User,
    UserStatus,
    UserType,
    utcnow,
)
from tests.helpers import element, elements, fragment_elements, login, texts

# Cells that need no drawn label: a row's checkbox, its Actions (or Remove) button and its
# buttons (Approve, Decline) say what they are in their accessible names.
UNLABELLED = ("cell-check", "cell-action", "cell-buttons")


def header_names(table: HtmlElement) -> list[str]:
    """The column headers as read, without the sort arrow."""
    return [
        " ".join(th.text_content().replace("▲", "").replace("▼", "").split())
        for th in table.cssselect("thead th")
    ]


def assert_row_cells_named(row: HtmlElement, headers: list[str]) -> None:
    assert row.get("role") == "row"
    cells = row.cssselect("td")
    assert len(cells) == len(headers), (headers, [c.text_content() for c in cells])
    for header, cell in zip(headers, cells, strict=True):
        assert cell.get("role") == "cell"
        if set(UNLABELLED) & set(cell.classes):
            assert cell.get("data-label") is None
        else:
            assert cell.get("data-label") == header, (header, cell.get("data-label"))


def table_name(table: HtmlElement) -> str:
    """What a screen reader calls the table: its caption, or the heading it is labelled by."""
    if table.get("aria-labelledby"):
        [heading] = table.getroottree().getroot().cssselect(f"#{table.get('aria-labelledby')}")
        return heading.text_content().strip()
    return table.cssselect("caption")[0].text


def assert_cards(source, name: str) -> int:
    """The table named `name` is stacked, with its roles and a label on every data cell;
    returns how many data rows it has."""
    [table] = [t for t in elements(source, "table") if table_name(t) == name]
    assert "stacked" in table.classes and table.get("role") == "table"
    assert [part.get("role") for part in table.cssselect("thead, tbody")] == ["rowgroup"] * 2
    [header_row] = table.cssselect("thead tr")
    assert header_row.get("role") == "row"
    assert {th.get("role") for th in table.cssselect("thead th")} == {"columnheader"}
    headers = header_names(table)
    rows = table.cssselect("tbody tr:not(.empty-row)")
    for row in rows:
        assert_row_cells_named(row, headers)
    for empty in table.cssselect("tbody tr.empty-row"):
        assert empty.get("role") == "row" and empty.cssselect("td")[0].get("role") == "cell"
    return len(rows)


@pytest.fixture
def sponsor_people(staff, make_user, make_org, occupation_id):
    sid = staff.sponsor_id
    beacon = make_org(sid, "Beacon Health")
    electrician = occupation_id(sid)
    maya = make_user(
        "maya.featherstonehaugh@beacon-health-partners.example.org",
        sponsor_id=sid,
        user_type=UserType.MENTOR,
        organization_id=beacon,
        occupation_id=electrician,
        first_name="Maya",
        last_name="Chen",
    )
    make_user(
        "",
        sponsor_id=sid,
        user_type=UserType.SUPERVISOR,
        status=UserStatus.MANAGED,
        organization_id=beacon,
        first_name="Nina",
        last_name="Noemail",
        with_password=False,
    )
    return {"beacon": beacon, "maya": maya}


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_users_rows_are_labelled_cards(staff, sponsor_people, htmx):
    response = staff.get("/manage/users", htmx=htmx)
    assert response.status_code == 200
    assert assert_cards(response, "Users") == 3  # Maya, Nina and the staff member
    maya = element(response, f"#user-{sponsor_people['maya']}")
    assert maya.cssselect("td[data-label='Status'] .badge")[0].text_content() == "Active"
    assert maya.cssselect("td.cell-email")[0].get("data-label") == "Email"
    # Names and dates are marked to keep to one line on wide screens.
    assert maya.cssselect("td.cell-name")[0].get("data-label") == "Name"
    assert [td.get("data-label") for td in maya.cssselect("td.cell-date")] == ["Last login"]


def test_a_user_row_redrawn_after_an_action_keeps_its_labels(staff, sponsor_people):
    page = staff.get("/manage/users")
    headers = header_names(element(page, "table"))
    response = staff.post(f"/manage/users/{sponsor_people['maya']}/deactivate", htmx=True)
    assert response.status_code == 200
    [row] = [e for e in fragment_elements(response) if e.tag == "tr"]
    assert_row_cells_named(row, headers)
    assert row.cssselect("td[data-label='Status'] .badge")[0].text_content() == "Deactivated"


def test_an_empty_users_search_is_a_row_with_its_roles(staff, sponsor_people):
    response = staff.get("/manage/users?q=nobody-matches-this", htmx=True)
    assert assert_cards(response, "Users") == 0
    assert "No users match" in element(response, "tr.empty-row td").text_content()


@pytest.fixture
def sent_invitations(staff, make_org):
    org = make_org(staff.sponsor_id, "Lakeshore College", OrganizationKind.PROVIDER)
    assert staff.post("/invite/external", {"organization": org}, htmx=True).status_code == 200
    for address in ("ana@lakeshore.example", "ben.featherstonehaugh@lakeshore.example"):
        row = {"user_type": "provider", "email": address}
        assert staff.post("/invite/external/rows", row, htmx=True).status_code == 200
    assert staff.post("/invite/external/send", htmx=True).status_code == 200


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_invitation_rows_are_labelled_cards(staff, sent_invitations, htmx):
    response = staff.get("/manage/invitations", htmx=htmx)
    assert response.status_code == 200
    assert assert_cards(response, "Pending invitations") == 2
    table = element(response, "table")
    assert [td.text_content() for td in table.cssselect("td[data-label='Status']")] == ["Sent"] * 2
    assert len(table.cssselect("td.cell-date[data-label='Sent'] time")) == 2
    assert len(table.cssselect("td[data-label='Delivery'] .badge")) == 2


def test_an_invitation_row_redrawn_after_resend_keeps_its_labels(staff, sent_invitations):
    page = staff.get("/manage/invitations")
    headers = header_names(element(page, "table"))
    row_id = element(page, "tbody tr[id^='invitation-']").get("id")
    response = staff.post(f"/manage/{row_id.replace('-', 's/')}/resend", htmx=True)
    assert response.status_code == 200
    [row] = [e for e in fragment_elements(response) if e.tag == "tr"]
    assert_row_cells_named(row, headers)
    assert "sent again" in row.cssselect("td.cell-email")[0].text_content()


def test_external_wizard_rows_are_labelled_cards(staff, make_org, occupation_id):
    org = make_org(staff.sponsor_id, "Keystone Electric")
    staff.post("/invite/external", {"organization": org}, htmx=True)
    electrician = occupation_id(staff.sponsor_id)
    rows = [
        {"user_type": "mentor", "email": "mentor@keystone.example", "occupation": electrician},
        {"user_type": "supervisor", "email": "supervisor@keystone.example"},
    ]
    for row in rows:
        response = staff.post("/invite/external/rows", row, htmx=True)
        assert response.status_code == 200
    assert assert_cards(response, "People to invite") == 2
    assert [td.text_content() for td in elements(response, "td[data-label='Occupation']")] == [
        "Electrician",
        "—",
    ]
    # The whole page draws the same table.
    assert assert_cards(staff.get("/invite/external/users"), "People to invite") == 2


def test_teammate_rows_are_labelled_cards(staff):
    response = staff.post("/invite/teammates/rows", {"email": "pat@riverbend.example"}, htmx=True)
    assert response.status_code == 200
    assert assert_cards(response, "People to invite") == 1
    assert [td.get("data-label") for td in elements(response, "td[data-label]")] == ["Email"]


def csv_upload(staff, text: str):
    return staff.post(
        "/invite/managed/upload",
        {"csv_file": (io.BytesIO(text.encode()), "people.csv")},
        htmx=True,
        content_type="multipart/form-data",
    )


def test_managed_wizard_rows_and_csv_problems_are_labelled_cards(staff, make_org):
    org = make_org(staff.sponsor_id, "Granite Mechanical")
    staff.post("/invite/managed/organization", {"organization": org}, htmx=True)
    header = "User type,First name,Last name,Email,Occupation\n"
    bad = csv_upload(staff, header + "Astronaut,Ana,Rivera,,\nMentor,Ben,Okafor,,\n")
    assert bad.status_code == 422
    assert assert_cards(bad, "Rows with problems") == 2
    lines = [td.text_content() for td in elements(bad, "td[data-label='Line']")]
    assert lines == ["2", "3"]
    assert all(td.text_content() for td in elements(bad, "td[data-label='Problem']"))

    good = csv_upload(staff, header + "Supervisor,Ana,Rivera,ana@granite.example,\n")
    assert good.status_code == 200
    assert assert_cards(good, "People to create") == 1
    names = elements(good, "td.cell-name")
    assert [td.get("data-label") for td in names] == ["First name", "Last name"]


# --- the other tables: partners, an organization's people, sign-ups, the mailbox -----------


def test_organization_rows_are_labelled_cards(staff, make_org):
    make_org(staff.sponsor_id, "Featherstonehaugh Precision Manufacturing")
    make_org(staff.sponsor_id, "Beacon Health")
    page = staff.get("/partners/employers")
    assert assert_cards(page, "Employers") == 2
    names = elements(page, "td.cell-name.cell-primary[data-label='Name'] a")
    assert [a.text_content() for a in names] == [
        "Beacon Health",
        "Featherstonehaugh Precision Manufacturing",
    ]
    # A blank field still fills its line on a card; the date keeps to one line.
    assert {td.text_content() for td in elements(page, "td[data-label='City']")} == {"—"}
    assert len(elements(page, "td.cell-date[data-label='Added'] time")) == 2
    # A search answers the same rows.
    assert assert_cards(staff.get("/partners/employers?q=beacon", htmx=True), "Employers") == 1


def test_an_organization_created_from_the_dialog_is_a_labelled_card(staff):
    response = staff.post("/partners/employers/new", {"name": "Keystone Electric"}, htmx=True)
    assert response.status_code == 200
    [row] = [e for e in fragment_elements(response) if e.tag == "tr"]
    headers = header_names(element(staff.get("/partners/employers"), "table"))
    assert_row_cells_named(row, headers)


def test_occupation_rows_are_labelled_cards(staff):
    page = staff.get("/partners/occupations")
    count = assert_cards(page, "Occupations")
    assert count > 0  # every sponsor starts with real occupations
    assert len(elements(page, "td.cell-primary[data-label='Name']")) == count


@pytest.fixture
def beacon_people(app, staff, sponsor_people):
    """Beacon Health's users, and a pending invitation to it."""
    with app.app_context():
        db.session.add(
            Invitation(
                sponsor_id=staff.sponsor_id,
                email="ben.featherstonehaugh@beacon-health-partners.example.org",
                pending_email="ben.featherstonehaugh@beacon-health-partners.example.org",
                user_type=UserType.SUPERVISOR,
                partner_organization_id=sponsor_people["beacon"],
                invited_by_id=staff.user_id,
                state=InvitationState.PENDING,
                nonce=uuid.uuid4().hex,
                sent_at=utcnow(),
                expires_at=utcnow() + timedelta(days=14),
                resend_count=0,
            )
        )
        db.session.commit()
    return sponsor_people["beacon"]


def test_an_organizations_users_and_invitations_are_labelled_cards(staff, beacon_people):
    page = staff.get(f"/partners/organizations/{beacon_people}")
    assert assert_cards(page, "Users") == 2
    assert texts(page, "td[data-label='Status'] .badge") == ["Active", "Managed", "Sent"]
    assert assert_cards(page, "Pending invitations") == 1
    [status] = elements(page, "section.organization-invitations td[data-label='Status']")
    assert status.text_content() == "Sent"
    assert len(elements(page, "td.cell-date[data-label='Sent'] time")) == 1


def test_my_organization_draws_the_same_cards(app, sponsor_people):
    with app.app_context():
        user = db.session.get(User, sponsor_people["maya"])
        user.user_type = UserType.ADMINISTRATOR
        db.session.commit()
    maya = login(app, "maya.featherstonehaugh@beacon-health-partners.example.org")
    assert assert_cards(maya.get("/my/organization"), "Users") == 2


def add_awaiting_signups(app, sponsor_id: int, organization_id: int, count: int) -> None:
    with app.app_context():
        link = PublicLink(
            sponsor_id=sponsor_id,
            partner_organization_id=organization_id,
            user_type=UserType.SUPERVISOR,
            nonce=uuid.uuid4().hex,
            require_approval=True,
        )
        db.session.add(link)
        db.session.flush()
        for n in range(count):
            email = f"dana.featherstonehaugh-{n}@beacon-health-partners.example.org"
            db.session.add(
                PublicSignup(
                    sponsor_id=sponsor_id,
                    public_link_id=link.id,
                    email=email,
                    pending_email=email,
                    first_name="Dana",
                    last_name=f"Reyes {n}",
                    state=SignupState.AWAITING_APPROVAL,
                    token_hash=uuid.uuid4().hex,
                    expires_at=utcnow() + timedelta(days=1),
                    confirmed_at=utcnow(),
                )
            )
        db.session.commit()


def test_sign_ups_awaiting_approval_are_labelled_cards(app, staff, sponsor_people):
    add_awaiting_signups(app, staff.sponsor_id, sponsor_people["beacon"], 2)
    response = staff.get("/manage/signups", htmx=True)
    assert response.status_code == 200
    assert assert_cards(response, "Awaiting approval") == 2
    assert texts(response, "td[data-label='Status']") == ["Awaiting approval"] * 2
    # Approve and Decline sit together on the card's last line.
    for cell in elements(response, "td.cell-buttons"):
        assert [b.text_content() for b in cell.cssselect("button")] == ["Approve", "Decline"]


def test_development_mailbox_rows_are_labelled_cards(app, staff):
    with app.app_context():
        for state in (MailState.QUEUED, MailState.DELIVERED):
            db.session.add(
                MailMessage(
                    sponsor_id=staff.sponsor_id,
                    kind="set_password",
                    recipient="maya.featherstonehaugh@beacon-health-partners.example.org",
                    subject="Set your Scope password",
                    body_text="Hello",
                    body_html="<p>Hello</p>",
                    state=state,
                    attempts=0,
                )
            )
        db.session.commit()
    page = staff.get("/mail/mailbox")
    assert assert_cards(page, "Messages") == 2
    assert texts(page, "td[data-label='State'] .badge") == ["In this mailbox", "Queued"]
    assert len(elements(page, "td.cell-date[data-label='Created'] time")) == 2
