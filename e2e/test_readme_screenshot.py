"""The demo data a newcomer gets from `flask seed-demo`, seen on the Employers page.

With SCOPE_UPDATE_README_SCREENSHOTS=1 (or the older SCOPE_UPDATE_README_SCREENSHOT=1) this
also writes docs/screenshot.png for the README; conftest.py copies the README's other
screenshots from the same run.
"""

import os
import secrets
from pathlib import Path

from playwright.sync_api import Page, expect

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_demo_employers_page(page: Page, server, login, shot):
    email = f"sam-{secrets.token_hex(3)}@example.com"
    password = f"demo-{secrets.token_urlsafe(12)}"
    output = server.command(
        "seed-demo",
        "--sponsor",
        "Riverbend Apprenticeship Alliance",
        "--staff-email",
        email,
        "--staff-password",
        password,
    )
    assert f"Staff login: {email} / {password}" in output

    login(page, email, password)
    page.goto("/partners/employers")
    expect(page.get_by_role("heading", name="Employers", exact=True)).to_be_visible()
    table = page.get_by_role("table", name="Employers")
    expect(table.get_by_role("row").nth(3)).to_be_visible()
    shot(page, "employers")

    if "1" in (
        os.environ.get("SCOPE_UPDATE_README_SCREENSHOTS"),
        os.environ.get("SCOPE_UPDATE_README_SCREENSHOT"),
    ):
        page.set_viewport_size({"width": 1280, "height": 760})
        page.screenshot(path=REPO_ROOT / "docs" / "screenshot.png")
