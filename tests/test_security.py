"""Security sweeps generated from app.url_map: a route added later is covered by these tests.

Every endpoint is requested by anonymous people, each partner user type, a deactivated user,
staff of another sponsor and staff; every state-changing rule without a CSRF token; every
response is checked for its security headers. See docs/RELIABILITY.md.
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from werkzeug.middleware.proxy_fix import ProxyFix

from scope import create_app
from scope.config import ConfigurationError
from scope.extensions import db
from scope.mail.routes import HTML_PART_POLICY
from scope.models import (
    AccountToken,
    Invitation,
    Sponsor,
    User,
    UserStatus,
    UserType,
)
from tests.helpers import (
    ADMINISTRATOR_ONLY,
    ANY_ACCOUNT,
    CHANGING,
    PARTNER_INVITER,
    PARTNER_ONLY,
    PARTNER_TYPES,
    PASSWORD,
    PUBLIC,
    SECRET,
    Tenant,
    csrf_token,
    expand,
    is_whole_page,
    login,
    methods,
    parse,
    redis_url,
    rules,
)


def is_staff_page(endpoint: str) -> bool:
    return endpoint not in PUBLIC | ANY_ACCOUNT | PARTNER_ONLY


def request(client, method: str, url: str, *, token: str | None, htmx: bool, data=None):
    headers = {"HX-Request": "true"} if htmx else {}
    if token:
        headers["X-CSRFToken"] = token
    return client.open(url, method=method, headers=headers, data=data or {})


def check_headers(response) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    if response.status_code == 200 and re.fullmatch(
        r"/mail/mailbox/\d+/html", response.request.path
    ):
        # An email's HTML part, framed by the mailbox: its inline styles and nothing else.
        assert csp == HTML_PART_POLICY and "script" not in csp
        assert response.headers.get("X-Frame-Options") == "SAMEORIGIN"
        assert response.headers.get("X-Content-Type-Options") == "nosniff"
        return
    assert "frame-ancestors 'none'" in csp, response.request.path
    assert "script-src 'self'" in csp and "unsafe" not in csp
    assert response.headers.get("Referrer-Policy") == "no-referrer"
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    if response.mimetype == "text/html" and response.status_code != 204:
        document = parse(response)
        attributes = {
            name for node in document.iter() if isinstance(node.tag, str) for name in node.attrib
        }
        # No inline script, handler or style: the policy above would block them.
        assert not document.cssselect("script:not([src])"), response.request.path
        handlers = {a for a in attributes if re.fullmatch(r"on[a-z]+", a) or a.startswith("hx-on")}
        assert not handlers, (response.request.path, handlers)
        assert "style" not in attributes, response.request.path


def sweep(app, ids):
    """(endpoint, method, url) for every rule, method and any() option."""
    for rule in rules(app):
        for method in methods(rule):
            for url in expand(rule, ids):
                yield rule.endpoint, method, url


def _is_login_redirect(response, htmx: bool) -> bool:
    if htmx:
        return response.status_code == 204 and response.headers.get("HX-Redirect", "").startswith(
            "/login"
        )
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


# ------------------------------------------------------------------------ authorization


@pytest.mark.parametrize("htmx", [False, True])
def test_anonymous_people_are_sent_to_log_in_everywhere_but_public_pages(app, world, htmx):
    home, _ = world
    client = app.test_client()
    token = csrf_token(client)
    tried = 0
    for endpoint, method, url in sweep(app, home.ids()):
        response = request(client, method, url, token=token, htmx=htmx)
        check_headers(response)
        tried += 1
        if endpoint in PUBLIC:
            assert response.status_code < 500, (method, url)
        else:
            assert _is_login_redirect(response, htmx), (method, url, response.status_code)
    assert tried >= 50


@pytest.mark.parametrize("user_type", PARTNER_TYPES, ids=lambda t: t.value)
def test_partner_users_get_403_on_every_staff_page(app, world, user_type):
    home, _ = world
    client = login(app, f"{user_type.value}@home.example.com")
    token = csrf_token(client)
    for endpoint, method, url in sweep(app, home.ids()):
        if endpoint == "auth.logout":
            continue
        response = request(client, method, url, token=token, htmx=False)
        check_headers(response)
        if is_staff_page(endpoint):
            assert response.status_code == 403, (user_type, method, url, response.status_code)
            assert "Not allowed" in response.get_data(as_text=True)
        elif endpoint in ADMINISTRATOR_ONLY and user_type is not UserType.ADMINISTRATOR:
            assert response.status_code == 403, (user_type, method, url)
        else:
            assert response.status_code < 500, (method, url)
            assert response.status_code != 403, (user_type, method, url)


@pytest.mark.parametrize("user_type", PARTNER_TYPES, ids=lambda t: t.value)
def test_with_partner_invites_on_administrators_reach_the_external_wizard_only(
    app, world, user_type
):
    home, other = world
    with app.app_context():
        sponsor = db.session.get(Sponsor, home.sponsor_id)
        sponsor.partner_admins_invite = sponsor.partner_admins_invite_admins = True
        db.session.commit()
    client = login(app, f"{user_type.value}@home.example.com")
    token = csrf_token(client)
    for ids, theirs in ((home.ids(), False), (other.ids(), True)):
        for endpoint, method, url in sweep(app, ids):
            if not is_staff_page(endpoint):
                continue
            response = request(client, method, url, token=token, htmx=False)
            check_headers(response)
            inviter = (
                user_type is UserType.ADMINISTRATOR
                and endpoint in PARTNER_INVITER
                and "/teammates" not in url
                and "/managed" not in url
            )
            if not inviter:
                assert response.status_code == 403, (user_type, method, url)
            elif theirs and endpoint.startswith("manage.") and endpoint != "manage.invitations":
                # Another sponsor's invitation, by a guessed id: as absent as a missing one.
                assert response.status_code == 404, (method, url)
            else:
                assert response.status_code < 500, (method, url)
                assert response.status_code != 403, (method, url)
                assert SECRET not in response.get_data(as_text=True), (method, url)


def test_staff_reach_every_staff_page_and_partner_pages_refuse_them(app, world):
    home, _ = world
    client = login(app, "staff@home.example.com")
    token = csrf_token(client)
    for endpoint, method, url in sweep(app, home.ids()):
        if method != "GET" or endpoint == "auth.logout":
            continue
        response = request(client, method, url, token=token, htmx=False)
        check_headers(response)
        if endpoint in PARTNER_ONLY:
            assert response.status_code == 403, url
        elif is_staff_page(endpoint):
            assert response.status_code in (200, 302), (url, response.status_code)
            if response.status_code == 302:
                assert not response.headers["Location"].startswith("/login"), url


def test_a_deactivated_users_session_ends_everywhere(app, world):
    home, _ = world
    client = login(app, "staff@home.example.com")
    token = csrf_token(client)
    with app.app_context():
        db.session.execute(
            update(User).where(User.id == home.staff_id).values(status=UserStatus.DEACTIVATED)
        )
        db.session.commit()
    for endpoint, method, url in sweep(app, home.ids()):
        if endpoint in PUBLIC:
            continue
        for htmx in (False, True):
            response = request(client, method, url, token=token, htmx=htmx)
            assert _is_login_redirect(response, htmx), (method, url, response.status_code)


@pytest.mark.parametrize("htmx", [False, True])
def test_no_rule_answers_a_server_error_while_the_database_is_down(app, world, htmx, database_down):
    home, _ = world
    staff = login(app, "staff@home.example.com")
    token = csrf_token(staff)
    clients = {"staff": staff, "anonymous": app.test_client()}
    database_down()
    seen = set()
    for who, client in clients.items():
        for endpoint, method, url in sweep(app, home.ids()):
            response = request(client, method, url, token=token, htmx=htmx)
            response.close()
            status = response.status_code
            assert status < 500 or status == 503, (who, endpoint, method, url, status)
            seen.add(status)
    assert 503 in seen


# ------------------------------------------------------------------------ tenant isolation


def _fingerprint(app, tenant: Tenant) -> dict:
    """Every row the other sponsor owns, in every table that carries sponsor_id."""
    snapshot = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            if "sponsor_id" in table.c:
                rows = db.session.execute(
                    select(table)
                    .where(table.c.sponsor_id == tenant.sponsor_id)
                    .order_by(*table.primary_key.columns)
                ).all()
                snapshot[table.name] = [tuple(row) for row in rows]
        user_ids = select(User.id).where(User.sponsor_id == tenant.sponsor_id)
        snapshot["account_token"] = [
            tuple(r)
            for r in db.session.execute(
                select(AccountToken.__table__).where(AccountToken.user_id.in_(user_ids))
            ).all()
        ]
        snapshot["wizard_row"] = [
            tuple(r)
            for r in db.session.execute(
                text(
                    "SELECT wizard_row.* FROM wizard_row JOIN wizard_draft "
                    "ON wizard_draft.id = wizard_row.draft_id "
                    "WHERE wizard_draft.sponsor_id = :s ORDER BY wizard_row.id"
                ),
                {"s": tenant.sponsor_id},
            ).all()
        ]
    return snapshot


def cross_tenant_references(app) -> list[str]:
    """Rows that point at a row of another sponsor, found from the schema's foreign keys."""
    found = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            if "sponsor_id" not in table.c:
                continue
            for fk in table.foreign_keys:
                target = fk.column.table
                if target is table or "sponsor_id" not in target.c or target.name == "sponsor":
                    continue
                stmt = text(
                    f'SELECT count(*) FROM "{table.name}" a JOIN "{target.name}" b '
                    f'ON a."{fk.parent.name}" = b."{fk.column.name}" '
                    "WHERE a.sponsor_id <> b.sponsor_id"
                )
                if db.session.scalar(stmt):
                    found.append(f"{table.name}.{fk.parent.name}")
    return found


