"""What the end-to-end tests share: the SMTP sink's classes, the people they make, logging in
and a few steps every staff test takes.

Fixtures live in conftest.py; a test module imports anything else it shares from here, never
from conftest or from another test module.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re
import secrets
import threading
import time
from collections.abc import Callable

from aiosmtpd.controller import Controller
from playwright.sync_api import Locator, Page, expect

# One of the occupations every new sponsor starts with.
OCCUPATION = "Electrician"


# --- People ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Staff:
    email: str
    password: str
    sponsor: str


def unique_email(who: str) -> str:
    return f"{who}-{secrets.token_hex(4)}@example.com"


def new_password() -> str:
    return f"harbor {secrets.token_urlsafe(8)} lantern"


def login(page: Page, email: str, password: str) -> None:
    """Log in through the form, the way a person does."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


# --- Staff pages -------------------------------------------------------------------------


def nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def create_employer(page: Page, name: str, shot) -> None:
    """PARTNERS → Employers → CREATE+, the way staff add one."""
    nav(page).get_by_role("button", name="Partners").click()
    page.get_by_role("menuitem", name="Employers").click()
    page.get_by_role("link", name="Create+").click()
    dialog = page.get_by_role("dialog", name="New Employer")
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_have_count(0)
    employers = page.get_by_role("table", name="Employers")
    expect(employers.get_by_role("link", name=name)).to_be_visible()
    shot(page, "employer-created")


def open_employer(page: Page, name: str, archived: bool = False) -> None:
    """PARTNERS → Employers, then the employer's page (Show archived ticked for one)."""
    nav(page).get_by_role("button", name="Partners").click()
    page.get_by_role("menuitem", name="Employers").click()
    if archived:
        page.get_by_label("Show archived").check()
    page.get_by_role("table", name="Employers").get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()


def confirm_on_organization(page: Page, action: str, name: str) -> None:
    """An organization page's Archive, Restore or Delete, confirmed in its dialog."""
    page.get_by_role("button", name=action, exact=True).click()
    page.get_by_role("dialog", name=f"{action} {name}?").get_by_role("button", name=action).click()
    expect(page.get_by_text(f"{name} {action.lower()}d.")).to_be_visible()


def organization_option(page: Page, name: str) -> Locator:
    """The picker's option for an organization: its name, then its kind."""
    return page.get_by_role(
        "option", name=re.compile(rf"^{re.escape(name)} (Employer|Education Provider)$")
    )


def pick_organization(page: Page, name: str, label: str = "Employer") -> Locator:
    """Type the name into the organization combobox and pick it from the list by keyboard
    (the typed name is unique: it comes first). Returns the combobox."""
    box = page.get_by_role("combobox", name=label)
    box.fill("")  # a name already in the box (the organization chosen before) is no search
    box.fill(name)
    option = organization_option(page, name)
    # An answer listing the name first has arrived (an earlier one, to the empty box, may
    # list it first too: the pick then stands and the later answer is not drawn).
    expect(option).to_have_attribute("id", re.compile(r"-options-0$"))
    box.press("ArrowDown")
    expect(option).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    expect(box).to_have_value(name)
    expect(box).to_have_attribute("aria-expanded", "false")
    return box


def create_managed_users(page: Page, organization: str, people, shot) -> None:
    """INVITE → Managed → GET STARTED → Employer → CONTINUE → rows → CREATE USERS +."""
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("tablist", name="Kind of account").get_by_role("tab", name="Managed").click()
    shot(page, "managed-tab")
    page.get_by_role("link", name="Get Started").click()
    pick_organization(page, organization)
    shot(page, "managed-choose-organization")
    page.get_by_role("button", name="Continue").click()
    wizard = page.get_by_role("region", name="Add Managed Users")
    expect(wizard).to_contain_text(f"Organization: {organization}")
    create = page.get_by_role("button", name="Create Users +")
    expect(create).to_be_disabled()
    for user_type, first, last, address in people:
        page.get_by_label("User type").select_option(label=user_type)
        page.get_by_label("First name").fill(first)
        page.get_by_label("Last name").fill(last)
        page.get_by_label("Email").fill(address)
        page.get_by_role("button", name="Add+").click()
        rows = page.get_by_role("table", name="People to create").get_by_role("row")
        expect(rows.filter(has_text=last)).to_be_visible()
    shot(page, "managed-rows")
    expect(create).to_be_enabled()
    create.click()
    n = len(people)
    expect(page.get_by_text(f"{n} managed user{'' if n == 1 else 's'} created.")).to_be_visible()
    shot(page, "managed-created")


# --- SMTP sink ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ReceivedMail:
    """One message as the SMTP server received it."""

    envelope_from: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str
    message: email.message.EmailMessage

    @property
    def to(self) -> str:
        return str(self.message.get("To", ""))

    def links(self) -> list[str]:
        """Every http(s) address in the text part (where emailed links are easiest to read)."""
        return re.findall(r"https?://[^\s<>\"')]+", self.text)


class MailCollector:
    """aiosmtpd handler that keeps every message it is given, parsed."""

    def __init__(self) -> None:
        self._messages: list[ReceivedMail] = []
        self._refused: dict[str, str] = {}
        self._lock = threading.Lock()

    def refuse(self, address: str, reply: str = "550 5.1.1 Mailbox unavailable") -> None:
        """Answer RCPT TO for `address` with `reply` (a permanent refusal unless told)."""
        with self._lock:
            self._refused[address.lower()] = reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        with self._lock:
            reply = self._refused.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text_part = message.get_body(preferencelist=("plain",))
        html_part = message.get_body(preferencelist=("html",))
        received = ReceivedMail(
            envelope_from=envelope.mail_from,
            recipients=tuple(address.lower() for address in envelope.rcpt_tos),
            subject=str(message.get("Subject", "")),
            text=text_part.get_content() if text_part else "",
            html=html_part.get_content() if html_part else "",
            message=message,
        )
        with self._lock:
            self._messages.append(received)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        """Forget the messages received and the addresses refused."""
        with self._lock:
            self._messages.clear()
            self._refused.clear()

    def to(self, address: str) -> list[ReceivedMail]:
        return [m for m in self.messages if address.lower() in m.recipients]

    def wait_for(
        self,
        predicate: Callable[[ReceivedMail], bool] | None = None,
        timeout: float = 15,
        count: int = 1,
    ) -> list[ReceivedMail]:
        """Poll until at least `count` received messages match; return all that match."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.messages if predicate is None or predicate(m)]
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                seen = "\n".join(f"  to {m.recipients}: {m.subject!r}" for m in self.messages)
                raise AssertionError(
                    f"expected {count} matching message(s) within {timeout}s, "
                    f"found {len(found)}; received:\n{seen or '  (nothing)'}"
                )
            time.sleep(0.1)

    def wait_for_mail_to(self, address: str, timeout: float = 15) -> ReceivedMail:
        """The latest message to `address`, waiting for one if none has arrived yet."""
        return self.wait_for(lambda m: address.lower() in m.recipients, timeout=timeout)[-1]


@dataclasses.dataclass
class SMTPServer:
    host: str
    port: int
    collector: MailCollector
    _controller: Controller | None = None

    def start(self) -> None:
        """Listen (again) on the same port, as a mail server back from an outage does."""
        if self._controller is None:
            self._controller = Controller(
                self.collector,
                hostname=self.host,
                port=self.port,
                server_hostname="smtp.scope-e2e.localhost",
            )
            self._controller.start()

    def stop(self) -> None:
        """Stop listening: connections to the port are refused until start()."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
