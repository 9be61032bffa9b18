"""PARTNERS: employers, providers and occupations, driven the way staff use them."""

import re
import secrets

import pytest
from playwright.sync_api import Locator, Page, expect


def open_partners(page: Page, item: str) -> None:
    """PARTNERS → `item` from the blue navigation bar."""
    page.get_by_role("navigation", name="Main").get_by_role("button", name="Partners").click()
    page.get_by_role("menuitem", name=item).click()
    expect(page.get_by_role("heading", name=item, exact=True)).to_be_visible()


def mark_window(page: Page) -> None:
    """A marker that only survives as long as the page is not loaded again."""
    page.evaluate("window.__noReload = 'still here'")


def organization_links(table: Locator) -> Locator:
    """The organization names in the table's cells (not its sort headers)."""
    return table.get_by_role("cell").get_by_role("link")


def expect_no_reload(page: Page) -> None:
    assert page.evaluate("window.__noReload") == "still here", "the page was loaded again"


KINDS = {
    # kind: (PARTNERS menu item, also the table's name; dialog title; an example name)
    "employer": ("Employers", "New Employer", "Acme Welding"),
    "provider": ("Providers", "New Education Provider", "Lakeside College"),
}


@pytest.mark.parametrize("kind", KINDS)
def test_create_organization_in_a_dialog_without_reloading(staff_page: Page, shot, kind):
    item, dialog_name, example = KINDS[kind]
    page = staff_page
    open_partners(page, item)
    table = page.get_by_role("table", name=item)
    expect(table.get_by_text("yet. Click CREATE+")).to_be_visible()
    shot(page, "empty-table")
    mark_window(page)

    # An empty Name is refused inside the dialog, and nothing is added.
    page.get_by_role("link", name="Create+").click()
    dialog = page.get_by_role("dialog", name=dialog_name)
    expect(dialog).to_be_visible()
    name = dialog.get_by_label("Name", exact=True)
    expect(name).to_be_focused()
    shot(page, "dialog")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Please correct the fields")
    expect(dialog.get_by_text("Enter the organization's name.")).to_be_visible()
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(dialog).to_be_visible()
    expect(organization_links(table)).to_have_count(0)
    shot(page, "dialog-name-required")

    # Now a real one: the row appears at once, the dialog closes, the page stays.
    org_name = (
        f"{'Acme Welding' if item == 'Employers' else 'Lakeside College'} {secrets.token_hex(2)}"
    )
    name.fill(org_name)
    dialog.get_by_label("City").fill("Dayton")
    dialog.get_by_label("State").fill("oh")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_have_count(0)
    row = table.get_by_role("row").filter(has=page.get_by_role("link", name=org_name))
    expect(row).to_be_visible()
    expect(row).to_contain_text("Dayton")
    expect(row).to_contain_text("OH")
    expect(table.get_by_text("yet. Click CREATE+")).to_be_hidden()
    expect_no_reload(page)
    shot(page, "created")

    # The same name, in other capitals, is refused in the dialog.
    page.get_by_role("link", name="Create+").click()
    dialog = page.get_by_role("dialog", name=dialog_name)
    dialog.get_by_label("Name", exact=True).fill(org_name.upper())
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_text("already exists")).to_be_visible()
    shot(page, "duplicate-name")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(organization_links(table)).to_have_count(1)
    expect_no_reload(page)

    # It is really stored: still there after a reload.
    page.reload()
    table = page.get_by_role("table", name=item)
    expect(organization_links(table)).to_have_text([org_name])
    shot(page, "after-reload")


def test_edit_an_employer_in_place(staff_page: Page, shot):
    page = staff_page
    open_partners(page, "Employers")
    org_name = f"Riverside Plumbing {secrets.token_hex(2)}"
    page.get_by_role("link", name="Create+").click()
    dialog = page.get_by_role("dialog", name="New Employer")
    dialog.get_by_label("Name", exact=True).fill(org_name)
    dialog.get_by_label("City").fill("Akron")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_have_count(0)
    shot(page, "created")

    page.get_by_role("table", name="Employers").get_by_role("link", name=org_name).click()
    expect(page.get_by_role("heading", name=org_name)).to_be_visible()
    details = page.get_by_role("region", name="Employer details")
    expect(details).to_contain_text("Akron")
    expect(page.get_by_role("region", name="Users")).to_contain_text(
        "No users at this organization"
    )
    shot(page, "organization")
    mark_window(page)

    page.get_by_role("link", name="Edit").click()
    city = page.get_by_label("City")
    expect(city).to_have_value("Akron")
    expect(page.get_by_label("Name", exact=True)).to_have_value(org_name)
    shot(page, "editing")

    # A bad value is refused beside its field, the rest of the form is kept.
    city.fill("Cleveland")
    page.get_by_label("ZIP code").fill("441")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Enter a 5-digit ZIP code")).to_be_visible()
    expect(city).to_have_value("Cleveland")
    shot(page, "edit-error")

    page.get_by_label("ZIP code").fill("44114")
    page.get_by_label("Primary contact name").fill("Dana Reyes")
    page.get_by_role("button", name="Save").click()
    details = page.get_by_role("region", name="Employer details")
    expect(details).to_contain_text("Cleveland")
    expect(details).to_contain_text("44114")
    expect(details).to_contain_text("Dana Reyes")
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    expect_no_reload(page)
    shot(page, "saved")

    page.reload()
    details = page.get_by_role("region", name="Employer details")
    expect(details).to_contain_text("Cleveland")
    expect(details).to_contain_text("Dana Reyes")
    shot(page, "after-reload")

    page.get_by_role("link", name="Employers").first.click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=org_name))
    expect(row).to_contain_text("Cleveland")
    expect(row).to_contain_text("Dana Reyes")
    shot(page, "employers-updated")