def _guessing_form(other: Tenant) -> dict:
    """A form that names the other sponsor's records in every field a route might read."""
    return {
        "user_id": [str(i) for i in other.users.values()],
        "organization": str(other.organization_id),
        "occupation": str(other.occupation_id),
        "email": "new-person@guess.example.com",
        "user_type": "mentor",
        "first_name": "Guess",
        "last_name": "Guess",
        "name": "Renamed by guess",
        "custom_message": "hello",
        "view": "profile",
    }


@pytest.mark.parametrize("htmx", [False, True])
def test_staff_cannot_read_or_change_another_sponsors_records_by_guessing_ids(app, world, htmx):
    home, other = world
    client = login(app, "staff@home.example.com")
    token = csrf_token(client)
    before = _fingerprint(app, other)
    query = (
        f"?organization={other.organization_id}&user_id={other.users[UserType.SUPERVISOR]}"
        f"&q=employer&search=employer&status=managed&type=supervisor"
        # The organization pickers search by name: the other sponsor's names all say SECRET
        # (searched for without its first letter, so that the echo of the search is not it).
        f"&organization_name={SECRET[1:]}&organization_choice={other.organization_id}"
    )
    tried = 0
    for endpoint, method, url in sweep(app, other.ids()):
        if not is_staff_page(endpoint):
            continue
        # Removing a wizard row is idempotent (a double click): a row that is not in one's own
        # draft is a no-op there, and the fingerprint below proves it.
        has_ids = any(
            arg.endswith("_id") and arg != "row_id"
            for arg in app.url_map._rules_by_endpoint[endpoint][0].arguments
        )
        if method == "GET":
            response = request(client, method, url + query, token=token, htmx=htmx)
        else:
            response = request(
                client, method, url, token=token, htmx=htmx, data=_guessing_form(other)
            )
        tried += 1
        body = response.get_data(as_text=True)
        assert response.status_code < 500, (method, url)
        assert SECRET not in body.lower(), (method, url)
        if has_ids:
            assert response.status_code == 404, (method, url, response.status_code)
    # Then every wizard finishes, so anything it accepted from the other sponsor would land.
    for slug in ("teammates", "external", "managed"):
        request(client, "POST", f"/invite/{slug}/send", token=token, htmx=htmx)
    assert tried >= 40
    assert _fingerprint(app, other) == before
    assert cross_tenant_references(app) == []


