"""What the phone-table tests check on every table: at 375 px its rows are cards inside the
screen (no sideways scrolling), a screen reader still reads a table, and at 1280 px names and
dates keep to one line. Lists of cards (public links, notices) are checked item by item."""

from __future__ import annotations

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


def assert_fits_the_phone(page: Page, table: Locator, labels: list[str], rows: int = ROWS) -> None:
    """Every row's cells named by `labels` are visible and lie inside 0..375 px, and neither
    the page nor the table's frame scrolls sideways; the table has `rows` rows."""
    page.set_viewport_size(PHONE)
    try:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width} px wide at 375 px"
        frame = table.locator("xpath=ancestor::*[contains(@class, 'table-wrap')][1]")
        scroll, client = frame.evaluate("e => [e.scrollWidth, e.clientWidth]")
        assert scroll <= client, f"the table scrolls sideways: {scroll} px in {client} px"
        count = rows
        rows = body_rows(table)
        expect(rows).to_have_count(count)
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


def assert_items_fit_the_phone(page: Page, items: Locator, key: str, count: int = ROWS) -> None:
    """A list of cards at 375 px: each of the `count` items shows its `key` part (a CSS
    selector inside it: a status, a notice's text) visible and inside 0..375 px, and the page
    does not scroll sideways."""
    page.set_viewport_size(PHONE)
    try:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width} px wide at 375 px"
        expect(items).to_have_count(count)
        boxes = items.evaluate_all(
            """(items, key) => items.map(item => {
                   const part = item.querySelector(key);
                   if (!part) { return null; }
                   const box = part.getBoundingClientRect();
                   return {
                     text: part.innerText.trim(),
                     visible: part.checkVisibility({visibilityProperty: true}),
                     left: box.left,
                     right: box.right,
                   };
               })""",
            key,
        )
        for n, box in enumerate(boxes, 1):
            assert box is not None, f"item {n}: no {key}"
            assert box["visible"] and box["text"], f"item {n}, {key}: not shown ({box})"
            assert box["left"] >= 0 and box["right"] <= PHONE["width"], f"item {n}: {box}"
    finally:
        page.set_viewport_size(DESKTOP)
