"""Tables drawn as cards on a phone (scope.css, `.table.stacked`): every data cell names its
column in the header's own words (data-label, drawn beside the value), and every part of the
table says its role, so a screen reader still reads a table once CSS has changed its display.

The layout itself (cards inside 375 px, one-line names and dates at 1280 px) is checked in a
real browser by e2e/test_phone_tables.py.
"""

from __future__ import annotations

import io

import pytest
from lxml.html import HtmlElement

from scope.models import OrganizationKind, UserStatus, UserType
from tests.helpers import element, elements, fragment_elements

# Cells that need no drawn label: a row's checkbox and its Actions (or Remove) button say
# what they are in their accessible names.
UNLABELLED = ("cell-check", "cell-action")


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


def assert_cards(source, name: str) -> int:
    """The table captioned `name` is stacked, with its roles and a label on every data cell;
    returns how many data rows it has."""
    [table] = [t for t in elements(source, "table") if t.cssselect("caption")[0].text == name]
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
