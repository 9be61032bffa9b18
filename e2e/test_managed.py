"""Managed accounts: created without email, converted with AUTHENTICATE or Forgot password?."""

import secrets

from helpers import (
    create_employer,
    create_managed_users,
    nav,
    new_password,
    unique_email,
)
from playwright.sync_api import Page, expect


def users_table(page: Page):
    return page.get_by_role("table", name="Users")


def open_users(page: Page):
    nav(page).get_by_role("link", name="Manage").click()
    table = users_table(page)
    expect(table).to_be_visible()
    return table


def user_row(page: Page, text: str):
    return users_table(page).get_by_role("row").filter(has_text=text)


def set_password(person: Page, password: str) -> None:
    person.get_by_label("Password", exact=True).fill(password)
    person.get_by_label("Confirm password").fill(password)
    person.get_by_role("button", name="Set password").click()


def test_managed_users_are_created_then_authenticated(
    page: Page, create_staff, login, mail, new_context, shot
):
    staff = create_staff(first_name="Robin", last_name="Hart")
    login(page, staff.email, staff.password)
    organization = f"Granite Mechanical {secrets.token_hex(2)}"
    create_employer(page, organization, shot)
    ana, ben = unique_email("ana"), unique_email("ben")
    create_managed_users(
        page,
        organization,
        [("Supervisor", "Ana", "Rivera", ana), ("Administrator", "Ben", "Okafor", ben)],
        shot,
    )

    open_users(page)
    for email in (ana, ben):
        expect(user_row(page, email)).to_contain_text("Managed")
    shot(page, "users-managed")
    assert mail.to(ana) == [] and mail.to(ben) == []  # creating managed users sends nothing

    user_row(page, ana).get_by_role("link", name="Ana Rivera").click()
    expect(page.get_by_role("heading", name="Ana Rivera")).to_be_visible()
    shot(page, "profile")
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("First name")).to_be_visible()
    shot(page, "profile-edit")
    page.get_by_role("button", name="Authenticate").click()
    expect(page.get_by_role("status")).to_contain_text("Authentication email sent to Ana Rivera")
    shot(page, "authentication-sent")

    message = mail.wait_for_mail_to(ana)
    [link] = [url for url in message.links() if "/account/set-password/" in url]
    person = new_context().new_page()
    person.goto(link)
    expect(person.get_by_text(ana)).to_be_visible()
    shot(person, "set-password")
    password = new_password()
    set_password(person, password)
    expect(person.get_by_role("heading", name="My organization")).to_be_visible()
    shot(person, "person-logged-in")

    fresh = new_context().new_page()
    login(fresh, ana, password)
    expect(fresh.get_by_role("navigation", name="Main")).to_contain_text("My account")

    page.goto("/manage/users")
    expect(user_row(page, ana)).to_contain_text("Active")
    expect(user_row(page, ben)).to_contain_text("Managed")
    shot(page, "users-after")


def test_forgot_password_turns_a_managed_account_active(
    page: Page, create_staff, login, mail, new_context, shot
):
    staff = create_staff()
    login(page, staff.email, staff.password)
    organization = f"Cedar Health {secrets.token_hex(2)}"
    create_employer(page, organization, shot)
    carla = unique_email("carla")
    create_managed_users(page, organization, [("Supervisor", "Carla", "Diaz", carla)], shot)

    person = new_context().new_page()
    person.goto("/login")
    person.get_by_role("link", name="Forgot password?").click()
    shot(person, "forgot-password")
    person.get_by_label("Email").fill(carla)
    person.get_by_role("button", name="Send recovery link").click()
    answer = person.get_by_text("If an account exists for that address")
    expect(answer).to_be_visible()
    shot(person, "recovery-sent")

    message = mail.wait_for_mail_to(carla)
    [link] = [url for url in message.links() if "/account/recover/" in url]
    person.goto(link)
    shot(person, "recovery-link")
    password = new_password()
    set_password(person, password)
    expect(person.get_by_role("heading", name="My organization")).to_be_visible()

    again = new_context().new_page()
    login(again, carla, password)
    expect(again.get_by_role("heading", name="My organization")).to_be_visible()
    page.goto("/manage/users")
    expect(user_row(page, carla)).to_contain_text("Active")

    # An unknown address gets the same page, and no email.
    stranger = unique_email("nobody")
    other = new_context().new_page()
    other.goto("/forgot-password")
    other.get_by_label("Email").fill(stranger)
    other.get_by_role("button", name="Send recovery link").click()
    expect(other.get_by_text("If an account exists for that address")).to_be_visible()
    shot(other, "recovery-unknown")
    other.wait_for_timeout(1500)
    assert mail.to(stranger) == []
