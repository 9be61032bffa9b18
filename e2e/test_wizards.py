"""The INVITE wizards for a batch of people: lists that stay with their organization, nothing
typed lost, many people at once from a pasted list or a file, and a personal message.

Each test is a staff member of a new sponsor, driving the wizards by their visible labels.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote_plus

from helpers import pick_organization
from playwright.sync_api import Locator, Page, expect

TOKEN = secrets.token_hex(2)


def email(who: str) -> str:
    return f"{who}-{secrets.token_hex(3)}@example.com"


def nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def create_employer(page: Page, name: str) -> None:
    nav(page).get_by_role("button", name="Partners").click()
    page.get_by_role("menuitem", name="Employers").click()
    page.get_by_role("link", name="Create+").click()
    dialog = page.get_by_role("dialog", name="New Employer")
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_have_count(0)


def choose_organization(page: Page, name: str) -> None:
    """The wizard's first step: Employer, then CONTINUE."""
    pick_organization(page, name)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text(f"Organization: {name}")).to_be_visible()


def open_external_wizard(page: Page, organization: str) -> Locator:
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("link", name="Invite External Users").click()
    choose_organization(page, organization)
    return page.get_by_role("region", name="Invite External Users")


def people(page: Page) -> Locator:
    """The rows of the wizard's list (to invite, or to create)."""
    return page.get_by_role("table", name="People to").get_by_role("row")


def add(page: Page, address: str, user_type: str = "Supervisor") -> None:
    page.get_by_label("User type").select_option(label=user_type)
    page.get_by_label("Email").fill(address)
    page.get_by_role("button", name="Add+").click()
    expect(people(page).filter(has_text=address)).to_be_visible()


def test_change_with_rows_keeps_them_with_their_organization(staff_page: Page, mail, shot):
    page = staff_page
    acme, bluewater = f"Acme Robotics {TOKEN}", f"Bluewater Marine {TOKEN}"
    for name in (acme, bluewater):
        create_employer(page, name)
    open_external_wizard(page, acme)
    addresses = [email(f"acme{n}") for n in range(3)]
    for address in addresses:
        add(page, address)
    shot(page, "three-for-acme")

    page.get_by_role("link", name="Change").click()
    choose_organization(page, bluewater)
    # Bluewater's list is empty; Acme's three are kept, not re-labelled.
    expect(page.get_by_role("table", name="People to invite")).to_have_count(0)
    waiting = page.get_by_text(f"3 people for {acme} not yet invited")
    expect(waiting).to_be_visible()
    shot(page, "bluewater-with-acme-waiting")

    nav(page).get_by_role("link", name="Invite").click()
    expect(page.get_by_role("heading", name="Not yet sent")).to_be_visible()
    shot(page, "invite-page-lists-waiting")
    page.get_by_role("button", name=f"Continue the list for {acme}").click()
    expect(page.get_by_text(f"Organization: {acme}")).to_be_visible()
    expect(people(page)).to_have_count(4)  # with the header
    page.get_by_role("button", name="Send Invitations").click()
    expect(page.get_by_text("3 invitations sent.")).to_be_visible()
    for address in addresses:
        assert acme in mail.wait_for_mail_to(address).text