@pytest.mark.parametrize("ident", [2**31, 2**63, 2**64, 10**30])
def test_ids_past_what_a_database_holds_are_not_found_not_a_failure(app, world, ident):
    home, _ = world
    client = login(app, "staff@home.example.com")
    token = csrf_token(client)
    ids = {**home.ids(), **{k: ident for k in home.ids() if k.endswith("_id")}}
    tried = 0
    for endpoint, method, url in sweep(app, ids):
        if str(ident) not in url or endpoint == "invites.remove_row":
            continue
        response = request(client, method, url, token=token, htmx=False)
        assert response.status_code == 404, (method, url, response.status_code)
        tried += 1
    # Removing a wizard row that is not there leaves the wizard as it was.
    response = request(
        client, "POST", f"/invite/external/rows/{ident}/delete", token=token, htmx=True
    )
    assert response.status_code == 200
    assert tried >= 10


def test_out_of_range_and_odd_digit_ids_in_forms_and_filters_are_refused_with_a_message(app, world):
    home, _ = world
    client = login(app, "staff@home.example.com")
    token = csrf_token(client)
    for value in (str(2**31), str(2**63), "9" * 30, "²", "١"):
        response = request(
            client,
            "POST",
            "/invite/external",
            token=token,
            htmx=True,
            data={"organization": value},
        )
        assert response.status_code == 422, value
        assert "Choose an organization" in response.get_data(as_text=True)
        response = request(
            client, "GET", f"/manage/users?organization={value}", token=None, htmx=True
        )
        assert response.status_code == 200, value
        response = request(
            client,
            "POST",
            "/manage/users/bulk/deactivate",
            token=token,
            htmx=True,
            data={"user_id": [value]},
        )
        assert response.status_code < 500, value
        assert "No users selected" in response.get_data(as_text=True)
    for prefix in ("/join/", "/account/set-password/", "/account/recover/"):
        for ident in ("2200000000", str(2**64), "²", "٣"):
            response = client.get(f"{prefix}{ident}.{'A' * 43}")
            assert response.status_code == 404, (prefix, ident)


