"""Accounts: set-password and recovery links, My organization, My account."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from datetime import timedelta

import lxml.html
import pytest

from scope.accounts import link_emails, links, services
from scope.auth.passwords import verify_password
from scope.extensions import db
from scope.models import (
    AccountToken,
    AccountTokenPurpose,
    AuditEvent,
    MailMessage,
    OrganizationKind,
    PartnerOrganization,
    User,
    UserStatus,
    UserType,
    utcnow,
)
from tests.helpers import (
    PASSWORD,
    Auth,
    committed_soon_by_another,
    csrf_token,
    elements,
    field_error,
    is_whole_page,
    parse,
    texts,
)

NEW_PASSWORD = "violet tugboat under seven lanterns"
LINK = re.compile(r"http://scope\.test(/account/(?:set-password|recover)/([A-Za-z0-9_-]+))")
HTMX = {"HX-Request": "true"}


# --- helpers --------------------------------------------------------------------------------


@pytest.fixture
def riverbend(staff, make_org):
    """The staff member's sponsor with one employer."""
    return make_org(staff.sponsor_id, "Keystone Electric")


@pytest.fixture
def managed(app, staff, riverbend, make_user):
    return make_user(
        "pat.managed@keystone.example.com",
        sponsor_id=staff.sponsor_id,
        organization_id=riverbend,
        user_type=UserType.SUPERVISOR,
        status=UserStatus.MANAGED,
        first_name="Pat",
        last_name="Quinlan",
        with_password=False,
    )


def send_link(app, user_id, actor_id=None, message=None) -> str:
    """Send the AUTHENTICATE email and return the link's path from the email text."""
    with app.app_context():
        user = db.session.get(User, user_id)
        link_emails.send_set_password_link(user, actor_id=actor_id, custom_message=message)
        db.session.commit()
    return link_in(last_mail(app, "set_password").body_text)


def last_mail(app, kind: str) -> MailMessage:
    with app.app_context():
        message = db.session.scalar(
            db.select(MailMessage).where(MailMessage.kind == kind).order_by(MailMessage.id.desc())
        )
        assert message is not None, f"no {kind} email"
        db.session.expunge(message)
        return message


def mail_count(app, kind: str | None = None) -> int:
    with app.app_context():
        stmt = db.select(db.func.count(MailMessage.id))
        if kind:
            stmt = stmt.where(MailMessage.kind == kind)
        return db.session.scalar(stmt)


def link_in(text: str) -> str:
    match = LINK.search(text)
    assert match, text
    return match.group(1)


def token_of(path: str) -> str:
    return path.rsplit("/", 1)[1]


def account_token(app, path: str) -> AccountToken:
    with app.app_context():
        digest = hashlib.sha256(token_of(path).encode()).hexdigest()
        row = db.session.scalar(db.select(AccountToken).where(AccountToken.token_hash == digest))
        db.session.expunge(row)
        return row


def user_row(app, user_id) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def actions(app, user_id) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                db.select(AuditEvent.action)
                .where(AuditEvent.subject_type == "user_account", AuditEvent.subject_id == user_id)
                .order_by(AuditEvent.id)
            )
        )


def post_form(client, path, data, htmx=False):
    """GET the page for its CSRF token, then POST the form as a browser (or htmx) would."""
    token = csrf_token(client.get(path))
    headers = dict(HTMX) if htmx else {}
    return client.post(path, data={**data, "csrf_token": token}, headers=headers)


def set_password(client, path, password=NEW_PASSWORD, confirm=None, htmx=False):
    return post_form(
        client,
        path,
        {"password": password, "confirm_password": password if confirm is None else confirm},
        htmx=htmx,
    )


def logs_in(app, email, password) -> bool:
    return Auth(app.test_client(), app).login(email, password).status_code == 302


def text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"')


def without_csrf_token(response) -> str:
    """The page as served but for the CSRF token htmx sends (in the body's hx-headers)."""
    document = parse(response)
    for holder in document.cssselect("[hx-headers]"):
        headers = json.loads(holder.get("hx-headers"))
        headers.pop("X-CSRFToken")
        holder.set("hx-headers", json.dumps(headers))
    return lxml.html.tostring(document, encoding="unicode")


# --- set-password links ---------------------------------------------------------------------