def test_a_second_tab_that_changed_the_organization_is_named_and_nothing_moves(
    staff_page: Page, mail, shot
):
    page = staff_page
    acme, bluewater = f"Acme Robotics {TOKEN}", f"Bluewater Marine {TOKEN}"
    for name in (acme, bluewater):
        create_employer(page, name)
    open_external_wizard(page, acme)

    # A second tab of the same person chooses another organization and adds someone there.
    other = page.context.new_page()
    other.goto(page.url)
    other.get_by_role("link", name="Change").click()
    choose_organization(other, bluewater)
    blue = email("blue")
    add(other, blue)

    # The first tab still shows Acme: what it adds goes nowhere, and it says why.
    typed = email("acme")
    page.get_by_label("User type").select_option(label="Supervisor")
    page.get_by_label("Email").fill(typed)
    page.get_by_role("button", name="Add+").click()
    alert = page.get_by_role("alert").filter(has_text="on another page")
    expect(alert).to_have_text(
        f"The organization was changed to {bluewater} on another page. Nothing was added or "
        "sent: check the list below, then try again."
    )
    expect(page.get_by_text(f"Organization: {bluewater}")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value(typed)
    expect(people(page).filter(has_text=blue)).to_be_visible()
    expect(people(page).filter(has_text=typed)).to_have_count(0)
    shot(page, "organization-changed-in-another-tab")

    # Now the page shows the list as it is: SEND sends it, to Bluewater, as the page says.
    page.get_by_role("button", name="Send Invitations").click()
    expect(page.get_by_text("2 invitations sent.")).to_be_visible()
    for address in (blue, typed):
        assert bluewater in mail.wait_for_mail_to(address).text


def test_send_with_a_typed_row_after_a_reload(staff_page: Page, mail, shot):
    page = staff_page
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("link", name="Invite Teammates").click()
    first, typed = email("first"), email("typed")
    page.get_by_label("Email").fill(first)
    page.get_by_role("button", name="Add+").click()
    expect(people(page).filter(has_text=first)).to_be_visible()
    # Typed and not added, then the page is reloaded: nothing is lost.
    # The keep of the whole address (a pause while typing may keep a part of it first).
    with page.expect_response(
        lambda r: r.url.endswith("/typed") and quote_plus(typed) in (r.request.post_data or "")
    ):
        page.get_by_label("Email").press_sequentially(typed)
    page.reload()
    expect(page.get_by_label("Email")).to_have_value(typed)
    shot(page, "typed-after-reload")
    page.get_by_role("button", name="Send Invitations").click()
    expect(page.get_by_text("2 invitations sent.")).to_be_visible()
    mail.wait_for_mail_to(first)
    mail.wait_for_mail_to(typed)


def _hold_the_first_keep(page: Page) -> list:
    """Holds the wizard's first keep (a slow answer) and counts the keeps asked for on the
    body's data-keeps; the list receives the held request, to continue when the test says."""
    held = []

    def hold_the_first(route):
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route("**/invite/teammates/typed", hold_the_first)
    page.evaluate(
        """() => {
             let keeps = 0;
             document.addEventListener("htmx:confirm", (event) => {
               if (event.detail.path.endsWith("/typed")) { document.body.dataset.keeps = ++keeps; }
             });
           }"""
    )
    return held


def test_what_is_typed_while_the_last_keep_is_on_its_way_is_kept_too(staff_page: Page, shot):
    """What is typed is sent as it is typed: a change made while the last one is still on its
    way (a slow answer) is sent after it, not dropped, so a reload shows it."""
    page = staff_page
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("link", name="Invite Teammates").click()
    early, later = email("early"), email("later")
    held = _hold_the_first_keep(page)
    with page.expect_request(lambda r: r.url.endswith("/invite/teammates/typed")):
        page.get_by_label("Email").fill(early)
    page.get_by_label("Email").fill(later)
    # The second asked for while the first is held.
    expect(page.locator("body")).to_have_attribute("data-keeps", "2")
    local_part = later.split("@")[0]
    with page.expect_response(
        lambda r: r.url.endswith("/typed") and local_part in (r.request.post_data or "")
    ):
        held[0].continue_()
    page.unroute("**/invite/teammates/typed")
    page.reload()
    expect(page.get_by_label("Email")).to_have_value(later)
    shot(page, "typed-after-a-slow-keep")


def test_add_waiting_behind_a_slow_keep_is_not_undone_by_a_later_change(staff_page: Page, shot):
    """ADD+ clicked while a keep is on its way waits for it; a change made meanwhile (a
    keep of its own) does not take ADD+'s place: the person is added, as typed last."""
    page = staff_page
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("link", name="Invite Teammates").click()
    early, later = email("waits"), email("waited")
    held = _hold_the_first_keep(page)
    with page.expect_request(lambda r: r.url.endswith("/invite/teammates/typed")):
        page.get_by_label("Email").fill(early)
    # Leaving Email for ADD+ asks for a keep too; ADD+ takes its place behind the held one.
    page.get_by_role("button", name="Add+").click()
    expect(page.locator("body")).to_have_attribute("data-keeps", "2")
    page.get_by_label("Email").fill(later)
    expect(page.locator("body")).to_have_attribute("data-keeps", "3")
    with page.expect_response(lambda r: r.url.endswith("/invite/teammates/rows")):
        held[0].continue_()
    page.unroute("**/invite/teammates/typed")
    expect(people(page).filter(has_text=later)).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value("")
    shot(page, "added-after-a-slow-keep")


def test_reload_with_a_half_typed_row_keeps_what_was_typed(staff_page: Page, shot):
    page = staff_page
    organization = f"Cedar Clinic {TOKEN}"
    create_employer(page, organization)
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("tab", name="Managed").click()
    page.get_by_role("link", name="Get Started").click()
    choose_organization(page, organization)
    page.get_by_label("User type").select_option(label="Mentor")
    page.get_by_label("Occupation").select_option(label="Electrician")
    page.get_by_label("First name").fill("Half")
    # Last name and email not typed yet when the page is reloaded.
    with page.expect_response(
        lambda r: (
            r.url.endswith("/invite/managed/typed")
            and "last_name=Ty&" in (r.request.post_data or "") + "&"
        )
    ):
        page.get_by_label("Last name").press_sequentially("Ty")
    page.reload()
    expect(page.get_by_text(f"Organization: {organization}")).to_be_visible()
    expect(page.get_by_label("User type")).to_have_value("mentor")
    expect(page.get_by_label("Occupation")).to_be_visible()
    expect(page.get_by_label("Occupation").locator("option:checked")).to_have_text("Electrician")
    expect(page.get_by_label("First name")).to_have_value("Half")
    expect(page.get_by_label("Last name")).to_have_value("Ty")
    expect(page.get_by_label("Email")).to_have_value("")
    shot(page, "half-typed-after-reload")
    page.get_by_label("Last name").fill("Typed")
    page.get_by_role("button", name="Add+").click()
    expect(people(page).filter(has_text="Typed")).to_contain_text("Mentor")


def test_send_with_a_typed_row_that_is_refused_sends_nothing(staff_page: Page, mail, shot):
    page = staff_page
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("link", name="Invite Teammates").click()
    first = email("first")
    page.get_by_label("Email").fill(first)
    page.get_by_role("button", name="Add+").click()
    expect(people(page).filter(has_text=first)).to_be_visible()
    page.get_by_label("Email").fill("not an address")
    page.get_by_role("button", name="Send Invitations").click()
    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value("not an address")
    shot(page, "typed-row-refused-at-send")
    assert mail.messages == []


def test_three_rows_by_keyboard_keep_the_user_type(staff_page: Page, shot):
    page = staff_page
    organization = f"Keystone Electric {TOKEN}"
    create_employer(page, organization)
    open_external_wizard(page, organization)
    user_type = page.get_by_label("User type")
    user_type.focus()
    page.keyboard.type("Provider")  # a focused select picks by its first letters
    expect(user_type).to_have_value("provider")
    for n in range(3):
        # After ADD+ the focus is back on the row form's first field, its type kept.
        expect(page.get_by_label("User type")).to_be_focused()
        expect(page.get_by_label("User type")).to_have_value("provider")
        page.keyboard.press("Tab")
        page.keyboard.type(f"teacher{n}-{TOKEN}@college.example")
        page.keyboard.press("Enter")
        expect(people(page)).to_have_count(n + 2)
    rows = people(page).filter(has_text="Provider")
    expect(rows).to_have_count(3)
    shot(page, "three-by-keyboard")


def test_a_pasted_list_of_twenty_with_two_bad(staff_page: Page, shot):
    page = staff_page
    organization = f"Harbor Health {TOKEN}"
    create_employer(page, organization)
    open_external_wizard(page, organization)
    good = [f"Nurse {n} <nurse{n}-{TOKEN}@harbor.example>" for n in range(18)]
    page.get_by_label("User type").select_option(label="Supervisor")
    page.get_by_text("Paste many addresses at once").click()
    pasted = "\n".join(good[:10]) + "\n" + "; ".join(good[10:]) + ", not-an-address, nurse0"
    page.get_by_label("Addresses").fill(pasted)
    page.get_by_role("button", name="Add addresses").click()
    expect(page.get_by_text("18 people added.")).to_be_visible()
    expect(page.get_by_text("2 addresses were not added")).to_be_visible()
    expect(page.get_by_label("Addresses")).to_have_value("not-an-address\nnurse0")
    expect(people(page).filter(has_text="Supervisor")).to_have_count(18)
    shot(page, "pasted-list")


def _csv(page: Page, name: str, data: bytes) -> None:
    if not page.get_by_label("CSV file").is_visible():
        page.get_by_text("Add many people from a CSV file").click()
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": data}]
    )
    page.get_by_role("button", name="Check file").click()