def test_parse_id_takes_only_ascii_digits_that_fit_64_bits():
    from scope.tenancy import MAX_ID, parse_id

    assert parse_id("42") == 42 and parse_id(42) == 42 and parse_id(str(MAX_ID)) == MAX_ID
    for bad in (
        "",
        "0",
        "-1",
        "+1",
        " 7",
        "1_0",
        "²",
        "٣",
        "１２",
        str(MAX_ID + 1),
        None,
        True,
        0,
        MAX_ID + 1,
        1.5,
    ):
        assert parse_id(bad) is None, bad


def test_exports_and_mailbox_show_only_this_sponsor(app, world):
    home, other = world
    client = login(app, "staff@home.example.com")
    for url in ("/manage/users.csv", "/mail/mailbox", "/manage/invitations", "/manage/users"):
        body = client.get(url + "?page_size=100").get_data(as_text=True).lower()
        assert SECRET not in body, url
    csv = client.get("/manage/users.csv").get_data(as_text=True)
    assert "supervisor@home.example.com" in csv


def test_partner_users_see_only_their_own_organization(app, world):
    _, other = world
    client = login(app, "administrator@home.example.com")
    for url in ("/my/organization", "/my/account"):
        assert SECRET not in client.get(url).get_data(as_text=True).lower()


# ------------------------------------------------------------------------ CSRF


@pytest.mark.parametrize("token", ["none", "forged"])
def test_every_state_changing_rule_refuses_a_request_without_a_valid_token(app, world, token):
    home, _ = world
    client = login(app, "staff@home.example.com")
    forged = "IjEyMyI.forged.token" if token == "forged" else None
    before = _fingerprint(app, home)
    tried = 0
    for rule in rules(app):
        for method in set(methods(rule)) & CHANGING:
            for url in expand(rule, home.ids()):
                response = request(
                    client, method, url, token=forged, htmx=False, data=_guessing_form(home)
                )
                tried += 1
                assert response.status_code == 400, (method, url, response.status_code)
                assert "This form has expired" in response.get_data(as_text=True)
    assert tried >= 25
    assert _fingerprint(app, home) == before
    assert client.get("/manage/users").status_code == 200  # still logged in


def test_a_token_from_another_session_is_refused(app, world):
    home, _ = world
    mine = login(app, "staff@home.example.com")
    theirs = app.test_client()
    stolen = csrf_token(theirs)
    response = mine.post("/logout", headers={"X-CSRFToken": stolen})
    assert response.status_code == 400


# ------------------------------------------------------------------------ sessions and cookies


