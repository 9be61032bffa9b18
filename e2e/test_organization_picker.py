"""The organization pickers by keyboard: the INVITE wizard's Employer (type, arrows, Enter,
CONTINUE; Create employer “…”) and MANAGE → Users' Organization filter.

Each test is a staff member of a new sponsor, driving the pages by their visible labels.
"""

from __future__ import annotations

import re
import secrets

from helpers import create_employer, nav, pick_organization
from playwright.sync_api import Locator, Page, expect


def tab_to(page: Page, locator: Locator, limit: int = 60) -> None:
    locator.wait_for(state="visible")
    for _ in range(limit):
        if locator.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{locator} never got the focus in {limit} presses")


def active_option(page: Page, box: Locator) -> Locator:
    return page.locator(f"#{box.get_attribute('aria-activedescendant')}")


def test_employer_combobox_by_keyboard_only(staff_page: Page, shot):
    page = staff_page
    token = secrets.token_hex(2)
    tools, marine, old = (
        f"Northwind Tools {token}",
        f"Northwind Marine {token}",
        f"Old Northwind {token}",
    )
    for name in (old, tools, marine):
        create_employer(page, name, shot)
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("link", name="Invite External Users").click()

    box = page.get_by_role("combobox", name="Employer")
    expect(box).to_be_focused()
    expect(box).to_have_attribute("aria-expanded", "false")
    page.keyboard.type("northwind")
    listbox = page.get_by_role("listbox", name="Employer")
    options = listbox.get_by_role("option")
    # Names that start with it, then a word that does, then the offer to create.
    expect(options).to_have_text(
        [
            f"{marine} Employer",
            f"{tools} Employer",
            f"{old} Employer",
            "Create employer “northwind”",
        ]
    )
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("status").filter(has_text="4 choices below.")).to_be_attached()

    page.keyboard.press("ArrowDown")
    expect(active_option(page, box)).to_have_attribute("data-label", marine)
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("End")
    expect(active_option(page, box)).to_have_text("Create employer “northwind”")
    page.keyboard.press("Home")
    expect(active_option(page, box)).to_have_attribute("data-label", marine)
    page.keyboard.press("ArrowUp")  # from the first to the last
    expect(active_option(page, box)).to_have_text("Create employer “northwind”")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(active_option(page, box)).to_have_attribute("data-label", tools)
    shot(page, "employer-options")

    page.keyboard.press("Escape")  # closes the list, keeps the text
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(listbox).to_be_hidden()
    expect(box).to_have_value("northwind")
    page.keyboard.press("ArrowDown")  # opens it again on the first
    expect(box).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowDown")
    expect(active_option(page, box)).to_have_attribute("data-label", tools)
    page.keyboard.press("Enter")
    expect(box).to_have_value(tools)
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).not_to_have_attribute("aria-activedescendant", re.compile(".*"))

    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Continue")).to_be_focused()
    page.keyboard.press("Enter")
    wizard = page.get_by_role("region", name="Invite External Users")
    expect(wizard).to_contain_text(f"Organization: {tools}")
    shot(page, "employer-chosen")

    # Change: the picker shows the organization chosen.
    wizard.get_by_role("link", name="Change").click()
    expect(page.get_by_role("combobox", name="Employer")).to_have_value(tools)


def test_create_employer_from_the_wizard(staff_page: Page, shot):
    page = staff_page
    name = f"Prairie Welding {secrets.token_hex(2)}"
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("tablist", name="Kind of account").get_by_role("tab", name="Managed").click()
    page.get_by_role("link", name="Get Started").click()
    box = page.get_by_role("combobox", name="Employer")
    expect(box).to_be_focused()
    page.keyboard.type(name)
    create = page.get_by_role("option", name=f"Create employer “{name}”")
    expect(create).to_be_visible()
    shot(page, "create-employer-offered")
    page.keyboard.press("ArrowDown")
    expect(create).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    expect(box).to_have_value(name)
    page.get_by_role("button", name="Continue").click()
    wizard = page.get_by_role("region", name="Add Managed Users")
    expect(wizard).to_contain_text(f"Organization: {name}")
    shot(page, "create-employer-chosen")

    # It is an employer like any other, created once: the picker now finds it, no offer.
    nav(page).get_by_role("button", name="Partners").click()
    page.get_by_role("menuitem", name="Employers").click()
    employers = page.get_by_role("table", name="Employers")
    expect(employers.get_by_role("link", name=name)).to_have_count(1)
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("link", name="Invite External Users").click()
    page.get_by_role("combobox", name="Employer").fill(name.upper())
    options = page.get_by_role("listbox", name="Employer").get_by_role("option")
    expect(options).to_have_text([f"{name} Employer"])


