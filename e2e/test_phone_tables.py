"""Tables on a phone: at 375 px every row of MANAGE → Users, MANAGE → Invitations, both wizards'
lists and the CSV problem table shows what matters (a status, an email, a line and its problem)
inside the screen, with no sideways scrolling; at 1280 px names and dates keep to one line.

Each test seeds 25 rows the quick way (the CLI's seed-demo, a pasted list, a CSV file), then
checks every row at both widths.
"""

from __future__ import annotations

import secrets

from helpers import OCCUPATION, create_employer, login, nav
from playwright.sync_api import Locator, Page, expect

PHONE = {"width": 375, "height": 812}
TABLET = {"width": 800, "height": 900}
DESKTOP = {"width": 1280, "height": 900}
ROWS = 25


def long_email(n: int, token: str) -> str:
    """An address as long as real ones get, which a narrow column must wrap, not cut."""
    return f"maximiliana.featherstonehaugh-{n}.{token}@apprenticeship-partners.example.org"


def body_rows(table: Locator) -> Locator:
    """The table's data rows (not its header row, not the hidden "nothing here" row)."""
    return table.locator("tbody > tr:not(.empty-row)")


def cell(row: Locator, label: str) -> Locator:
    return row.locator(f"td[data-label='{label}']")


def assert_fits_the_phone(page: Page, table: Locator, labels: list[str]) -> None:
    """Every row's cells named by `labels` are visible and lie inside 0..375 px, and neither
    the page nor the table's frame scrolls sideways."""
    page.set_viewport_size(PHONE)
    try:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width} px wide at 375 px"
        frame = table.locator("xpath=ancestor::div[contains(@class, 'table-wrap')][1]")
        scroll, client = frame.evaluate("e => [e.scrollWidth, e.clientWidth]")
        assert scroll <= client, f"the table scrolls sideways: {scroll} px in {client} px"
        rows = body_rows(table)
        expect(rows).to_have_count(ROWS)
        # One round trip for every box: 25 rows times their cells.
        boxes = rows.evaluate_all(
            """(rows, labels) => rows.map(row => labels.map(label => {
                   const cell = row.querySelector(`td[data-label="${label}"]`);
                   if (!cell) { return null; }
                   const parts = [cell, ...cell.querySelectorAll("*")];
                   const boxes = parts.map(e => e.getBoundingClientRect()).filter(b => b.width);
                   return {
                     text: cell.innerText.trim(),
                     visible: cell.checkVisibility({visibilityProperty: true}),
                     left: Math.min(...boxes.map(b => b.left)),
                     right: Math.max(...boxes.map(b => b.right)),
                   };
               }))""",
            labels,
        )
        # A drawn label never runs into the next one: an empty cell is still a line high.
        short = rows.evaluate_all(
            """rows => rows.flatMap(row => [...row.querySelectorAll("td[data-label]")]
                   .filter(cell => cell.getBoundingClientRect().height + 0.5 <
                       parseFloat(getComputedStyle(cell, "::before").lineHeight))
                   .map(cell => cell.dataset.label))"""
        )
        assert not short, f"cells lower than their label: {short}"
        for n, row in enumerate(boxes, 1):
            for label, box in zip(labels, row, strict=True):
                where = f"row {n}, {label}"
                assert box is not None, f"{where}: no such cell"
                assert box["visible"] and box["text"], f"{where}: not shown ({box})"
                assert box["left"] >= 0 and box["right"] <= PHONE["width"], f"{where}: {box}"
        assert_read_as_a_table(page, len(labels))
    finally:
        page.set_viewport_size(DESKTOP)


def assert_read_as_a_table(page: Page, labels: int) -> None:
    """Chromium's own accessibility tree (what a screen reader is given) still holds a table of
    rows, column headers and cells, and a cell's name is its value, not its drawn label too."""
    session = page.context.new_cdp_session(page)
    try:
        nodes = session.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        session.detach()
    roles: dict[str, list[str]] = {}
    for node in nodes:
        if not node.get("ignored"):
            name = node.get("name", {}).get("value", "")
            roles.setdefault(node["role"]["value"], []).append(name)
    assert roles.get("table"), "no table in the accessibility tree"
    assert len(roles.get("row", [])) > ROWS, roles.get("row")
    assert roles.get("columnheader"), "no column headers in the accessibility tree"
    assert len(roles.get("cell", [])) >= ROWS * labels, len(roles.get("cell", []))
    drawn = ("Email", "Status", "Occupation", "Problem")
    assert not [name for name in roles["cell"] if name.startswith(drawn)], roles["cell"][:12]


def assert_one_line(page: Page, locator: Locator, what: str) -> None:
    """At 1280 px each element (a name's link, a date's <time>) is drawn on a single line."""
    page.set_viewport_size(DESKTOP)
    lines = locator.evaluate_all("elements => elements.map(e => e.getClientRects().length)")
    assert lines, f"no {what} to check"
    assert set(lines) == {1}, f"{what} wrap onto several lines: {lines}"


def test_users_on_a_phone(page: Page, server, shot):
    token = secrets.token_hex(3)
    email, password = f"sam-{token}@example.com", f"demo-{secrets.token_urlsafe(12)}"
    server.flask(
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
    page.get_by_label("Employer").select_option(label=organization)
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
    page.get_by_label("Employer").select_option(label=organization)
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