def test_the_email_carries_the_link_and_the_database_only_its_hash(app, staff, managed):
    path = send_link(app, managed, actor_id=staff.user_id, message="Welcome aboard!\nSee you.")
    token = token_of(path)
    assert len(token) >= 43  # 32 random bytes
    message = last_mail(app, "set_password")
    assert message.recipient == "pat.managed@keystone.example.com"
    for body in (message.body_text, message.body_html):
        assert "http://scope.test" + path in body
        assert "Riverbend Apprenticeship Alliance" in body
        assert "Keystone Electric" in body and "Supervisor" in body
        assert "Sam" in body  # who sent it
        assert "Welcome aboard!" in body
    row = account_token(app, path)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.purpose is AccountTokenPurpose.SET_PASSWORD
    assert timedelta(days=6, hours=23) < row.expires_at - utcnow() <= timedelta(days=7)
    assert row.expires_at.strftime("%B %-d, %Y") in message.body_text
    with app.app_context():
        dump = repr(db.session.execute(db.select(AccountToken.__table__)).all())
    assert token not in dump
    user = user_row(app, managed)
    assert user.authentication_sent_at is not None and user.status is UserStatus.MANAGED
    assert actions(app, managed) == ["authentication_sent"]


def test_the_custom_message_is_escaped_in_the_html_email(app, staff, managed):
    send_link(app, managed, actor_id=staff.user_id, message="<script>alert(1)</script>")
    assert not elements(last_mail(app, "set_password").body_html, "script")


def test_no_email_deactivated_and_overlong_messages_are_refused(app, staff, make_user):
    no_email = make_user("", sponsor_id=staff.sponsor_id, status=UserStatus.MANAGED)
    gone = make_user(sponsor_id=staff.sponsor_id, status=UserStatus.DEACTIVATED)
    managed = make_user(sponsor_id=staff.sponsor_id, status=UserStatus.MANAGED)
    with app.app_context():
        with pytest.raises(link_emails.NoEmailAddress):
            link_emails.send_set_password_link(db.session.get(User, no_email), actor_id=None)
        with pytest.raises(link_emails.AccountDeactivated):
            link_emails.send_set_password_link(db.session.get(User, gone), actor_id=None)
        with pytest.raises(link_emails.MessageTooLong):
            link_emails.send_set_password_link(
                db.session.get(User, managed), actor_id=None, custom_message="x" * 5000
            )
        db.session.rollback()
    assert mail_count(app) == 0
    assert user_row(app, managed).authentication_sent_at is None


def test_opening_the_link_shows_whose_account_and_does_not_spend_it(app, client, managed):
    path = send_link(app, managed)
    for _ in range(2):  # mail scanners open links too
        response = client.get(path)
        assert response.status_code == 200
        page = text(response)
        assert "Pat Quinlan" in page and "pat.managed@keystone.example.com" in page
        assert "Keystone Electric" in page
        assert "Password" in texts(page, 'label[for="password"]')
        assert "Confirm password" in texts(page, 'label[for="confirm_password"]')
        assert "Set password" in texts(page, "button")
        assert response.headers["Cache-Control"] == "no-store"
    assert account_token(app, path).used_at is None
    assert user_row(app, managed).status is UserStatus.MANAGED


