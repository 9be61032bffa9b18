"""Logging in and out through the real browser, and the SMTP sink the other tests rely on."""

import re
import smtplib
from email.message import EmailMessage

from playwright.sync_api import Page, expect


def test_staff_logs_in_sees_navigation_and_logs_out(page: Page, staff, login, shot):
    page.goto("/login")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("link", name="Forgot password?")).to_be_visible()
    shot(page, "login")

    login(page, staff.email, staff.password)

    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_visible()
    partners = nav.get_by_role("button", name="Partners")
    expect(partners).to_be_visible()
    expect(nav.get_by_role("link", name="Invite")).to_be_visible()
    expect(nav.get_by_role("link", name="Manage")).to_be_visible()
    account = nav.get_by_role("button", name=re.compile(r"^Account:"))
    expect(account).to_be_visible()
    shot(page, "home")

    expect(partners).to_have_attribute("aria-expanded", "false")
    partners.click()
    expect(partners).to_have_attribute("aria-expanded", "true")
    for item in ("Employers", "Providers", "Occupations"):
        expect(page.get_by_role("menuitem", name=item)).to_be_visible()
    shot(page, "partners-menu")
    page.get_by_role("menuitem", name="Employers").click()
    expect(page).to_have_url(re.compile(r"/partners/employers"))
    shot(page, "employers")

    account.click()
    expect(account).to_have_attribute("aria-expanded", "true")
    log_out = page.get_by_role("menuitem", name="Log out")
    expect(log_out).to_be_visible()
    shot(page, "account-menu")
    log_out.click()

    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    shot(page, "logged-out")

    # The session is over: a staff page sends the browser back to log in.
    page.goto("/manage/users")
    expect(page).to_have_url(re.compile(r"/login"))


def test_wrong_password_is_refused_with_a_message(page: Page, staff, login, shot):
    login(page, staff.email, "not-the-password-at-all")

    expect(page.get_by_text("do not match an active account")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    expect(page.get_by_label("Email")).to_have_value(staff.email)
    shot(page, "wrong-password")


def test_smtp_sink_collects_what_it_is_sent(smtp_server, mail):
    message = EmailMessage()
    message["From"] = "Scope <no-reply@scope-e2e.localhost>"
    message["To"] = "Pat Example <pat@example.com>"
    message["Subject"] = "Smoke test"
    message.set_content("Plain text body https://scope.test/link")
    message.add_alternative("<p>HTML body</p>", subtype="html")

    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.send_message(message)

    [received] = mail.wait_for(lambda m: m.subject == "Smoke test", timeout=5)
    assert received.recipients == ("pat@example.com",)
    assert "Plain text body" in received.text
    assert received.html.strip() == "<p>HTML body</p>"
    assert received.links() == ["https://scope.test/link"]
    assert mail.wait_for_mail_to("PAT@example.com") == received

    mail.clear()
    assert mail.messages == []