def add_managed_user(page: Page, organization: str, first: str, last: str) -> None:
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("tablist", name="Kind of account").get_by_role("tab", name="Managed").click()
    page.get_by_role("link", name="Get Started").click()
    change = page.get_by_role("link", name="Change")
    if change.count():
        change.click()
    pick_organization(page, organization)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text(f"Organization: {organization}")).to_be_visible()
    page.get_by_label("User type").select_option(label="Supervisor")
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.get_by_role("button", name="Add+").click()
    rows = page.get_by_role("table", name="People to create").get_by_role("row")
    expect(rows.filter(has_text=last)).to_be_visible()
    page.get_by_role("button", name="Create Users +").click()
    expect(page.get_by_text("1 managed user created.")).to_be_visible()


def test_manage_users_organization_filter_by_keyboard(staff_page: Page, shot):
    page = staff_page
    token = secrets.token_hex(2)
    granite, harbor = f"Granite Mechanical {token}", f"Harbor Clinic {token}"
    for name in (granite, harbor):
        create_employer(page, name, shot)
    add_managed_user(page, granite, "Gina", f"Stone{token}")
    add_managed_user(page, harbor, "Hal", f"Pier{token}")

    nav(page).get_by_role("link", name="Manage").click()
    table = page.get_by_role("table", name="Users")
    expect(table).to_contain_text(f"Stone{token}")
    expect(table).to_contain_text(f"Pier{token}")
    box = page.get_by_role("combobox", name="Organization")
    tab_to(page, box)
    page.keyboard.type("clinic")
    options = page.get_by_role("listbox", name="Organization").get_by_role("option")
    expect(options).to_have_text([f"{harbor} Employer"])  # no offer to create here
    shot(page, "organization-filter-options")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(box).to_have_value(harbor)
    expect(table).not_to_contain_text(f"Stone{token}")
    expect(table).to_contain_text(f"Pier{token}")
    expect(page).to_have_url(re.compile(r"[?&]organization=\d+"))
    shot(page, "organization-filter-chosen")

    # Reload keeps the filter and its name in the box.
    page.reload()
    expect(page.get_by_role("combobox", name="Organization")).to_have_value(harbor)
    expect(page.get_by_role("table", name="Users")).not_to_contain_text(f"Stone{token}")

    # Escape on a closed list clears the box: everyone again.
    box = page.get_by_role("combobox", name="Organization")
    tab_to(page, box)
    page.keyboard.press("Escape")
    expect(box).to_have_value("")
    expect(page.get_by_role("table", name="Users")).to_contain_text(f"Stone{token}")

    # ArrowDown in the empty box opens the list (names in order) on its first option.
    page.keyboard.press("ArrowDown")
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(active_option(page, box)).to_have_attribute("data-label", granite)
    page.keyboard.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")


