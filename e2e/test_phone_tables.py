"""Tables on a phone: at 375 px every row of MANAGE → Users, MANAGE → Invitations, both wizards'
lists and the CSV problem table shows what matters (a status, an email, a line and its problem)
inside the screen, with no sideways scrolling; at 1280 px names and dates keep to one line.

Each test seeds 25 rows the quick way (the CLI's seed-demo, a pasted list, a CSV file), then
checks every row at both widths.
"""

from __future__ import annotations

import secrets

from helpers import OCCUPATION, create_employer, login, nav, pick_organization
from phone import (
    DESKTOP,
    PHONE,
    ROWS,
    TABLET,
    assert_fits_the_phone,
    assert_one_line,
    body_rows,
    long_email,
)
from playwright.sync_api import Page, expect


def test_users_on_a_phone(page: Page, server, shot):
    token = secrets.token_hex(3)
    email, password = f"sam-{token}@example.com", f"demo-{secrets.token_urlsafe(12)}"
    server.command(
        "seed-demo",
        "--sponsor",
        f"Phone Sponsor {token}",
        "--staff-email",
        email,
        "--staff-password",
        password,
        "--users",
        str(ROWS),
        "--invitations",
        "0",
        "--orgs",
        "4",
    )
    page.set_viewport_size(DESKTOP)
    login(page, email, password)
    nav(page).get_by_role("link", name="Manage").click()
    table = page.get_by_role("table", name="Users")
    # The seeded 25 and the staff member: a page of 25.
    expect(page.get_by_text(f"1–{ROWS} of {ROWS + 1}")).to_be_visible()
    shot(page, "users")
    assert_fits_the_phone(page, table, ["Name", "Email", "Organization", "Status"])
    assert_one_line(page, table.locator("td.cell-name a"), "names")
    assert_one_line(page, table.locator("td.cell-date time"), "dates")

    # Between a phone and a wide screen the table scrolls in its frame, each row's Actions
    # held in view at its right edge.
    page.set_viewport_size(TABLET)
    rights = table.get_by_role("button", name="Actions").evaluate_all(
        "buttons => buttons.map(b => b.getBoundingClientRect().right)"
    )
    assert len(rights) == ROWS and max(rights) <= TABLET["width"], rights
    frame = page.locator("#users")
    assert frame.evaluate("e => e.scrollWidth > e.clientWidth"), "nothing to scroll at 800 px"

    # The sort headers and a row's Actions still work on the phone.
    page.set_viewport_size(PHONE)
    table.get_by_role("link", name="Status").click()
    expect(table.get_by_role("columnheader", name="Status")).to_have_attribute(
        "aria-sort", "ascending"
    )
    first = body_rows(table).first
    actions = first.get_by_role("button", name="Actions")
    actions.click()
    menu = first.get_by_role("menu")
    expect(menu.get_by_role("menuitem", name="View profile")).to_be_focused()
    box = menu.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    shot(page, "users-menu-open")
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(actions).to_be_focused()
    # By keyboard: Shift+Tab goes back through the card (its name, its checkbox), ArrowDown
    # opens the menu again, Enter follows the item.
    page.keyboard.press("Shift+Tab")
    expect(first.get_by_role("link")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(first.get_by_role("checkbox")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(actions).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("menuitem", name="View profile")).to_be_focused()
    name = first.get_by_role("link").inner_text()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=name)).to_be_visible()