def test_an_external_csv_of_two_hundred_people(staff_page: Page, mail, shot):
    page = staff_page
    organization = f"Granite Mechanical {TOKEN}"
    create_employer(page, organization)
    open_external_wizard(page, organization)
    lines = ["User type,Email,Occupation"] + [
        f"Supervisor,fitter{n}-{TOKEN}@granite.example," for n in range(200)
    ]
    _csv(page, "fitters.csv", "\n".join(lines).encode())
    expect(page.get_by_text("200 people added from fitters.csv")).to_be_visible()
    shot(page, "external-csv-added")
    page.get_by_role("button", name="Send Invitations").click()
    expect(page.get_by_text("200 invitations sent.")).to_be_visible()
    mail.wait_for(count=200, timeout=60)


def test_csv_files_in_each_encoding_and_their_valid_rows(staff_page: Page, shot):
    page = staff_page
    organization = f"Lakeshore Builders {TOKEN}"
    create_employer(page, organization)
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("tab", name="Managed").click()
    page.get_by_role("link", name="Get Started").click()
    choose_organization(page, organization)
    header = "USER TYPE,first_name,Last Name,e-mail,Occupation"
    for n, encoding in enumerate(["utf-8", "utf-8-sig", "utf-16", "cp1252"]):
        text = f"{header}\r\nSupervisor,Zoë{n},Peña{n},,\r\n"
        _csv(page, f"people-{encoding}.csv", text.encode(encoding))
        expect(page.get_by_text(f"1 person added from people-{encoding}.csv")).to_be_visible()
        expect(people(page).filter(has_text=f"Peña{n}")).to_have_count(1)
    expect(people(page).filter(has_text="Zoë")).to_have_count(4)
    # A file with two bad lines: its eight good ones are added on request.
    lines = [header] + [f"Supervisor,Good{n},Row,," for n in range(8)]
    lines += ["Astronaut,Bad,Type,,", "Mentor,No,Occupation,,"]
    _csv(page, "mixed.csv", "\n".join(lines).encode())
    expect(page.get_by_text("2 of 10 rows in mixed.csv have problems")).to_be_visible()
    shot(page, "csv-problems")
    page.get_by_role("button", name="Add the 8 valid rows").click()
    expect(page.get_by_text("8 people added")).to_be_visible()
    expect(people(page).filter(has_text="Good")).to_have_count(8)
    shot(page, "csv-valid-rows-added")


def test_a_personal_message_with_html_arrives_escaped(staff_page: Page, mail, new_context, shot):
    page = staff_page
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("link", name="Invite Teammates").click()
    address = email("welcome")
    page.get_by_label("Email").fill(address)
    page.get_by_role("button", name="Add+").click()
    expect(people(page).filter(has_text=address)).to_be_visible()
    message = "Welcome <b>aboard</b> & <script>alert(1)</script>\nSee you Monday."
    page.get_by_label("Personal message (optional)").fill(message)
    shot(page, "personal-message")
    page.get_by_role("button", name="Send Invitations").click()
    expect(page.get_by_text("1 invitation sent.")).to_be_visible()
    received = mail.wait_for_mail_to(address)
    assert "Welcome <b>aboard</b> & <script>alert(1)</script>" in received.text
    assert "<script>" not in received.html and "&lt;b&gt;aboard&lt;/b&gt;" in received.html
    link = next(link for link in received.links() if "/join/" in link)
    person = new_context().new_page()
    person.goto(link)
    expect(person.get_by_text("Welcome <b>aboard</b> & <script>alert(1)</script>")).to_be_visible()
    shot(person, "sign-up-with-message")