def test_an_answer_arriving_after_a_pick_leaves_the_list_closed(staff_page: Page, shot):
    """A pick from the options shown while a newer search is still on its way: that answer
    arrives to a box already decided, and the list stays closed over CONTINUE."""
    page = staff_page
    name = f"Quarry Tools {secrets.token_hex(2)}"
    create_employer(page, name, shot)
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("link", name="Invite External Users").click()
    box = page.get_by_role("combobox", name="Employer")
    expect(box).to_be_focused()
    page.keyboard.type("quarry")
    expect(page.get_by_role("option", name=f"{name} Employer")).to_be_visible()

    newer = re.compile(r"/organizations/search\?.*quarry(\+|%20)t")
    held = []
    page.route(newer, lambda route: held.append(route))
    with page.expect_request(newer):
        page.keyboard.type(" t")
    page.keyboard.press("ArrowDown")  # the options of "quarry", still shown
    page.keyboard.press("Enter")
    expect(box).to_have_value(name)
    expect(box).to_have_attribute("aria-expanded", "false")

    with page.expect_response(re.compile(r"/organizations/search\?")):
        held[0].continue_()
    page.unroute(newer)
    page.wait_for_timeout(100)  # the answer's swap would run now
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("listbox", name="Employer")).to_be_hidden()
    shot(page, "late-answer-after-pick")
    page.get_by_role("button", name="Continue").click()
    wizard = page.get_by_role("region", name="Invite External Users")
    expect(wizard).to_contain_text(f"Organization: {name}")


def test_an_answer_arriving_after_a_highlight_keeps_it(staff_page: Page, shot):
    """The person highlights an option while the answer to their last keys is on its way:
    that answer, still offering the option, keeps it highlighted, and Enter picks it."""
    page = staff_page
    name = f"Ridge Tools {secrets.token_hex(2)}"
    create_employer(page, name, shot)
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("link", name="Invite External Users").click()
    box = page.get_by_role("combobox", name="Employer")
    expect(box).to_be_focused()
    page.keyboard.type("ridge")
    option = page.get_by_role("option", name=f"{name} Employer")
    expect(option).to_be_visible()

    newer = re.compile(r"/organizations/search\?.*ridge(\+|%20)t")
    held = []
    page.route(newer, lambda route: held.append(route))
    with page.expect_request(newer):
        page.keyboard.type(" t")
    page.keyboard.press("ArrowDown")  # the options of "ridge", still shown
    expect(option).to_have_attribute("aria-selected", "true")

    with page.expect_response(re.compile(r"/organizations/search\?")):
        held[0].continue_()
    page.unroute(newer)
    listbox = page.get_by_role("listbox", name="Employer")
    expect(listbox.get_by_role("option").last).to_have_text("Create employer “ridge t”")
    expect(option).to_have_attribute("aria-selected", "true")
    expect(active_option(page, box)).to_have_text(f"{name} Employer")
    shot(page, "answer-after-highlight")
    page.keyboard.press("Enter")
    expect(box).to_have_value(name)
    page.get_by_role("button", name="Continue").click()
    wizard = page.get_by_role("region", name="Invite External Users")
    expect(wizard).to_contain_text(f"Organization: {name}")


def test_a_highlighted_create_option_is_not_carried_to_another_name(staff_page: Page, shot):
    """ "Create employer “x”" highlighted while the answer for more keys is on its way is not
    the newer answer's "Create employer “x y”": Enter must not create a name never chosen."""
    page = staff_page
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("link", name="Invite External Users").click()
    box = page.get_by_role("combobox", name="Employer")
    expect(box).to_be_focused()
    typed = f"zq{secrets.token_hex(2)}"
    page.keyboard.type(typed)
    create = page.get_by_role("option", name=f"Create employer “{typed}”")
    expect(create).to_be_visible()

    newer = re.compile(rf"/organizations/search\?.*{typed}(\+|%20)k")
    held = []
    page.route(newer, lambda route: held.append(route))
    with page.expect_request(newer):
        page.keyboard.type(" k")
    page.keyboard.press("ArrowUp")  # the last option of the answer shown: create
    expect(create).to_have_attribute("aria-selected", "true")

    with page.expect_response(re.compile(r"/organizations/search\?")):
        held[0].continue_()
    page.unroute(newer)
    newer_create = page.get_by_role("option", name=f"Create employer “{typed} k”")
    expect(newer_create).to_be_visible()
    expect(newer_create).not_to_have_attribute("aria-selected", "true")
    expect(box).not_to_have_attribute("aria-activedescendant", re.compile(".+"))
    shot(page, "create-not-carried")