def _session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def test_session_cookie_is_httponly_and_lax_and_not_secure_over_http(app, make_user, client):
    make_user("someone@example.com")
    token = csrf_token(client.get("/login"))
    response = client.post(
        "/login", data={"email": "someone@example.com", "password": PASSWORD, "csrf_token": token}
    )
    cookie = _session_cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_when_the_public_url_is_https(app, tmp_path):
    other = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "k",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "PUBLIC_URL": "https://scope.example.org",
            "MAIL_DELIVER_IN_PROCESS": False,
        }
    )
    response = other.test_client().get("/login")
    assert "Secure" in _session_cookie(response)
    assert "HttpOnly" in _session_cookie(response)


def test_login_renews_the_session_and_drops_what_was_planted_before(app, make_user, client):
    make_user("someone@example.com")
    token = csrf_token(client.get("/login"))
    with client.session_transaction() as s:
        s["planted"] = "by an attacker"
        secret_before = s["csrf_token"]
    client.post(
        "/login", data={"email": "someone@example.com", "password": PASSWORD, "csrf_token": token}
    )
    client.get("/my/account")
    with client.session_transaction() as s:
        assert "planted" not in s
        assert s["_user_id"]
        assert s["csrf_token"] != secret_before  # a fresh session: a new CSRF secret too


def _copy_session(app, client):
    other = app.test_client()
    with client.session_transaction() as s:
        saved = dict(s)
    with other.session_transaction() as s:
        s.update(saved)
    return other


def test_password_change_ends_every_other_session_server_side(app, make_user):
    make_user("someone@example.com")
    client = login(app, "someone@example.com")
    stolen = _copy_session(app, client)
    assert stolen.get("/my/account").status_code == 200
    new = "a completely different passphrase"
    response = client.post(
        "/my/account/password",
        data={"current_password": PASSWORD, "password": new, "confirm_password": new},
        headers={"X-CSRFToken": csrf_token(client)},
    )
    assert response.status_code in (200, 302), response.get_data(as_text=True)
    assert stolen.get("/my/account").status_code == 302
    assert client.get("/my/account").status_code == 200


def test_logout_ends_a_copied_cookie_too(app, make_user):
    make_user("someone@example.com")
    client = login(app, "someone@example.com")
    stolen = _copy_session(app, client)
    client.post("/logout", headers={"X-CSRFToken": csrf_token(client)})
    assert stolen.get("/my/account").status_code == 302


@pytest.fixture
def clock(monkeypatch):
    """Moves the time session cookies are signed and checked with; nobody sleeps."""
    from itsdangerous.timed import TimestampSigner

    real = TimestampSigner.get_timestamp
    offset = {"seconds": 0}

    def shifted(self) -> int:
        return real(self) + offset["seconds"]

    monkeypatch.setattr(TimestampSigner, "get_timestamp", shifted)

    class Clock:
        def advance(self, **delta) -> None:
            offset["seconds"] += int(timedelta(**delta).total_seconds())

    return Clock()