def test_search_as_you_type_keeps_the_address_and_back_restores(staff_page: Page, shot):
    page = staff_page
    open_partners(page, "Employers")
    suffix = secrets.token_hex(2)
    names = [f"Harbor Electric {suffix}", f"Granite Masonry {suffix}", f"Hillside HVAC {suffix}"]
    for org_name in names:
        page.get_by_role("link", name="Create+").click()
        dialog = page.get_by_role("dialog", name="New Employer")
        dialog.get_by_label("Name", exact=True).fill(org_name)
        dialog.get_by_role("button", name="Save").click()
        expect(dialog).to_have_count(0)
    page.reload()
    table = page.get_by_role("table", name="Employers")
    expect(organization_links(table)).to_have_count(3)
    shot(page, "three-employers")
    mark_window(page)

    search = page.get_by_role("searchbox", name="Search employers")
    search.press_sequentially("granite", delay=40)
    expect(page).to_have_url(re.compile(r"[?&]q=granite(&|$)"))
    expect(organization_links(table)).to_have_count(1)
    expect(table.get_by_role("link", name=names[1])).to_be_visible()
    expect_no_reload(page)
    shot(page, "filtered")

    search.fill("nothing like it")
    expect(page.get_by_text("No employers match")).to_be_visible()
    expect(organization_links(table)).to_have_count(0)
    shot(page, "no-match")

    page.go_back()
    expect(page).to_have_url(re.compile(r"[?&]q=granite(&|$)"))
    expect(organization_links(table)).to_have_count(1)
    expect(table.get_by_role("link", name=names[1])).to_be_visible()
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"q="))
    expect(organization_links(table)).to_have_count(3)
    shot(page, "back-to-all")

    # Opening the filtered address directly shows the same thing.
    page.goto("/partners/employers?q=HILLSIDE")
    table = page.get_by_role("table", name="Employers")
    expect(organization_links(table)).to_have_count(1)
    expect(table.get_by_role("link", name=names[2])).to_be_visible()
    expect(page.get_by_role("searchbox", name="Search employers")).to_have_value("HILLSIDE")
    shot(page, "opened-with-a-search")


def test_add_an_occupation(staff_page: Page, shot):
    page = staff_page
    open_partners(page, "Occupations")
    table = page.get_by_role("table", name="Occupations")
    # A new sponsor starts with a few common occupations.
    expect(table.get_by_role("row").filter(has_text="Electrician")).to_have_count(1)
    expect(table.get_by_role("row").filter(has_text="Wind Turbine Technician")).to_have_count(0)
    shot(page, "starter-occupations")
    mark_window(page)

    page.get_by_role("button", name="Add occupation").click()
    expect(page.get_by_text("Enter the occupation's name.")).to_be_visible()
    shot(page, "name-required")

    page.get_by_label("Name", exact=True).fill("Wind Turbine Technician")
    page.get_by_label("RAPIDS code").fill("1089")
    page.get_by_label("O*NET-SOC code").fill("49-9081.00")
    page.get_by_role("button", name="Add occupation").click()
    row = table.get_by_role("row").filter(has_text="Wind Turbine Technician")
    expect(row).to_contain_text("1089")
    expect(row).to_contain_text("49-9081.00")
    expect(page.get_by_label("Name", exact=True)).to_have_value("")
    expect(page.get_by_text("Enter the occupation's name.")).to_have_count(0)
    expect_no_reload(page)
    shot(page, "added")

    # Names are unique in a sponsor, whatever the capitals.
    page.get_by_label("Name", exact=True).fill("ELECTRICIAN")
    page.get_by_role("button", name="Add occupation").click()
    expect(page.get_by_text("already exists")).to_be_visible()
    expect(table.get_by_role("row").filter(has_text="Electrician")).to_have_count(1)
    shot(page, "duplicate")

    page.reload()
    table = page.get_by_role("table", name="Occupations")
    expect(table.get_by_role("row").filter(has_text="Wind Turbine Technician")).to_have_count(1)