def test_external_wizard_and_invitations_on_a_phone(page: Page, staff, mail, shot):
    token = secrets.token_hex(3)
    page.set_viewport_size(DESKTOP)
    login(page, staff.email, staff.password)
    organization = f"Featherstonehaugh Precision Manufacturing {token}"
    create_employer(page, organization, shot)
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("link", name="Invite External Users").click()
    pick_organization(page, organization)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("User type").select_option(label="Mentor")
    page.get_by_label("Occupation").select_option(label=OCCUPATION)
    page.get_by_text("Paste many addresses at once").click()
    addresses = [long_email(n, token) for n in range(ROWS)]
    page.get_by_label("Addresses").fill("\n".join(addresses))
    page.get_by_role("button", name="Add addresses").click()
    expect(page.get_by_text(f"{ROWS} people added.")).to_be_visible()
    people = page.get_by_role("table", name="People to invite")
    shot(page, "external-rows")
    assert_fits_the_phone(page, people, ["User type", "Email", "Occupation"])
    for address in addresses:
        expect(people.get_by_role("row").filter(has_text=address)).to_contain_text("Mentor")

    page.get_by_role("button", name="Send Invitations").click()
    expect(page.get_by_text(f"{ROWS} invitations sent.")).to_be_visible()
    mail.wait_for(count=ROWS, timeout=60)
    nav(page).get_by_role("link", name="Manage").click()
    page.get_by_role("tab", name="Invitations").click()
    table = page.get_by_role("table", name="Pending invitations")
    expect(body_rows(table)).to_have_count(ROWS)
    # Delivery is shown once the mail server has taken every message.
    expect(table.locator("td[data-label='Delivery']").filter(has_text="Delivered")).to_have_count(
        ROWS, timeout=30_000
    )
    page.reload()
    shot(page, "invitations")
    assert_fits_the_phone(
        page, table, ["Email", "User type", "Organization", "Sent", "Status", "Delivery"]
    )
    assert_one_line(page, table.locator("td.cell-date time"), "dates")
    assert_one_line(page, table.locator("td.cell-name"), "names of who invited")


def test_managed_wizard_and_csv_problems_on_a_phone(page: Page, staff, shot):
    token = secrets.token_hex(3)
    page.set_viewport_size(DESKTOP)
    login(page, staff.email, staff.password)
    organization = f"Lakeshore Builders {token}"
    create_employer(page, organization, shot)
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("tab", name="Managed").click()
    page.get_by_role("link", name="Get Started").click()
    pick_organization(page, organization)
    page.get_by_role("button", name="Continue").click()
    header = "User type,First name,Last name,Email,Occupation"

    # A file whose every line is refused: the problem table lists all 25.
    bad = [header] + [
        f"Astronaut,Bartholomew{n},Featherstonehaugh-Worthington,{long_email(n, 'x' + token)},"
        for n in range(ROWS)
    ]
    page.get_by_text("Add many people from a CSV file").click()
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": "\n".join(bad).encode()}]
    )
    page.get_by_role("button", name="Check file").click()
    expect(page.get_by_text(f"{ROWS} of {ROWS} rows in bad.csv have problems")).to_be_visible()
    problems = page.get_by_role("table", name="Rows with problems")
    shot(page, "csv-problems")
    assert_fits_the_phone(page, problems, ["Line", "Problem"])

    good = [header] + [
        f"Mentor,Bartholomew{n},Featherstonehaugh-Worthington,{long_email(n, token)},{OCCUPATION}"
        for n in range(ROWS)
    ]
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "good.csv", "mimeType": "text/csv", "buffer": "\n".join(good).encode()}]
    )
    page.get_by_role("button", name="Check file").click()
    expect(page.get_by_text(f"{ROWS} people added from good.csv")).to_be_visible()
    people = page.get_by_role("table", name="People to create")
    shot(page, "managed-rows")
    assert_fits_the_phone(
        page, people, ["User type", "First name", "Last name", "Email", "Occupation"]
    )
    assert_one_line(page, people.locator("td.cell-name"), "names")

    # Created, they fill MANAGE → Users with long names and addresses.
    page.get_by_role("button", name="Create Users +").click()
    expect(page.get_by_text(f"{ROWS} managed users created.")).to_be_visible()
    nav(page).get_by_role("link", name="Manage").click()
    table = page.get_by_role("table", name="Users")
    table.get_by_role("link", name="Email").click()  # the staff member sorts last
    expect(table.get_by_role("columnheader", name="Email")).to_have_attribute(
        "aria-sort", "ascending"
    )
    shot(page, "users-long-addresses")
    assert_fits_the_phone(page, table, ["Name", "Email", "Occupation", "Status"])
    assert_one_line(page, table.locator("td.cell-name a"), "names")