@pytest.mark.parametrize("htmx", [False, True])
def test_a_session_ends_after_the_idle_hours_without_a_request(app, make_user, clock, htmx):
    assert app.config["SESSION_IDLE_HOURS"] == 12
    make_user("someone@example.com")
    client = login(app, "someone@example.com")
    headers = {"HX-Request": "true"} if htmx else {}
    # Each request renews the session: a whole day of use with pauses under 12 hours.
    for _ in range(3):
        clock.advance(hours=11, minutes=59)
        response = client.get("/my/account", headers=headers)
        assert response.status_code == 200
        assert "Expires=" in _session_cookie(response)
    clock.advance(hours=12, seconds=1)
    response = client.get("/my/account", headers=headers)
    if htmx:
        assert response.status_code == 204
        assert response.headers["HX-Redirect"] == "/login?next=/my/account"
    else:
        assert response.status_code == 302
        assert response.headers["Location"] == "/login?next=/my/account"
    # Logging in again works.
    token = csrf_token(client.get("/login"))
    response = client.post(
        "/login", data={"email": "someone@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    assert client.get("/my/account").status_code == 200


def test_static_files_neither_renew_a_session_nor_carry_its_cookie(app, make_user, clock):
    make_user("someone@example.com")
    client = login(app, "someone@example.com")
    clock.advance(hours=11)
    static = client.get("/static/scope.js")
    static.close()
    assert static.status_code == 200 and "Set-Cookie" not in static.headers
    clock.advance(hours=1, seconds=1)
    assert client.get("/my/account").status_code == 302


def test_the_idle_hours_are_configurable(monkeypatch):
    monkeypatch.setenv("SCOPE_SESSION_IDLE_HOURS", "0.5")
    other = create_app({"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert other.permanent_session_lifetime == timedelta(minutes=30)


# ------------------------------------------------------------------------ rate limits


def _post_login(client, email, token, password="wrong password entirely"):
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_login_is_limited_per_address_across_clients(app, make_user):
    make_user("target@example.com")
    codes = []
    for n in range(12):
        client = app.test_client()
        token = csrf_token(client.get("/login"))
        response = client.post(
            "/login",
            data={"email": "target@example.com", "password": "nope", "csrf_token": token},
            environ_base={"REMOTE_ADDR": f"10.0.0.{n + 1}"},
        )
        codes.append(response.status_code)
    assert codes[:10] == [422] * 10 and codes[10:] == [429, 429]


def _client_at(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _log_in(client, email: str, password: str = PASSWORD) -> int:
    token = csrf_token(client.get("/login"))
    return _post_login(client, email, token, password).status_code


def _strangers_fail_at(app, email: str, count: int) -> list[int]:
    return [
        _log_in(_client_at(app, f"198.51.100.{n}"), email, "wrong password entirely")
        for n in range(count)
    ]


def test_strangers_failing_at_an_account_cannot_lock_its_owner_out(app, make_user):
    make_user("owner@example.com")
    owner = _client_at(app, "192.0.2.10")
    assert _log_in(owner, "owner@example.com") == 302
    owner.post("/logout", headers={"X-CSRFToken": csrf_token(owner)})

    codes = _strangers_fail_at(app, "owner@example.com", 15)
    assert codes[:10] == [422] * 10 and set(codes[10:]) == {429}
    # Another browser, even at the owner's address, is a stranger to the account.
    assert _log_in(_client_at(app, "192.0.2.10"), "owner@example.com") == 429

    # The owner's own browser is still answered: a mistake, then the right password.
    assert _log_in(owner, "owner@example.com", "a slip of the finger") == 422
    assert _log_in(owner, "owner@example.com") == 302


def test_only_a_browser_that_logged_in_to_that_account_gets_past_its_limit(app, make_user):
    make_user("owner@example.com")
    make_user("colleague@example.com")
    shared = _client_at(app, "192.0.2.20")
    assert _log_in(shared, "colleague@example.com") == 302
    shared.post("/logout", headers={"X-CSRFToken": csrf_token(shared)})
    _strangers_fail_at(app, "owner@example.com", 10)

    assert _log_in(shared, "owner@example.com") == 429
    forged = _client_at(app, "192.0.2.21")
    forged.set_cookie("scope_device", "W10.forged.signature", path="/login")
    assert _log_in(forged, "owner@example.com") == 429


def test_the_device_cookie_is_http_only_and_names_no_address(app, make_user):
    make_user("owner@example.com")
    client = app.test_client()
    token = csrf_token(client.get("/login"))
    response = _post_login(client, "owner@example.com", token, PASSWORD)
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("scope_d")]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/login" in cookie
    assert "owner" not in cookie and "example" not in cookie


def test_an_htmx_login_keeps_its_cookies_on_the_hx_redirect(app, make_user, client):
    make_user("owner@example.com")
    token = csrf_token(client.get("/login"))
    response = client.post(
        "/login",
        data={"email": "owner@example.com", "password": PASSWORD, "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/partners/employers"
    cookies = " ".join(response.headers.getlist("Set-Cookie"))
    assert "scope_device=" in cookies and "session=" in cookies


def test_one_client_gets_ten_attempts_a_minute_at_an_account_it_knows(app, make_user):
    make_user("owner@example.com")
    owner = _client_at(app, "192.0.2.30")
    assert _log_in(owner, "owner@example.com") == 302
    owner.post("/logout", headers={"X-CSRFToken": csrf_token(owner)})
    codes = [_log_in(owner, "owner@example.com", "wrong password entirely") for _ in range(10)]
    assert codes[:9] == [422] * 9 and codes[9] == 429
    # Other clients are not affected by this one's attempts.
    assert _log_in(_client_at(app, "192.0.2.31"), "owner@example.com") == 302


@pytest.mark.parametrize("htmx", [False, True])
def test_login_is_limited_per_client_with_a_readable_answer(app, client, htmx):
    token = csrf_token(client.get("/login"))
    headers = {"HX-Request": "true"} if htmx else {}
    codes = [
        client.post(
            "/login",
            data={"email": f"p{n}@example.com", "password": "x", "csrf_token": token},
            headers=headers,
        ).status_code
        for n in range(31)
    ]
    assert codes[:30] == [422] * 30
    limited = client.post(
        "/login",
        data={"email": "z@example.com", "password": "x", "csrf_token": token},
        headers=headers,
    )
    assert codes[30] == 429 and limited.status_code == 429
    body = limited.get_data(as_text=True)
    assert "Too many attempts" in body
    assert is_whole_page(body) is not htmx
    if htmx:
        assert limited.headers["HX-Retarget"] == "#alerts"


@pytest.fixture
def make_app(app):
    """Another app on the test database with its own settings; the shared limiter is bound
    to fresh memory storage again afterwards."""
    made = []

    def make(**config):
        other = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": app.config["SECRET_KEY"],
                "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                "MAIL_DELIVER_IN_PROCESS": False,
                "DEV_MAILBOX": True,
                **config,
            }
        )
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()
    create_app({"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def _failed_logins(client, count: int, forwarded_for=lambda n: None) -> list[int]:
    token = csrf_token(client.get("/login"))
    codes = []
    for n in range(count):
        address = forwarded_for(n)
        response = client.post(
            "/login",
            data={"email": f"p{n}@example.com", "password": "x", "csrf_token": token},
            headers={"X-Forwarded-For": address} if address else {},
        )
        codes.append(response.status_code)
    return codes


def test_without_trusted_proxies_a_forwarded_for_header_changes_nothing(app, client):
    assert app.config["TRUSTED_PROXIES"] == 0
    codes = _failed_logins(client, 31, lambda n: f"198.51.100.{n}")
    assert codes[:30] == [422] * 30 and codes[30] == 429


@pytest.mark.real_commits  # a second app instance, with connections of its own
def test_behind_a_trusted_proxy_clients_are_told_apart_by_the_address_it_saw(make_app):
    proxied = make_app(TRUSTED_PROXIES=1)
    assert isinstance(proxied.wsgi_app, ProxyFix)
    assert (proxied.wsgi_app.x_for, proxied.wsgi_app.x_proto, proxied.wsgi_app.x_host) == (1, 1, 0)
    client = proxied.test_client()
    codes = _failed_logins(client, 31, lambda n: "203.0.113.7")
    assert codes[:30] == [422] * 30 and codes[30] == 429
    # Whatever the client writes in front, the proxy appends the address it saw.
    assert _failed_logins(client, 1, lambda n: "198.51.100.1, 203.0.113.7") == [429]
    # Another client behind the same proxy is not lumped in.
    assert _failed_logins(client, 1, lambda n: "203.0.113.8") == [422]


@pytest.mark.parametrize("value", ["yes", "-1", "true", "1.5"])
def test_trusted_proxies_must_be_a_whole_number(monkeypatch, value):
    monkeypatch.setenv("SCOPE_TRUSTED_PROXIES", value)
    with pytest.raises(ConfigurationError, match="SCOPE_TRUSTED_PROXIES must be a whole number"):
        create_app({"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.real_commits  # a second app instance reads the users made here
def test_with_redis_unreachable_limits_hold_in_each_process_and_nothing_fails(make_app, make_user):
    down = make_app(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{_closed_port()}/0")
    make_user("owner@example.com")
    make_user("colleague@example.com")
    codes = _failed_logins(down.test_client(), 31)
    assert codes[:30] == [422] * 30 and codes[30] == 429
    strangers = []
    for n in range(11):
        stranger = down.test_client()
        stranger.environ_base["REMOTE_ADDR"] = f"198.51.100.{n}"
        strangers.append(_log_in(stranger, "owner@example.com", "wrong password entirely"))
    assert strangers[:10] == [422] * 10 and strangers[10] == 429

    person = down.test_client()
    person.environ_base["REMOTE_ADDR"] = "192.0.2.40"
    assert _log_in(person, "colleague@example.com") == 302
    token = csrf_token(person)
    headers = {"X-CSRFToken": token, "HX-Request": "true"}
    assert person.post("/invite/teammates/rows", data={"email": "new@example.com"}, headers=headers)
    sent = person.post("/invite/teammates/send", headers=headers)
    assert sent.status_code == 200 and "1 invitation sent." in sent.get_data(as_text=True)
    assert person.get("/join/guess").status_code == 404
    forgot = down.test_client()
    token = csrf_token(forgot.get("/forgot-password"))
    response = forgot.post("/forgot-password", data={"email": "x@example.com", "csrf_token": token})
    assert response.status_code == 200


def test_token_guessing_is_limited(app, client):
    codes = [client.get(f"/join/guess{n}").status_code for n in range(61)]
    assert set(codes[:60]) == {404} and codes[60] == 429
    codes = [client.post(f"/account/recover/guess{n}", data={}).status_code for n in range(31)]
    # POSTs without a CSRF token are refused before counting; the limit still applies.
    assert codes[-1] in (400, 429)


def test_invitation_sends_are_limited_per_sponsor_per_day(app, staff, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "EMAILS_PER_SPONSOR_PER_DAY", 3)
    for n in range(3):
        assert (
            staff.post("/invite/teammates/rows", {"email": f"p{n}@example.com"}).status_code == 200
        )
    assert staff.post("/invite/teammates/send", htmx=True).status_code == 200
    assert staff.post("/invite/teammates/rows", {"email": "p9@example.com"}).status_code == 200
    refused = staff.post("/invite/teammates/send", htmx=True)
    assert refused.status_code == 429
    assert "Too many" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Invitation.id))) == 3
    # Another staff member of the same sponsor shares the sponsor's allowance.
    colleague_id = make_user("colleague@riverbend.test", sponsor_id=staff.sponsor_id)
    colleague = login(app, "colleague@riverbend.test")
    token = csrf_token(colleague)
    colleague.post(
        "/invite/teammates/rows", data={"email": "q@example.com"}, headers={"X-CSRFToken": token}
    )
    assert (
        colleague.post("/invite/teammates/send", headers={"X-CSRFToken": token}).status_code == 429
    )
    assert colleague_id


def test_resend_is_limited_per_invitation(app, world):
    home, _ = world
    client = login(app, "staff@home.example.com")
    token = csrf_token(client)
    codes = [
        client.post(
            f"/manage/invitations/{home.invitation_id}/resend",
            headers={"X-CSRFToken": token, "HX-Request": "true"},
        ).status_code
        for _ in range(5)
    ]
    assert 409 in codes and codes[0] == 200
    assert "500" not in str(codes)


def _redis_reachable() -> bool:
    try:
        import redis

        redis.Redis.from_url(redis_url(), socket_connect_timeout=1).ping()
        return True
    except Exception:
        return False


@pytest.mark.real_commits  # two more apps on the database
@pytest.mark.skipif(
    not _redis_reachable(),
    reason="needs Redis at SCOPE_TEST_REDIS_URL (default redis://127.0.0.1:6379/15)",
)
def test_two_app_instances_share_limits_kept_in_redis(app, make_user):
    make_user("target@example.com")
    prefix = f"{os.environ.get('SCOPE_TEST_REDIS_PREFIX', 'scope_tests')}_{uuid.uuid4().hex}"
    instances = [
        create_app(
            {
                "TESTING": True,
                "SECRET_KEY": app.config["SECRET_KEY"],
                "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                "RATELIMIT_STORAGE_URI": redis_url(),
                "RATELIMIT_KEY_PREFIX": prefix,
                "MAIL_DELIVER_IN_PROCESS": False,
            }
        )
        for _ in range(2)
    ]
    try:
        codes = []
        for n in range(12):
            client = instances[n % 2].test_client()
            token = csrf_token(client.get("/login"))
            codes.append(
                client.post(
                    "/login",
                    data={"email": "target@example.com", "password": "x", "csrf_token": token},
                    environ_base={"REMOTE_ADDR": f"10.1.0.{n + 1}"},
                ).status_code
            )
        assert codes[:10] == [422] * 10 and codes[10:] == [429, 429]
    finally:
        import redis

        connection = redis.Redis.from_url(redis_url())
        for key in connection.scan_iter(f"*{prefix}*"):
            connection.delete(key)
        for instance in instances:
            with instance.app_context():
                db.engine.dispose()
        # The limiter is shared: bind it to fresh memory storage again for the other tests.
        create_app({"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