def test_setting_the_password_activates_a_managed_account_and_logs_in(app, client, managed):
    path = send_link(app, managed)
    response = set_password(client, path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/my/organization"
    user = user_row(app, managed)
    assert user.status is UserStatus.ACTIVE
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert account_token(app, path).used_at is not None
    assert actions(app, managed) == ["authentication_sent", "authenticated"]
    changed = last_mail(app, "password_changed")
    assert changed.recipient == "pat.managed@keystone.example.com" and changed.user_id == managed
    page = client.get("/my/organization")
    assert page.status_code == 200 and "Keystone Electric" in text(page)


def test_with_htmx_success_is_an_hx_redirect(app, client, managed):
    path = send_link(app, managed)
    response = set_password(client, path, htmx=True)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/my/organization"
    assert user_row(app, managed).status is UserStatus.ACTIVE


def test_a_link_works_once(app, client, managed):
    path = send_link(app, managed)
    assert set_password(client, path).status_code == 302
    other = app.test_client()
    response = other.get(path)
    assert response.status_code == 410
    assert "This link has already been used" in text(response)
    assert "Forgot password?" in text(response)
    response = other.post(path, data={"password": "another strong passphrase here"})
    assert response.status_code in (400, 410)  # no form, no CSRF token: nothing happens
    assert verify_password(user_row(app, managed).password_hash, NEW_PASSWORD)


def test_an_expired_link_says_so_and_changes_nothing(app, client, managed):
    path = send_link(app, managed)
    with app.app_context():
        db.session.execute(db.update(AccountToken).values(expires_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
    response = client.get(path)
    assert response.status_code == 410
    page = text(response)
    assert "This link has expired. Ask for a new one on the" in page
    assert elements(page, '[href="/forgot-password"]')
    assert set_password(client, path).status_code == 410
    assert user_row(app, managed).status is UserStatus.MANAGED
    assert account_token(app, path).used_at is None


def test_a_link_that_expires_between_opening_and_posting_is_refused(app, client, managed):
    path = send_link(app, managed)
    token = csrf_token(client.get(path))
    with app.app_context():
        db.session.execute(db.update(AccountToken).values(expires_at=utcnow()))
        db.session.commit()
    data = {"password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD, "csrf_token": token}
    response = client.post(path, data=data, headers=HTMX)
    assert response.status_code == 410 and "expired" in text(response)
    assert not is_whole_page(response)
    assert user_row(app, managed).status is UserStatus.MANAGED


def test_a_newer_link_replaces_the_older_one(app, client, managed):
    first = send_link(app, managed)
    second = send_link(app, managed)
    assert first != second
    response = client.get(first)
    assert response.status_code == 410
    assert "This link has been replaced" in text(response)
    assert account_token(app, first).replaced_at is not None
    assert set_password(client, second).status_code == 302


def test_a_recovery_link_does_not_end_a_set_password_link(app, client, managed):
    set_path = send_link(app, managed)
    post_form(app.test_client(), "/forgot-password", {"email": "pat.managed@keystone.example.com"})
    assert client.get(set_path).status_code == 200


def test_completing_one_link_ends_the_other_open_links(app, client, managed):
    set_path = send_link(app, managed)
    post_form(app.test_client(), "/forgot-password", {"email": "pat.managed@keystone.example.com"})
    recovery_path = link_in(last_mail(app, "recovery").body_text)
    assert set_password(client, recovery_path).status_code == 302
    assert "replaced" in text(app.test_client().get(set_path))


@pytest.mark.parametrize(
    "password, confirm, field, message",
    [
        ("short", None, "password", "Use at least 12 characters."),
        ("password1234", None, "password", "Choose a less common password"),
        ("quinlanquinlan", None, "password", "Choose a less common password"),
        (NEW_PASSWORD, NEW_PASSWORD + "!", "confirm_password", "The passwords do not match."),
        ("", None, "password", "Choose a password."),
        ("x" * 600, None, "password", "Use at most 512 characters."),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_the_password_policy_is_shown_beside_the_field(
    app, client, managed, password, confirm, field, message, htmx
):
    path = send_link(app, managed)
    response = set_password(client, path, password, confirm, htmx=htmx)
    assert response.status_code == 422
    page = text(response)
    assert message in (field_error(page, field) or ""), page
    assert is_whole_page(page) is not htmx
    assert account_token(app, path).used_at is None
    user = user_row(app, managed)
    assert user.status is UserStatus.MANAGED and user.password_hash is None


def test_a_weak_password_and_a_mismatch_are_both_reported(app, client, managed):
    response = set_password(client, send_link(app, managed), "password1234", "password12345")
    page = text(response)
    assert elements(page, '[id="password-error"]')
    assert elements(page, '[id="confirm_password-error"]')


def test_passwords_are_kept_exactly_as_typed(app, client, auth, managed):
    spaced = "  violet  tugboat under seven lanterns "
    assert set_password(client, send_link(app, managed), spaced).status_code == 302
    assert logs_in(app, "pat.managed@keystone.example.com", spaced)
    assert not logs_in(app, "pat.managed@keystone.example.com", spaced.strip())


def test_unknown_and_malformed_links_are_not_valid(client):
    for path in (
        "/account/set-password/nope",
        "/account/recover/" + "A" * 43,
        "/account/recover/" + "b" * 500,
    ):
        response = client.get(path)
        assert response.status_code == 404
        assert "This link is not valid" in text(response)


def test_a_link_works_only_on_its_own_page(app, client, managed):
    path = send_link(app, managed)
    response = client.get(path.replace("/set-password/", "/recover/"))
    assert response.status_code == 404


def test_deactivated_accounts_cannot_use_their_links(app, client, managed):
    path = send_link(app, managed)
    with app.app_context():
        db.session.get(User, managed).status = UserStatus.DEACTIVATED
        db.session.commit()
    response = client.get(path)
    assert response.status_code == 410 and "deactivated" in text(response)
    assert set_password(client, path).status_code == 410
    user = user_row(app, managed)
    assert user.status is UserStatus.DEACTIVATED and user.password_hash is None


def test_links_point_at_the_public_url_whatever_the_host_header(app, make_user):
    make_user("host@example.com")
    client = app.test_client()
    page = client.get("/forgot-password", headers={"Host": "evil.example"})
    token = csrf_token(page)
    client.post(
        "/forgot-password",
        data={"email": "host@example.com", "csrf_token": token},
        headers={"Host": "evil.example"},
    )
    body = last_mail(app, "recovery").body_text
    assert "evil.example" not in body and "http://scope.test/account/recover/" in body


def test_setting_a_password_ends_every_other_session(app, make_user, auth, client):
    user_id = make_user("ana@example.com", user_type=UserType.MENTOR)
    assert auth.login("ana@example.com").status_code == 302
    assert client.get("/my/account").status_code == 200
    stranger = app.test_client()
    post_form(stranger, "/forgot-password", {"email": "ana@example.com"})
    path = link_in(last_mail(app, "recovery").body_text)
    assert set_password(stranger, path).status_code == 302
    assert client.get("/my/account").status_code == 302  # the old session has ended
    assert stranger.get("/my/account").status_code == 200  # the new one is logged in
    assert actions(app, user_id) == ["password_reset"]


def test_two_posts_of_one_link_in_sequence_succeed_once(app, managed):
    path = send_link(app, managed)
    first, second = app.test_client(), app.test_client()
    token_a = csrf_token(first.get(path))
    token_b = csrf_token(second.get(path))
    data = {"password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    assert first.post(path, data={**data, "csrf_token": token_a}).status_code == 302
    response = second.post(path, data={**data, "csrf_token": token_b})
    assert response.status_code == 410 and "already been used" in text(response)
    assert actions(app, managed).count("authenticated") == 1
    assert mail_count(app, "password_changed") == 1


@pytest.mark.real_commits  # a second connection competes
def test_the_spend_waits_for_a_competing_transaction_and_then_refuses(app, managed):
    """The conditional UPDATE decides, not the check made when the request began: it waits
    for the other request's uncommitted spend and then finds the token used."""
    path = send_link(app, managed)
    with app.app_context():
        live = links.check_link(token_of(path), AccountTokenPurpose.SET_PASSWORD)
        spend = db.update(AccountToken).values(used_at=utcnow())
        with committed_soon_by_another(spend), pytest.raises(links.LinkProblem) as problem:
            links._spend(live)
        assert problem.value.reason == "used"
        db.session.rollback()


@pytest.mark.real_commits  # threads
def test_two_simultaneous_posts_of_one_link_succeed_at_most_once(app, managed):
    path = send_link(app, managed)
    token = token_of(path)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def complete(password):
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                services.set_password_with_link(token, AccountTokenPurpose.SET_PASSWORD, password)
                db.session.commit()
                outcomes.append("ok")
            except links.LinkProblem as problem:
                outcomes.append(problem.reason)
            except Exception as error:  # e.g. SQLite's "database is locked"
                outcomes.append(type(error).__name__)
            finally:
                db.session.rollback()
                db.session.remove()

    threads = [
        threading.Thread(target=complete, args=(p,))
        for p in (NEW_PASSWORD, "marble canyon whistles at dawn")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes.count("ok") == 1, outcomes
    with app.app_context():
        dialect = db.engine.dialect.name
    if dialect == "postgresql":
        assert sorted(outcomes) == ["ok", "used"]
    assert actions(app, managed).count("authenticated") == 1
    assert mail_count(app, "password_changed") == 1


# --- password recovery ----------------------------------------------------------------------

SAME_ANSWER = (
    "If an account exists for that address, we've sent a link to it. It works for one hour."
)


def test_the_login_page_links_to_recovery(client):
    page = text(client.get("/login"))
    assert "Forgot password?" in texts(page, 'a[href="/forgot-password"]')
    page = text(client.get("/forgot-password"))
    assert "Email" in texts(page, 'label[for="email"]')
    assert "Send recovery link" in texts(page, "button")


@pytest.mark.parametrize("htmx", [False, True])
def test_recovery_gives_the_same_answer_whoever_asks(app, make_user, htmx):
    sponsor_user = make_user("active@example.com")
    make_user("managed@example.com", status=UserStatus.MANAGED, with_password=False)
    make_user("gone@example.com", status=UserStatus.DEACTIVATED)
    client = app.test_client()
    answers = {}
    for email in ("active@example.com", "MANAGED@Example.com ", "gone@example.com", "who@x.org"):
        response = post_form(client, "/forgot-password", {"email": email}, htmx=htmx)
        assert response.status_code == 200
        assert SAME_ANSWER in text(response)
        assert is_whole_page(response) is not htmx
        # The page differs only in its CSRF token, which is signed with the time.
        answers[email] = without_csrf_token(response)
    assert len(set(answers.values())) == 1
    with app.app_context():
        recipients = sorted(
            db.session.scalars(
                db.select(MailMessage.recipient).where(MailMessage.kind == "recovery")
            )
        )
        assert recipients == ["active@example.com", "managed@example.com"]
        assert db.session.scalar(db.select(db.func.count(AccountToken.id))) == 2
    message = last_mail(app, "recovery")
    assert message.user_id is not None and "one hour" in message.body_text
    assert sponsor_user


def test_a_recovery_link_resets_the_password(app, client, auth, make_user):
    user_id = make_user("rae@example.com", first_name="Rae")
    post_form(client, "/forgot-password", {"email": "rae@example.com"})
    path = link_in(last_mail(app, "recovery").body_text)
    assert path.startswith("/account/recover/")
    row = account_token(app, path)
    assert row.purpose is AccountTokenPurpose.RECOVERY
    assert timedelta(minutes=59) < row.expires_at - utcnow() <= timedelta(hours=1)
    page = client.get(path)
    assert page.status_code == 200 and "Choose a new password" in text(page)
    response = set_password(client, path)
    assert response.status_code == 302 and response.headers["Location"] == "/partners/employers"
    assert actions(app, user_id) == ["password_reset"]
    assert not logs_in(app, "rae@example.com", PASSWORD)
    assert logs_in(app, "rae@example.com", NEW_PASSWORD)


def test_a_new_recovery_link_replaces_the_previous_one(app, make_user):
    make_user("twice@example.com")
    client = app.test_client()
    post_form(client, "/forgot-password", {"email": "twice@example.com"})
    first = link_in(last_mail(app, "recovery").body_text)
    post_form(client, "/forgot-password", {"email": "twice@example.com"})
    second = link_in(last_mail(app, "recovery").body_text)
    assert "replaced" in text(client.get(first))
    assert client.get(second).status_code == 200


def test_a_managed_account_recovers_into_an_active_one(app, client, managed):
    post_form(client, "/forgot-password", {"email": "pat.managed@keystone.example.com"})
    path = link_in(last_mail(app, "recovery").body_text)
    assert set_password(client, path).status_code == 302
    assert user_row(app, managed).status is UserStatus.ACTIVE
    assert actions(app, managed) == ["authenticated"]


def test_a_recovery_link_expires_after_an_hour(app, client, make_user):
    make_user("late@example.com")
    post_form(client, "/forgot-password", {"email": "late@example.com"})
    path = link_in(last_mail(app, "recovery").body_text)
    with app.app_context():
        db.session.execute(
            db.update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    response = client.get(path)
    assert response.status_code == 410
    assert "This link has expired. Recovery links work for one hour." in text(response)


@pytest.mark.parametrize(
    "email, message",
    [
        ("not-an-address", "Enter a valid email address."),
        ("a" * 10_000 + "@example.com", "Use at most 254 characters."),
        ("ana\x00@example.com", "without hidden or control characters"),
        ("ana@exa\x1bmple.com", "without hidden or control characters"),
        ("   ", "Enter your email."),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_bad_recovery_input_gets_a_message_and_changes_nothing(
    app, make_user, email, message, htmx
):
    make_user("ana@example.com")
    client = app.test_client()
    response = post_form(client, "/forgot-password", {"email": email}, htmx=htmx)
    assert response.status_code == 422
    page = text(response)
    assert message in (field_error(page, "email") or "")
    assert SAME_ANSWER not in page
    assert mail_count(app) == 0


@pytest.fixture
def no_answer_floor(app, monkeypatch):
    """For tests that send many requests: the timing floor has its own test."""
    monkeypatch.setitem(app.config, "RECOVERY_ANSWER_SECONDS", 0)


def test_recovery_takes_as_long_for_unknown_addresses_as_for_real_ones(app, make_user):
    make_user("known@example.com")
    client = app.test_client()
    token = csrf_token(client.get("/forgot-password"))
    durations = {}
    for email in ("known@example.com", "nobody@example.com"):
        started = time.monotonic()
        client.post("/forgot-password", data={"email": email, "csrf_token": token})
        durations[email] = time.monotonic() - started
    floor = link_emails.RECOVERY_ANSWER_SECONDS
    assert all(floor <= d < floor + 0.5 for d in durations.values()), durations
    assert mail_count(app, "recovery") == 1


def test_recovery_is_rate_limited_per_address_and_client(app, make_user, no_answer_floor):
    make_user("target@example.com")
    client = app.test_client()
    for _ in range(5):
        assert (
            post_form(client, "/forgot-password", {"email": "target@example.com"}).status_code
            == 200
        )
    response = post_form(client, "/forgot-password", {"email": " Target@example.com"})
    assert response.status_code == 429
    assert "Too many" in text(response)
    # Five answers, but no more emails than an account receives in an hour.
    assert mail_count(app, "recovery") == app.config["RECOVERY_EMAILS_PER_HOUR"] == 3
    # Another address from the same client is still answered.
    assert post_form(client, "/forgot-password", {"email": "else@example.com"}).status_code == 200


def client_at(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_a_stranger_can_neither_exhaust_recovery_nor_flood_the_owners_mailbox(
    app, make_user, no_answer_floor
):
    make_user("victim@example.com")
    for n in range(12):
        stranger = client_at(app, f"198.51.100.{n}")
        response = post_form(stranger, "/forgot-password", {"email": "victim@example.com"})
        assert response.status_code == 200 and SAME_ANSWER in text(response)
    assert mail_count(app, "recovery") == 3
    newest = link_in(last_mail(app, "recovery").body_text)

    # Past the cap the answer is the one an unknown address gets.
    answers = []
    for address in ("victim@example.com", "nobody@example.com"):
        response = post_form(client_at(app, "192.0.2.1"), "/forgot-password", {"email": address})
        assert response.status_code == 200
        answers.append(re.sub(r'"X-CSRFToken": "[^"]+"', "", text(response)))
    assert answers[0] == answers[1]
    assert mail_count(app, "recovery") == 3

    # The owner was not refused, and the newest link in their mailbox still works.
    owner = client_at(app, "192.0.2.1")
    assert owner.get(newest).status_code == 200
    assert set_password(owner, newest).status_code == 302

    # An hour on, the account receives recovery emails again.
    with app.app_context():
        db.session.execute(
            db.update(MailMessage).values(created_at=utcnow() - timedelta(minutes=61))
        )
        db.session.commit()
    post_form(client_at(app, "192.0.2.2"), "/forgot-password", {"email": "victim@example.com"})
    assert mail_count(app, "recovery") == 4


def test_recovery_is_rate_limited_per_client(app, no_answer_floor):
    client = app.test_client()
    token = csrf_token(client.get("/forgot-password"))
    for n in range(20):
        response = client.post(
            "/forgot-password", data={"email": f"n{n}@example.com", "csrf_token": token}
        )
        assert response.status_code == 200
    response = client.post(
        "/forgot-password", data={"email": "n99@example.com", "csrf_token": token}
    )
    assert response.status_code == 429


# --- My organization ------------------------------------------------------------------------


@pytest.fixture
def keystone(app, make_sponsor, make_org, make_user, auth):
    """An employer with an administrator, a supervisor and a managed mentor; another
    organization and another sponsor's organization next to it."""
    sponsor_id = make_sponsor("Keystone Sponsor")
    org_id = make_org(sponsor_id, "Keystone Electric")
    with app.app_context():
        org = db.session.get(PartnerOrganization, org_id)
        org.city, org.state, org.notes = "Dayton", "OH", "Staff only: slow with paperwork"
        db.session.commit()
    other_org = make_org(sponsor_id, "Lakeshore College", OrganizationKind.PROVIDER)
    foreign_sponsor = make_sponsor("Elsewhere Sponsor")
    foreign_org = make_org(foreign_sponsor, "Keystone Electric")
    ids = {
        "sponsor": sponsor_id,
        "org": org_id,
        "admin": make_user(
            "admin@keystone.example.com",
            sponsor_id=sponsor_id,
            organization_id=org_id,
            user_type=UserType.ADMINISTRATOR,
            first_name="Ada",
            last_name="Admin",
        ),
        "supervisor": make_user(
            "sup@keystone.example.com",
            sponsor_id=sponsor_id,
            organization_id=org_id,
            user_type=UserType.SUPERVISOR,
            first_name="Sue",
            last_name="Visor",
        ),
        "mentor": make_user(
            "mentor@keystone.example.com",
            sponsor_id=sponsor_id,
            organization_id=org_id,
            user_type=UserType.MENTOR,
            status=UserStatus.MANAGED,
            first_name="Milo",
            last_name="Mentor",
            with_password=False,
        ),
        "other_user": make_user(
            "teacher@lakeshore.test",
            sponsor_id=sponsor_id,
            organization_id=other_org,
            user_type=UserType.PROVIDER,
            first_name="Olga",
            last_name="Outsider",
        ),
        "foreign_user": make_user(
            "admin@elsewhere.test",
            sponsor_id=foreign_sponsor,
            organization_id=foreign_org,
            user_type=UserType.ADMINISTRATOR,
            first_name="Fred",
            last_name="Foreign",
        ),
        "foreign_org": foreign_org,
    }
    return ids


def partner_post(client, path, data, htmx=False):
    token = csrf_token(client.get("/my/account"))
    headers = {"X-CSRFToken": token, **(HTMX if htmx else {})}
    return client.post(path, data=data, headers=headers)


def test_partner_users_land_on_my_organization(auth, keystone, client):
    response = auth.login("sup@keystone.example.com")
    assert response.headers["Location"] == "/my/organization"
    assert client.get("/partners/employers").status_code == 403


def test_an_administrator_sees_the_organization_its_users_and_an_edit_button(
    auth, keystone, client
):
    auth.login("admin@keystone.example.com")
    page = text(client.get("/my/organization"))
    assert "My organization" in page and "Keystone Electric" in page and "Employer" in page
    assert "Dayton" in page
    assert elements(page, '[aria-label="Edit"]')
    for name in ("Ada Admin", "Sue Visor", "Milo Mentor"):
        assert name in page
    assert "Managed" in page
    # Nothing of another organization or another sponsor, nor the sponsor's own notes.
    for hidden in (
        "Olga Outsider",
        "Lakeshore",
        "Fred Foreign",
        "Elsewhere",
        "slow with paperwork",
    ):
        assert hidden not in page


def test_a_supervisor_reads_the_organization_without_users_or_edit(auth, keystone, client):
    auth.login("sup@keystone.example.com")
    page = text(client.get("/my/organization"))
    assert "Keystone Electric" in page and "Dayton" in page
    assert not elements(page, '[aria-label="Edit"]')
    assert "Milo Mentor" not in page and "Ada Admin" not in page
    assert client.get("/my/organization/edit").status_code == 403
    response = partner_post(client, "/my/organization/edit", {"name": "Hijacked"})
    assert response.status_code == 403
    with client.application.app_context():
        assert db.session.get(PartnerOrganization, keystone["org"]).name == "Keystone Electric"


@pytest.mark.parametrize("htmx", [False, True])
def test_an_administrator_edits_the_organization_in_place(app, auth, keystone, client, htmx):
    auth.login("admin@keystone.example.com")
    form = client.get("/my/organization/edit", headers=HTMX)
    assert form.status_code == 200
    html = text(form)
    assert not is_whole_page(html) and "ask your sponsor's staff" in html
    assert not elements(html, '[name="notes"]') and not elements(html, '[name="name"]')
    data = {
        "name": "Keystone Electric LLC",
        "city": "Columbus",
        "state": "oh",
        "naics_code": "238210",
    }
    response = partner_post(client, "/my/organization/edit", data, htmx=htmx)
    if htmx:
        assert response.status_code == 200
        assert "Columbus" in text(response) and not is_whole_page(response)
    else:
        assert response.status_code == 302 and response.headers["Location"] == "/my/organization"
    with app.app_context():
        org = db.session.get(PartnerOrganization, keystone["org"])
        # The name is the staff's to change: a rename refused as a duplicate would tell one
        # partner of another.
        assert (org.name, org.city, org.state, org.naics_code) == (
            "Keystone Electric",
            "Columbus",
            "OH",
            "238210",
        )
        event = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "organization_updated")
        )
        assert event.details["fields"] == ["city", "naics_code"]  # the state was OH already
        assert event.actor_id is not None
        assert org.notes == "Staff only: slow with paperwork"  # not theirs to see or erase
        other = db.session.get(PartnerOrganization, keystone["foreign_org"])
        assert other.name == "Keystone Electric"


def test_organization_edit_errors_come_back_beside_the_fields(
    app, auth, keystone, client, make_org
):
    make_org(keystone["sponsor"], "Rival Electric")
    auth.login("admin@keystone.example.com")
    response = partner_post(
        client, "/my/organization/edit", {"name": "rival electric", "zip_code": "x"}, htmx=True
    )
    assert response.status_code == 422
    page = text(response)
    assert "5-digit ZIP code" in page
    # Another partner's name is neither refused (which would tell of it) nor taken.
    response = partner_post(client, "/my/organization/edit", {"name": "rival electric"}, htmx=True)
    assert response.status_code == 200 and "Rival" not in text(response)
    with app.app_context():
        assert db.session.get(PartnerOrganization, keystone["org"]).name == "Keystone Electric"


def test_staff_get_403_on_my_organization(staff):
    assert staff.get("/my/organization").status_code == 403
    assert staff.get("/my/organization/edit").status_code == 403


def test_anonymous_people_are_sent_to_log_in(client):
    for path in ("/my/organization", "/my/account", "/my/organization/edit"):
        response = client.get(path)
        assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


# --- My account -----------------------------------------------------------------------------


def test_my_account_shows_the_person_and_the_password_form(auth, keystone, client):
    auth.login("sup@keystone.example.com")
    page = text(client.get("/my/account"))
    assert "Sue" in page and "Visor" in page and "sup@keystone.example.com" in page
    assert "Supervisor" in page and "Keystone Electric" in page
    for label in ("Current password", "New password", "Confirm password"):
        assert label in texts(page, "label")
    assert "Change password" in texts(page, "button") and elements(page, '[aria-label="Edit"]')


@pytest.mark.parametrize("htmx", [False, True])
def test_a_person_changes_their_name(app, auth, keystone, client, htmx):
    auth.login("sup@keystone.example.com")
    form = text(client.get("/my/account/name", headers=HTMX))
    assert {"First name", "Last name"} <= set(texts(form, "label"))
    response = partner_post(
        client, "/my/account/name", {"first_name": " Susan ", "last_name": "Visor-Lee"}, htmx=htmx
    )
    if htmx:
        assert response.status_code == 200 and "Susan Visor-Lee" in text(response)
    else:
        assert response.status_code == 302
    user = user_row(app, keystone["supervisor"])
    assert (user.first_name, user.last_name, user.name_key) == (
        "Susan",
        "Visor-Lee",
        "visor-lee susan",
    )


def test_a_name_cannot_be_emptied_or_overlong(app, auth, keystone, client):
    auth.login("sup@keystone.example.com")
    response = partner_post(
        client, "/my/account/name", {"first_name": "", "last_name": "x" * 300}, htmx=True
    )
    assert response.status_code == 422
    page = text(response)
    assert "Enter your first name." in page and "Use at most 100 characters." in page
    assert user_row(app, keystone["supervisor"]).first_name == "Sue"


def password_change(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None, htmx=False):
    data = {
        "current_password": current,
        "password": new,
        "confirm_password": new if confirm is None else confirm,
    }
    return partner_post(client, "/my/account/password", data, htmx=htmx)


@pytest.mark.parametrize("htmx", [False, True])
def test_changing_the_password_ends_other_sessions_but_not_this_one(
    app, auth, keystone, client, htmx
):
    auth.login("sup@keystone.example.com")
    other = app.test_client()
    with client.session_transaction() as s:
        cookie_session = dict(s)
    with other.session_transaction() as s:
        s.update(cookie_session)
    assert other.get("/my/account").status_code == 200
    response = password_change(client, htmx=htmx)
    if htmx:
        assert response.status_code == 200
        assert "Your password has been changed." in text(response)
    else:
        assert response.status_code == 302
        assert "Your password has been changed." in text(client.get("/my/account"))
    assert client.get("/my/account").status_code == 200
    assert other.get("/my/account").status_code == 302
    user = user_row(app, keystone["supervisor"])
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert actions(app, keystone["supervisor"]) == ["password_changed"]
    assert last_mail(app, "password_changed").recipient == "sup@keystone.example.com"
    # This page's CSRF token still works after the change.
    assert (
        partner_post(
            client, "/my/account/name", {"first_name": "Sue", "last_name": "V"}, htmx=True
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    "current, new, confirm, field, message",
    [
        ("wrong password entirely", NEW_PASSWORD, None, "current_password", "not your current"),
        (PASSWORD, "short", None, "password", "Use at least 12 characters."),
        (PASSWORD, "password1234", None, "password", "Choose a less common password"),
        (PASSWORD, NEW_PASSWORD, "something else", "confirm_password", "do not match"),
    ],
)
def test_password_change_problems_are_shown_beside_the_field(
    app, auth, keystone, client, current, new, confirm, field, message
):
    auth.login("sup@keystone.example.com")
    response = password_change(client, current, new, confirm, htmx=True)
    assert response.status_code == 422
    page = text(response)
    assert message in (field_error(page, field) or ""), page
    user = user_row(app, keystone["supervisor"])
    assert verify_password(user.password_hash, PASSWORD) and user.session_version == 1
    assert mail_count(app, "password_changed") == 0


def test_changing_the_password_ends_open_recovery_links(app, auth, keystone, client):
    post_form(app.test_client(), "/forgot-password", {"email": "sup@keystone.example.com"})
    path = link_in(last_mail(app, "recovery").body_text)
    auth.login("sup@keystone.example.com")
    assert password_change(client).status_code == 302
    assert "replaced" in text(app.test_client().get(path))


def test_staff_can_use_my_account(app, staff):
    page = text(staff.get("/my/account"))
    assert "staff@riverbend.test" in page
    response = staff.post(
        "/my/account/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert staff.get("/partners/employers").status_code == 200
    assert actions(app, staff.user_id) == ["password_changed"]
