"""MANAGE → Users and Profile details, through the test client."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select

from scope.extensions import db
from scope.models import (
    AuditEvent,
    Invitation,
    InvitationState,
    MailMessage,
    OrganizationKind,
    User,
    UserStatus,
    UserType,
)
from tests.helpers import (
    Auth,
    csrf_token,
    element,
    elements,
    fragment_elements,
    is_whole_page,
    row_menu,
    text_of,
    texts,
)

MANAGED = UserStatus.MANAGED
DEACTIVATED = UserStatus.DEACTIVATED


@pytest.fixture
def people(staff, make_user, make_org, occupation_id):
    """A small sponsor: one employer, one provider, users of every status."""
    sid = staff.sponsor_id
    beacon = make_org(sid, "Beacon Health")
    lakeshore = make_org(sid, "Lakeshore College", OrganizationKind.PROVIDER)
    electrician = occupation_id(sid)
    ids = {
        "staff": staff.user_id,
        "beacon": beacon,
        "lakeshore": lakeshore,
        "electrician": electrician,
        "maya": make_user(
            "maya@beacon.test",
            sponsor_id=sid,
            user_type=UserType.MENTOR,
            organization_id=beacon,
            occupation_id=electrician,
            first_name="Maya",
            last_name="Chen",
        ),
        "omar": make_user(
            "omar@beacon.test",
            sponsor_id=sid,
            user_type=UserType.SUPERVISOR,
            status=MANAGED,
            organization_id=beacon,
            first_name="Omar",
            last_name="Diaz",
            with_password=False,
        ),
        "nina": make_user(
            "",
            sponsor_id=sid,
            user_type=UserType.SUPERVISOR,
            status=MANAGED,
            organization_id=beacon,
            first_name="Nina",
            last_name="Noemail",
            with_password=False,
        ),
        "paul": make_user(
            "paul@lakeshore.test",
            sponsor_id=sid,
            user_type=UserType.PROVIDER,
            status=DEACTIVATED,
            organization_id=lakeshore,
            first_name="Paul",
            last_name="Park",
        ),
    }
    return ids


def get(app, user_id) -> User | None:
    with app.app_context():
        user = db.session.get(User, user_id)
        if user is not None:
            db.session.expunge(user)
        return user


def audit_actions(app, user_id) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.subject_type == "user_account", AuditEvent.subject_id == user_id)
                .order_by(AuditEvent.id)
            )
        )


def mail_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(MailMessage.id)))


def text(response) -> str:
    return response.get_data(as_text=True)


def names_in_order(html: str) -> list[str]:
    """The names the rows link to their profiles, top to bottom."""
    return [
        link.text_content()
        for link in elements(html, 'a[href^="/manage/users/"]')
        if re.fullmatch(r"/manage/users/\d+", link.get("href"))
    ]


# Listing ---------------------------------------------------------------------------------


def test_users_page_lists_everyone_with_every_column(staff, people):
    response = staff.get("/manage/users")
    html = text(response)
    assert response.status_code == 200
    assert text_of(html, "title") == "Manage · Scope"
    assert elements(html, '[role="tab"][id="tab-users"]')
    assert "Users" in texts(html, 'a[aria-selected="true"][tabindex="0"]')
    columns = [name.rstrip(" ▲▼") for name in texts(html, "thead th")]
    for label in ("Name", "Email", "User type", "Organization", "Occupation", "Status"):
        assert label in columns
    assert "Last login" in html
    assert "Maya Chen" in html and "maya@beacon.test" in html and "Beacon Health" in html
    assert "Electrician" in html and "Mentor" in html
    assert "Lakeshore College" in html and "Provider" in html
    # Staff show too.
    assert "staff@riverbend.test" in html and "Staff" in texts(html, "td")
    assert "Active" in texts(html, "span.badge.active")
    assert "Managed" in texts(html, "span.badge.managed")
    assert "Deactivated" in texts(html, "span.badge.deactivated")
    assert elements(html, f'[href="/manage/users/{people["maya"]}"]')
    assert elements(html, '[href="/manage/users.csv?sort=name&dir=asc"]')
    assert elements(html, 'script[src*="manage.js"]')


def test_htmx_request_returns_only_the_table(staff, people):
    response = staff.get("/manage/users?q=maya", htmx=True)
    html = text(response)
    root = fragment_elements(html)[0]
    assert (root.tag, root.get("id")) == ("div", "users")
    assert "Maya Chen" in html and "Omar Diaz" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_row_menu_offers_what_each_status_allows(app, staff, people):
    html = text(staff.get("/manage/users"))
    assert len(elements(html, '[aria-label="Actions"]')) == 5  # a button per row, a menu per table
    fragment = text(staff.get("/manage/users", htmx=True))
    assert len(elements(fragment, '[role="menu"]')) == 2  # the bulk ACTIONS menu, the rows' one

    def menu(user_id):
        return {label: (method, url) for label, method, url in row_menu(html, f"user-{user_id}")}

    omar = menu(people["omar"])
    assert set(omar) == {"View profile", "Convert to Authenticated", "Deactivate", "Delete"}
    nina = menu(people["nina"])  # managed without email: nothing to send to
    assert set(nina) == {"View profile", "Deactivate", "Delete"}
    assert set(menu(people["maya"])) == {"View profile", "Deactivate"}
    assert set(menu(people["paul"])) == {"View profile", "Reactivate"}
    assert set(menu(people["staff"])) == {"View profile"}  # nobody deactivates themselves
    # Every item leads to the route that does it, for that row's user.
    adapter = app.url_map.bind("localhost")
    for user_id, items in ((people["omar"], omar), (people["paul"], menu(people["paul"]))):
        for label, (method, url) in items.items():
            endpoint, args = adapter.match(url, method=method)
            assert args == {"user_id": user_id}, (label, url)
            assert endpoint.startswith("manage."), (label, url)
    assert adapter.match(omar["Delete"][1], method="GET")[0] == "manage.confirm_delete_user"
    # Deactivate asks first, naming the person: the row gives the name to the shared menu.
    assert elements(html, '[data-confirm="Deactivate {name}?"]')
    assert elements(html, f'tr[id="user-{people["omar"]}"][data-name="Omar Diaz"]')
    # The rows' menu and their {url} come from the table body (scope.js borrowMenu).
    assert elements(
        html, '#user-rows[data-menu-from="user-actions"][data-rows-url="/manage/users"]'
    )


@pytest.mark.parametrize(
    "query, shown, hidden",
    [
        ("q=maya", ["Maya Chen"], ["Omar Diaz"]),
        ("q=CHEN+maya", ["Maya Chen"], ["Omar Diaz"]),
        ("q=lakeshore.test", ["Paul Park"], ["Maya Chen"]),
        ("q=%25", [], ["Maya Chen"]),
        ("type=supervisor", ["Omar Diaz", "Nina Noemail"], ["Maya Chen", "Paul Park"]),
        ("type=staff", ["Sam "], ["Maya Chen"]),
        ("status=managed", ["Omar Diaz", "Nina Noemail"], ["Maya Chen", "Paul Park"]),
        ("status=deactivated", ["Paul Park"], ["Maya Chen"]),
        ("status=managed&q=omar", ["Omar Diaz"], ["Nina Noemail"]),
    ],
)
def test_search_and_filters(staff, people, query, shown, hidden):
    html = text(staff.get(f"/manage/users?{query}", htmx=True))
    for name in shown:
        assert name in html
    for name in hidden:
        assert name not in html


def test_organization_filter(staff, people):
    page = text(staff.get("/manage/users"))
    assert elements(page, 'input#filter-organization[role="combobox"]')
    assert not elements(page, "select#filter-organization")
    html = text(staff.get(f"/manage/users?organization={people['lakeshore']}", htmx=True))
    assert names_in_order(html) == ["Paul Park"]
    selected = text(staff.get(f"/manage/users?organization={people['lakeshore']}"))
    assert element(selected, "#filter-organization").get("value") == "Lakeshore College"
    assert element(selected, "#filter-organization-value").get("value") == str(people["lakeshore"])


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("name", ["Maya Chen", "Omar Diaz", "Nina Noemail", "Paul Park"]),
        ("email", ["Maya Chen", "Omar Diaz", "Paul Park", "Nina Noemail"]),
        ("type", ["Maya Chen", "Paul Park", "Omar Diaz", "Nina Noemail"]),
        ("status", ["Maya Chen", "Paul Park", "Omar Diaz", "Nina Noemail"]),
        ("organization", ["Maya Chen", "Omar Diaz", "Nina Noemail", "Paul Park"]),
    ],
)
def test_sort(staff, people, sort, expected):
    html = text(staff.get(f"/manage/users?sort={sort}&type=&q=", htmx=True))
    order = [name for name in names_in_order(html) if not name.startswith("Sam ")]
    assert order == expected
    desc = text(staff.get(f"/manage/users?sort={sort}&dir=desc", htmx=True))
    assert elements(desc, '[aria-sort="descending"]')


def test_sort_by_last_login_puts_never_last(app, staff, people):
    with app.app_context():
        now = datetime.now(UTC)
        db.session.get(User, people["maya"]).last_login_at = now - timedelta(days=2)
        db.session.get(User, people["paul"]).last_login_at = now - timedelta(days=1)
        db.session.commit()
    for direction, first in (("asc", "Maya Chen"), ("desc", "Paul Park")):
        html = text(staff.get(f"/manage/users?sort=last_login&dir={direction}", htmx=True))
        order = [n for n in names_in_order(html) if not n.startswith("Sam ")]
        assert order[0] == first and order[-1] in ("Omar Diaz", "Nina Noemail")


def test_paging_and_page_size_keep_state_in_links(staff, make_user):
    for i in range(30):
        make_user(
            f"u{i:02d}@x.test", sponsor_id=staff.sponsor_id, first_name="Ann", last_name=f"A{i:02d}"
        )
    first = text(staff.get("/manage/users?status=active"))
    assert "1–25 of 31" in first and "Ann A00" in first and "Ann A29" not in first
    # Sort links and the pager keep the filter; the toolbar shows it.
    assert elements(first, '[href="/manage/users?sort=name&dir=desc&page=1&status=active"]')
    # Next carries the filter and the cursor of the last row shown (keyset paging).
    (next_link,) = elements(first, 'a[rel="next"]')
    query = parse_qs(urlsplit(next_link.get("href")).query)
    assert query["status"] == ["active"] and query["sort"] == ["name"] and query["after"]
    assert "Active" in texts(first, 'option[value="active"][selected]')
    for second in (
        text(staff.get("/manage/users?status=active&page=2", htmx=True)),
        text(staff.get(next_link.get("href"), htmx=True)),
    ):
        assert "Ann A29" in second and "Ann A00" not in second and "26–31 of 31" in second
    small = text(staff.get("/manage/users?size=10&page=3&q=ann"))
    assert "21–30 of 30" in small
    (prev_link,) = elements(small, 'a[rel="prev"]')
    query = parse_qs(urlsplit(prev_link.get("href")).query)
    assert query["q"] == ["ann"] and query["size"] == ["10"] and query["before"]
    assert "11–20 of 30" in text(staff.get(prev_link.get("href")))
    assert "10" in texts(small, 'option[value="10"][selected]')
    assert elements(small, '[value="ann"]')
    # Export follows the same search and filters, without the page.
    assert elements(small, '[href="/manage/users.csv?sort=name&dir=asc&q=ann&size=10"]')


@pytest.mark.parametrize(
    "query",
    [
        "?page=abc",
        "?page=-4",
        "?sort=drop+table",
        "?dir=sideways",
        "?size=1000000",
        "?q=%00%25_",
        "?type=wizard",
        "?status=zombie",
        "?organization=abc",
        "?organization=99999999999999999999",
        "?q=" + "x" * 5000,
    ],
)
def test_malformed_listing_parameters_fall_back_to_defaults(staff, query):
    assert staff.get("/manage/users" + query).status_code == 200
    assert staff.get("/manage/users.csv" + query).status_code == 200


def test_empty_state_says_what_to_do(staff, people):
    html = text(staff.get("/manage/users?q=nobody-at-all", htmx=True))
    assert "No users match “nobody-at-all”" in html and "Clear the search and filters" in html
    html = text(staff.get("/manage/users?status=deactivated&type=staff", htmx=True))
    assert "No users match these filters" in html


def test_managed_user_shows_when_authentication_was_sent(app, staff, people):
    with app.app_context():
        db.session.get(User, people["omar"]).authentication_sent_at = datetime(
            2025, 3, 4, 10, 0, tzinfo=UTC
        )
        db.session.commit()
    html = text(staff.get("/manage/users?q=omar", htmx=True))
    assert "authentication sent" in html and "Mar 4, 2025" in html


@pytest.mark.real_commits  # counts statements: the test's own savepoints would add to them
def test_listing_issues_the_same_number_of_queries_whatever_the_page_size(
    app, staff, make_org, occupation_id
):
    sid = staff.sponsor_id
    orgs = [make_org(sid, f"Org {i}") for i in range(5)]
    occupation = occupation_id(sid)
    with app.app_context():
        db.session.add_all(
            User(
                sponsor_id=sid,
                email=f"bulk{i}@x.test",
                first_name="Bulk",
                last_name=f"U{i:03d}",
                name_key=f"u{i:03d} bulk",
                user_type=UserType.MENTOR,
                status=UserStatus.ACTIVE,
                partner_organization_id=orgs[i % 5],
                occupation_id=occupation,
            )
            for i in range(120)
        )
        db.session.commit()

    def count(url, htmx):
        statements = []

        def listener(conn, cursor, statement, *args):
            statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", listener)
        try:
            response = staff.get(url, htmx=htmx)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert response.status_code == 200
        return len(statements), text(response)

    for htmx in (False, True):
        small, small_html = count("/manage/users?size=10", htmx)
        large, large_html = count("/manage/users?size=100&sort=organization", htmx)
        assert len(elements(small_html, "tr[id]")) == 10
        assert len(elements(large_html, "tr[id]")) == 100
        assert "Org 3" in large_html and "Electrician" in large_html
        assert small == large
        assert large <= 4


# CSV export ------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_csv_exports_what_the_filters_show_on_all_pages(staff, make_user, people):
    for i in range(30):
        make_user(
            f"m{i:02d}@x.test",
            sponsor_id=staff.sponsor_id,
            status=MANAGED,
            user_type=UserType.SUPERVISOR,
            organization_id=people["beacon"],
            first_name="Mo",
            last_name=f"M{i:02d}",
            with_password=False,
        )
    response = staff.get("/manage/users.csv?status=managed&size=10&page=2")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.get_data().startswith("\ufeff".encode())
    rows = read_csv(response)
    assert rows[0] == [
        "Name",
        "First name",
        "Last name",
        "Email",
        "User type",
        "Organization",
        "Occupation",
        "Status",
        "Last login",
    ]
    assert len(rows) == 1 + 32  # 30 + Omar + Nina, every page
    assert {row[7] for row in rows[1:]} == {"Managed"}
    omar = next(row for row in rows if row[0] == "Omar Diaz")
    assert omar == [
        "Omar Diaz",
        "Omar",
        "Diaz",
        "omar@beacon.test",
        "Supervisor",
        "Beacon Health",
        "",
        "Managed",
        "",
    ]
    by_name = read_csv(staff.get("/manage/users.csv?q=maya"))
    assert [row[0] for row in by_name[1:]] == ["Maya Chen"] and by_name[1][6] == "Electrician"


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_csv_guards_against_formula_injection(staff, make_user, start):
    make_user(
        "evil@x.test",
        sponsor_id=staff.sponsor_id,
        first_name=f'{start}HYPERLINK("http://evil")',
        last_name=f"{start}1+1",
    )
    rows = read_csv(staff.get("/manage/users.csv?q=evil"))
    assert rows[1][1] == f'\'{start}HYPERLINK("http://evil")'
    assert rows[1][2] == f"'{start}1+1"
    assert rows[1][0].startswith("'")


# One account -----------------------------------------------------------------------------


def test_convert_to_authenticated_queues_the_email_and_shows_it_in_the_row(app, staff, people):
    response = staff.post(f"/manage/users/{people['omar']}/convert", htmx=True)
    html = text(response)
    assert response.status_code == 200
    root = fragment_elements(html)[0]
    assert (root.tag, root.get("id")) == ("tr", f"user-{people['omar']}")
    assert "authentication sent" in html
    assert elements(html, '[hx-swap-oob="innerHTML"]')
    assert "Authentication email sent to Omar Diaz." in html
    omar = get(app, people["omar"])
    assert omar.authentication_sent_at is not None and omar.status is MANAGED
    assert "authentication_sent" in audit_actions(app, people["omar"])
    with app.app_context():
        message = db.session.scalar(select(MailMessage))
        assert message.recipient == "omar@beacon.test" and message.user_id == people["omar"]


@pytest.mark.parametrize("who, message", [("nina", "no email address"), ("maya", "not a managed")])
def test_convert_is_refused_without_email_or_for_non_managed(app, staff, people, who, message):
    response = staff.post(f"/manage/users/{people[who]}/convert", htmx=True)
    assert response.status_code == 409
    assert message in text(response)
    assert mail_count(app) == 0
    assert get(app, people[who]).authentication_sent_at is None


def test_deactivate_ends_sessions_and_is_audited(app, staff, people):
    partner = app.test_client()
    assert Auth(partner, app).login("maya@beacon.test").status_code == 302
    assert partner.get("/my/account").status_code == 200
    before = get(app, people["maya"]).session_version
    response = staff.post(f"/manage/users/{people['maya']}/deactivate", htmx=True)
    html = text(response)
    assert response.status_code == 200
    assert "Deactivated" in texts(html, "span.badge.deactivated")
    assert elements(html, '[data-actions="reactivate"]') and "Maya Chen deactivated." in html
    maya = get(app, people["maya"])
    assert maya.status is DEACTIVATED and maya.session_version == before + 1
    assert audit_actions(app, people["maya"]) == ["deactivated"]
    # Her open session is over.
    after = partner.get("/my/account")
    assert after.status_code == 302 and "/login" in after.headers["Location"]


def test_deactivating_a_managed_user_ends_a_link_already_sent(app, staff, people):
    staff.post(f"/manage/users/{people['omar']}/convert", htmx=True)
    staff.post(f"/manage/users/{people['omar']}/deactivate", htmx=True)
    from scope.models import AccountToken

    with app.app_context():
        tokens = db.session.scalars(
            select(AccountToken).where(AccountToken.user_id == people["omar"])
        ).all()
        assert tokens and all(t.replaced_at is not None for t in tokens)
    assert get(app, people["omar"]).authentication_sent_at is None


def test_you_cannot_deactivate_yourself(app, staff, people):
    response = staff.post(f"/manage/users/{people['staff']}/deactivate", htmx=True)
    assert response.status_code == 409
    assert "your own account" in text(response)
    assert get(app, people["staff"]).status is UserStatus.ACTIVE


def test_deactivating_twice_is_refused(app, staff, people):
    response = staff.post(f"/manage/users/{people['paul']}/deactivate", htmx=True)
    assert response.status_code == 409 and "already deactivated" in text(response)


def test_reactivate_returns_to_active_or_managed(app, staff, people, make_user):
    response = staff.post(f"/manage/users/{people['paul']}/reactivate", htmx=True)
    assert response.status_code == 200 and "Paul Park reactivated." in text(response)
    assert get(app, people["paul"]).status is UserStatus.ACTIVE
    assert audit_actions(app, people["paul"]) == ["reactivated"]
    never_set = make_user(
        "ghost@x.test", sponsor_id=staff.sponsor_id, status=DEACTIVATED, with_password=False
    )
    staff.post(f"/manage/users/{never_set}/reactivate", htmx=True)
    assert get(app, never_set).status is MANAGED
    refused = staff.post(f"/manage/users/{people['maya']}/reactivate", htmx=True)
    assert refused.status_code == 409


def test_delete_asks_in_a_dialog_then_removes_the_row(app, staff, people):
    dialog = text(staff.get(f"/manage/users/{people['omar']}/delete", htmx=True))
    assert elements(dialog, "dialog[data-modal]") and "Delete Omar Diaz?" in dialog
    assert "Delete" in texts(dialog, 'button[type="submit"].button.danger[data-autofocus]')
    assert elements(dialog, f'[hx-target="#user-{people["omar"]}"]')
    with app.app_context():  # something Omar did, and something done to him
        db.session.add(
            AuditEvent(
                sponsor_id=staff.sponsor_id,
                actor_id=people["omar"],
                action="note",
                subject_type="user_account",
                subject_id=people["maya"],
            )
        )
        db.session.commit()
    staff.post(f"/manage/users/{people['omar']}/convert", htmx=True)
    response = staff.post(f"/manage/users/{people['omar']}/delete", htmx=True)
    html = text(response)
    assert response.status_code == 200
    assert not elements(html, "tr") and "Omar Diaz deleted." in html
    assert response.headers["HX-Trigger"] == "scope:close-dialog"
    assert get(app, people["omar"]) is None
    with app.app_context():
        deleted = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "deleted"))
        assert deleted.subject_id == people["omar"] and deleted.actor_id == staff.user_id
        assert deleted.details["name"] == "Omar Diaz"
        assert deleted.details["email"] == "omar@beacon.test"
        assert audit_actions(app, people["omar"]) == ["authentication_sent", "deleted"]
        note = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "note"))
        assert note.actor_id is None
        message = db.session.scalar(select(MailMessage))
        assert message.user_id is None
    assert "Omar Diaz" not in text(staff.get("/manage/users"))


@pytest.mark.parametrize("who", ["maya", "paul", "staff"])
def test_only_managed_users_can_be_deleted(app, staff, people, who):
    response = staff.post(f"/manage/users/{people[who]}/delete", htmx=True)
    assert response.status_code == 409 and "Only managed users can be deleted" in text(response)
    assert get(app, people[who]) is not None


def test_actions_without_htmx_redirect_with_a_message(app, staff, people):
    response = staff.post(f"/manage/users/{people['maya']}/deactivate")
    assert response.status_code == 302 and response.headers["Location"] == "/manage/users"
    assert "Maya Chen deactivated." in text(staff.get("/manage/users"))
    response = staff.post(f"/manage/users/{people['maya']}/reactivate", {"view": "profile"})
    assert response.headers["Location"] == f"/manage/users/{people['maya']}"
    response = staff.post(f"/manage/users/{people['nina']}/delete")
    assert response.headers["Location"] == "/manage/users"
    assert get(app, people["nina"]) is None


def test_actions_need_the_csrf_token(app, staff, people):
    response = staff.post(f"/manage/users/{people['maya']}/deactivate", htmx=True, csrf=False)
    assert response.status_code == 400
    assert get(app, people["maya"]).status is UserStatus.ACTIVE


def test_actions_answer_post_only(staff, people):
    assert staff.get(f"/manage/users/{people['maya']}/deactivate").status_code == 405


# Bulk actions ----------------------------------------------------------------------------


def test_bulk_convert_fifty_managed_users(app, staff, people, make_user, make_sponsor):
    sid = staff.sponsor_id
    with_email = [
        make_user(f"bulk{i}@x.test", sponsor_id=sid, status=MANAGED, with_password=False)
        for i in range(42)
    ]
    without_email = [
        make_user("", sponsor_id=sid, status=MANAGED, with_password=False) for i in range(8)
    ]
    other_sponsor = make_sponsor("Other Sponsor")
    theirs = make_user(
        "theirs@x.test", sponsor_id=other_sponsor, status=MANAGED, with_password=False
    )
    ids = with_email + without_email + [people["maya"], theirs]
    dialog = staff.get("/manage/users/bulk/convert", query_string={"user_id": ids}, htmx=True)
    html = text(dialog)
    assert elements(html, "dialog[data-modal]") and "Custom message" in html
    assert "Send" in texts(html, "button")
    assert "42 selected users will get an email" in html
    skipped = texts(html, "li")
    assert "8 skipped: no email" in skipped and "1 skipped: not managed" in skipped
    assert not elements(html, f'[value="{theirs}"]')

    response = staff.post(
        "/manage/users/bulk/convert",
        {"user_id": ids, "custom_message": "Welcome to the program!"},
        htmx=True,
    )
    assert response.status_code == 200
    assert "42 emails queued, 8 skipped: no email, 1 skipped: not managed" in text(response)
    assert elements(response, '[role="status"]')
    assert response.headers["HX-Trigger"] == "scope:close-dialog, scope:users-changed"
    assert mail_count(app) == 42
    with app.app_context():
        recipients = set(db.session.scalars(select(MailMessage.recipient)))
        assert "theirs@x.test" not in recipients and "maya@beacon.test" not in recipients
        body = db.session.scalar(select(MailMessage.body_text))
        assert "Welcome to the program!" in body
        sent = db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "authentication_sent")
        )
        assert sent == 42
    assert get(app, theirs).authentication_sent_at is None


def test_bulk_convert_custom_message_too_long_is_422(app, staff, people):
    response = staff.post(
        "/manage/users/bulk/convert",
        {"user_id": [people["omar"]], "custom_message": "x" * 2001},
        htmx=True,
    )
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#bulk-convert-form"
    assert "2,000 characters" in text(response)
    assert mail_count(app) == 0


def test_bulk_deactivate(app, staff, people, make_user):
    extra = make_user("x@x.test", sponsor_id=staff.sponsor_id)
    ids = [people["maya"], people["omar"], extra, people["paul"], people["staff"]]
    dialog = text(
        staff.get("/manage/users/bulk/deactivate", query_string={"user_id": ids}, htmx=True)
    )
    assert "Deactivate 5 selected users?" in dialog and "Deactivate" in texts(dialog, "button")
    response = staff.post("/manage/users/bulk/deactivate", {"user_id": ids}, htmx=True)
    assert (
        "3 users deactivated, 1 skipped: already deactivated, 1 skipped: your own account"
        in text(response)
    )
    assert response.headers["HX-Trigger"] == "scope:close-dialog, scope:users-changed"
    for user_id in (people["maya"], people["omar"], extra):
        assert get(app, user_id).status is DEACTIVATED
        assert audit_actions(app, user_id) == ["deactivated"]
    assert get(app, people["staff"]).status is UserStatus.ACTIVE


def test_bulk_reactivate(app, staff, people, make_user):
    unset = make_user(
        "u@x.test", sponsor_id=staff.sponsor_id, status=DEACTIVATED, with_password=False
    )
    ids = [people["paul"], unset, people["maya"]]
    dialog = text(
        staff.get("/manage/users/bulk/reactivate", query_string={"user_id": ids}, htmx=True)
    )
    assert "Reactivate 3 selected users?" in dialog and "1 skipped: not deactivated" in dialog
    response = staff.post("/manage/users/bulk/reactivate", {"user_id": ids}, htmx=True)
    assert "2 users reactivated, 1 skipped: not deactivated" in text(response)
    assert response.headers["HX-Trigger"] == "scope:close-dialog, scope:users-changed"
    assert get(app, people["paul"]).status is UserStatus.ACTIVE
    assert get(app, unset).status is MANAGED  # no password: back to Managed
    assert audit_actions(app, people["paul"]) == ["reactivated"]


def test_bulk_delete_deletes_managed_users_only(app, staff, people, make_sponsor, make_user):
    theirs = make_user(
        "theirs@x.test", sponsor_id=make_sponsor("Other"), status=MANAGED, with_password=False
    )
    ids = [people["omar"], people["nina"], people["maya"], people["staff"], theirs]
    dialog = text(staff.get("/manage/users/bulk/delete", query_string={"user_id": ids}, htmx=True))
    assert "Delete 4 selected users?" in dialog and "2 managed users will be deleted" in dialog
    response = staff.post("/manage/users/bulk/delete", {"user_id": ids}, htmx=True)
    assert "2 users deleted, 2 skipped: not managed" in text(response)
    assert get(app, people["omar"]) is None and get(app, people["nina"]) is None
    assert get(app, people["maya"]) is not None and get(app, theirs) is not None


def test_bulk_select_all_matching_users(app, staff, people, make_user):
    for i in range(30):
        make_user(f"m{i}@x.test", sponsor_id=staff.sponsor_id, status=DEACTIVATED)
    page = staff.get("/manage/users?status=deactivated", htmx=True)
    offer = element(page, "[data-select-matching]")
    assert offer.text_content() == "Select all 31 matching"
    matching = offer.get("data-select-matching")
    dialog = text(
        staff.get("/manage/users/bulk/reactivate", query_string={"matching": matching}, htmx=True)
    )
    assert "Reactivate 31 selected users?" in dialog
    response = staff.post("/manage/users/bulk/reactivate", {"matching": matching}, htmx=True)
    assert "31 users reactivated" in text(response)
    with app.app_context():
        assert not db.session.scalar(select(func.count(User.id)).where(User.status == DEACTIVATED))


def test_bulk_select_all_matching_users_is_capped(app, staff, people, monkeypatch):
    monkeypatch.setattr("scope.manage.actions.BULK_LIMIT", 2)
    response = staff.post("/manage/users/bulk/deactivate", {"matching": ""}, htmx=True)
    assert response.status_code == 422
    assert "Select at most 2 users at a time" in text(response)
    assert get(app, people["maya"]).status is UserStatus.ACTIVE


def test_bulk_with_nothing_selected_says_so(staff):
    for kind in ("convert", "deactivate", "reactivate", "delete"):
        dialog = text(staff.get(f"/manage/users/bulk/{kind}", htmx=True))
        assert "No users selected" in dialog and elements(dialog, "dialog")
        response = staff.post(f"/manage/users/bulk/{kind}", {"user_id": ["abc"]}, htmx=True)
        assert response.status_code == 422 and "No users selected" in text(response)


def test_bulk_is_capped(app, staff, people):
    ids = list(range(1, 1002))
    response = staff.post("/manage/users/bulk/deactivate", {"user_id": ids}, htmx=True)
    assert response.status_code == 422
    assert "Select at most 1,000 users at a time." in text(response)
    assert get(app, people["maya"]).status is UserStatus.ACTIVE


def test_bulk_ids_of_another_sponsor_are_ignored(app, staff, make_sponsor, make_user):
    other = make_sponsor("Other Sponsor")
    theirs = make_user("theirs@x.test", sponsor_id=other)
    response = staff.post("/manage/users/bulk/deactivate", {"user_id": [theirs]}, htmx=True)
    assert response.status_code == 422 and "No users selected" in text(response)
    assert get(app, theirs).status is UserStatus.ACTIVE


def test_users_page_has_the_bulk_controls(staff, people):
    html = text(staff.get("/manage/users"))
    assert elements(html, '[aria-label="Bulk actions"][disabled]')  # until a row is ticked
    assert text_of(html, '[aria-label="Bulk actions"]').startswith("Actions")
    assert texts(html, "#bulk-menu [role=menuitem]") == [
        "Convert to Authenticated",
        "Deactivate",
        "Reactivate",
        "Delete",
    ]
    assert elements(html, 'form[id="bulk-form"]')
    assert elements(html, f'[name="user_id"][value="{people["maya"]}"][form="bulk-form"]')
    assert elements(html, '[data-select-all][aria-label="Select all users on this page"]')
    assert elements(html, '[hx-include="#bulk-form"]')
    assert elements(html, '[hx-trigger="scope:users-changed from:body"]')


# Profile details -------------------------------------------------------------------------


def test_profile_shows_every_field(app, staff, people):
    html = text(staff.get(f"/manage/users/{people['maya']}"))
    for label, value in [
        ("Name", "Maya Chen"),
        ("Email", "maya@beacon.test"),
        ("User type", "Mentor"),
        ("Occupation", "Electrician"),
        ("Last login", "Never"),
    ]:
        assert label in texts(html, "dt") and value in html
    organization = f'a[href="/partners/organizations/{people["beacon"]}"]'
    assert "Beacon Health" in texts(html, organization)
    for label in ("Status", "Created", "Authentication sent"):
        assert label in texts(html, "dt")
    assert elements(html, '[aria-label="Edit"]') and "History" in texts(html, "h2")
    assert "Authenticate" not in html  # Maya is active
    managed = text(staff.get(f"/manage/users/{people['omar']}"))
    assert "Authenticate" in texts(managed, 'button[type="submit"].button.primary')


def test_authenticate_on_the_profile(app, staff, people):
    response = staff.post(f"/manage/users/{people['omar']}/convert", {"view": "profile"}, htmx=True)
    html = text(response)
    assert response.status_code == 200
    root = fragment_elements(html)[0]
    assert (root.tag, root.get("id")) == ("div", "user-profile")
    assert "Authentication email sent" in html
    assert re.search(r"Authentication email sent by Sam Person\d+", text_of(html))
    assert mail_count(app) == 1
    page = text(staff.get(f"/manage/users/{people['omar']}"))
    assert "Authentication email sent " in page


def test_authenticate_without_email_asks_for_one(app, staff, people):
    response = staff.post(f"/manage/users/{people['nina']}/convert", {"view": "profile"}, htmx=True)
    assert response.status_code == 409
    assert "Add one with Edit first" in text(response)
    assert mail_count(app) == 0


def test_deactivate_and_reactivate_on_the_profile(app, staff, people):
    response = staff.post(
        f"/manage/users/{people['maya']}/deactivate", {"view": "profile"}, htmx=True
    )
    html = text(response)
    assert elements(html, 'div[id="user-profile"]') and "Reactivate" in texts(html, "button")
    assert re.search(r"Deactivated by Sam Person\d+", text_of(html))
    response = staff.post(
        f"/manage/users/{people['maya']}/reactivate", {"view": "profile"}, htmx=True
    )
    assert re.search(r"Reactivated by Sam Person\d+", text_of(response))
    mine = text(staff.get(f"/manage/users/{people['staff']}"))
    assert "Deactivate" not in texts(mine, "button")


def test_edit_in_place(app, staff, people):
    form = staff.get(f"/manage/users/{people['maya']}/edit", htmx=True)
    html = text(form)
    root = fragment_elements(html)[0]
    assert (root.tag, root.get("id")) == ("section", "user-details")
    for label in ("First name", "Last name", "Email", "User type", "Organization", "Occupation"):
        assert label in texts(html, "label")
    assert elements(html, '[value="Maya"]') and elements(html, 'optgroup[label="Employers"]')
    response = staff.post(
        f"/manage/users/{people['maya']}/edit",
        {
            "first_name": "  Maya ",
            "last_name": "Chen-Ortiz",
            "email": "Maya.Chen@Beacon.EXAMPLE.org",
            "user_type": "administrator",
            "organization": str(people["lakeshore"]),
            "occupation": str(people["electrician"]),
        },
        htmx=True,
    )
    assert response.status_code == 200
    html = text(response)
    root = fragment_elements(html)[0]
    assert (root.tag, root.get("id")) == ("div", "user-profile")
    assert "Edit profile details" not in html and elements(html, "dl")
    assert "Profile saved. maya.chen@beacon.example.org gets an email to confirm" in html
    maya = get(app, people["maya"])
    # Maya logs in: her login changes only when the new address's owner confirms it.
    assert (maya.first_name, maya.last_name, maya.email) == (
        "Maya",
        "Chen-Ortiz",
        "maya@beacon.test",
    )
    assert maya.user_type is UserType.ADMINISTRATOR
    assert maya.partner_organization_id == people["lakeshore"]
    assert maya.occupation_id is None  # only mentors have one
    assert maya.name_key == "chen-ortiz maya"
    assert audit_actions(app, people["maya"]) == ["profile_updated", "email_change_requested"]
    edited = r"Profile edited by Sam Person\d+: last name, user type, organization"
    assert re.search(edited, text_of(html))
    assert "Changing to maya.chen@beacon.example.org: waiting for its owner to confirm" in html
    # The new address's owner confirms it; then it is the login.
    with app.app_context():
        confirm = db.session.scalar(select(MailMessage).where(MailMessage.kind == "confirm_email"))
        assert confirm.recipient == "maya.chen@beacon.example.org"
        path = re.search(r"http://scope\.test(/account/confirm-email/\S+)", confirm.body_text)[1]
    other = app.test_client()
    page = other.get(path).get_data(as_text=True)
    assert "maya.chen@beacon.example.org" in page and get(app, people["maya"]).email != (
        "maya.chen@beacon.example.org"
    )
    token = csrf_token(page)
    assert "Your new login is confirmed" in text(other.post(path, data={"csrf_token": token}))
    assert get(app, people["maya"]).email == "maya.chen@beacon.example.org"
    with app.app_context():
        told = db.session.scalar(select(MailMessage).where(MailMessage.kind == "email_changed"))
        assert told.recipient == "maya@beacon.test"
    assert Auth(other, app).login("maya.chen@beacon.example.org").status_code == 302


def test_edit_cancel_and_full_page_fallback(staff, people):
    details = text(staff.get(f"/manage/users/{people['maya']}", htmx=True))
    root = fragment_elements(details)[0]
    assert (root.tag, root.get("id")) == ("section", "user-details") and elements(details, "dl")
    page = text(staff.get(f"/manage/users/{people['maya']}/edit"))
    assert is_whole_page(page) and "Edit profile details" in page
    response = staff.post(
        f"/manage/users/{people['maya']}/edit",
        {
            "first_name": "Maya",
            "last_name": "Chen",
            "email": "maya@beacon.test",
            "user_type": "mentor",
            "organization": str(people["beacon"]),
            "occupation": str(people["electrician"]),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/manage/users/{people['maya']}"


def _edit_data(people, **changes):
    data = {
        "first_name": "Maya",
        "last_name": "Chen",
        "email": "maya@beacon.test",
        "user_type": "mentor",
        "organization": str(people["beacon"]),
        "occupation": str(people["electrician"]),
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"email": "a@b"}, "email", "Enter a valid email address."),
        ({"email": "OMAR@Example.org"}, "email", "Another account already uses this email"),
        ({"email": "two words@example.org"}, "email", "Enter a valid email address."),
        ({"email": ""}, "email", "cannot be empty"),
        ({"occupation": ""}, "occupation", "Choose the mentor's occupation."),
        ({"first_name": "x" * 10_000}, "first_name", "Use at most 100 characters."),
        ({"last_name": "y" * 10_000}, "last_name", "Use at most 100 characters."),
        ({"first_name": "   "}, "first_name", "Enter the first name."),
        ({"user_type": "staff"}, "user_type", "Not a valid choice"),
        ({"organization": ""}, "organization", "Choose the person"),
        ({"organization": "abc"}, "organization", "Choose the person"),
        ({"occupation": "999999"}, "occupation", "Choose the mentor's occupation."),
    ],
)
def test_edit_refuses_bad_input_and_changes_nothing(
    app, staff, people, make_user, changes, field, message
):
    make_user("omar@example.org", sponsor_id=staff.sponsor_id)
    before = get(app, people["maya"])
    response = staff.post(
        f"/manage/users/{people['maya']}/edit", _edit_data(people, **changes), htmx=True
    )
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#user-details"
    html = text(response)
    assert message in text_of(html)
    assert elements(html, f'[id="{field}-error"]') and elements(html, '[aria-invalid="true"]')
    after = get(app, people["maya"])
    for name in ("first_name", "last_name", "email", "user_type", "occupation_id"):
        assert getattr(after, name) == getattr(before, name)
    assert audit_actions(app, people["maya"]) == []


def test_an_email_another_sponsor_uses_gets_the_same_answer_as_a_new_one(
    app, staff, people, make_sponsor, make_user
):
    """Staff learn nothing of other sponsors: only the address's owner is told it is theirs."""
    make_user("taken@elsewhere.example", sponsor_id=make_sponsor("Elsewhere"))
    answers = []
    for address in ("Taken@Elsewhere.EXAMPLE", "fresh@elsewhere.example"):
        response = staff.post(
            f"/manage/users/{people['maya']}/edit", _edit_data(people, email=address), htmx=True
        )
        profile = text(staff.get(f"/manage/users/{people['maya']}"))
        waiting = f"Changing to {address.lower()}: waiting for its owner to confirm" in profile
        answers.append(
            (response.status_code, text(response).count("gets an email to confirm"), waiting)
        )
    # The profile too: a change waits for its owner either way.
    assert answers == [(200, 1, True), (200, 1, True)]
    assert get(app, people["maya"]).email == "maya@beacon.test"
    with app.app_context():
        sent = db.session.execute(select(MailMessage.kind, MailMessage.recipient)).all()
    assert sorted(sent) == [
        ("confirm_email", "fresh@elsewhere.example"),
        ("email_in_use", "taken@elsewhere.example"),
    ]


def test_edit_refuses_another_sponsors_organization(app, staff, people, make_sponsor, make_org):
    theirs = make_org(make_sponsor("Elsewhere"), "Their Employer")
    response = staff.post(
        f"/manage/users/{people['maya']}/edit",
        _edit_data(people, organization=str(theirs)),
        htmx=True,
    )
    assert response.status_code == 422
    assert get(app, people["maya"]).partner_organization_id == people["beacon"]


def test_a_managed_user_may_have_no_email_and_gets_one(app, staff, people):
    data = _edit_data(
        people, first_name="Nina", last_name="Noemail", user_type="supervisor", email=""
    )
    response = staff.post(f"/manage/users/{people['nina']}/edit", data, htmx=True)
    assert response.status_code == 200
    data["email"] = "Nina@Beacon.example.org"
    staff.post(f"/manage/users/{people['nina']}/edit", data, htmx=True)
    assert get(app, people["nina"]).email == "nina@beacon.example.org"


def test_changing_the_email_ends_a_link_already_sent(app, staff, people):
    staff.post(f"/manage/users/{people['omar']}/convert", htmx=True)
    data = _edit_data(
        people, first_name="Omar", last_name="Diaz", user_type="supervisor", email="o@example.org"
    )
    assert staff.post(f"/manage/users/{people['omar']}/edit", data, htmx=True).status_code == 200
    from scope.models import AccountToken

    with app.app_context():
        token = db.session.scalar(
            select(AccountToken).where(AccountToken.user_id == people["omar"])
        )
        assert token.replaced_at is not None
    assert get(app, people["omar"]).authentication_sent_at is None


def test_a_staff_users_type_cannot_be_changed_here(app, staff, people):
    form = text(staff.get(f"/manage/users/{people['staff']}/edit", htmx=True))
    assert "User type" not in texts(form, "label") and "cannot be changed here" in form
    response = staff.post(
        f"/manage/users/{people['staff']}/edit",
        {
            "first_name": "Samantha",
            "last_name": "Staffer",
            "email": "staff@riverbend.test",
            "user_type": "mentor",
            "organization": str(people["beacon"]),
        },
        htmx=True,
    )
    assert response.status_code == 200
    me = get(app, people["staff"])
    assert me.user_type is UserType.STAFF and me.partner_organization_id is None
    assert me.first_name == "Samantha"


def test_history_lists_what_happened_newest_first(app, staff, people, make_sponsor):
    elsewhere = make_sponsor("Elsewhere")
    with app.app_context():
        invitation = Invitation(
            sponsor_id=staff.sponsor_id,
            email="maya@beacon.test",
            user_type=UserType.MENTOR,
            invited_by_id=staff.user_id,
            state=InvitationState.ACCEPTED,
            nonce="n",
            expires_at=datetime.now(UTC) + timedelta(days=14),
            accepted_user_id=people["maya"],
        )
        db.session.add(invitation)
        db.session.flush()
        start = datetime.now(UTC) - timedelta(days=3)
        for minutes, actor, action, subject_type, subject_id in [
            (0, staff.user_id, "invited", "invitation", invitation.id),
            (1, None, "reviewed", "invitation", invitation.id),
            (2, people["maya"], "accepted", "invitation", invitation.id),
            (2, people["maya"], "created_from_invitation", "user_account", people["maya"]),
            (3, people["maya"], "password_changed", "user_account", people["maya"]),
        ]:
            db.session.add(
                AuditEvent(
                    sponsor_id=staff.sponsor_id,
                    actor_id=actor,
                    action=action,
                    subject_type=subject_type,
                    subject_id=subject_id,
                    created_at=start + timedelta(minutes=minutes),
                )
            )
        # Another sponsor's event about a record with the same id stays invisible.
        db.session.add(
            AuditEvent(
                sponsor_id=elsewhere,
                action="deactivated",
                subject_type="user_account",
                subject_id=people["maya"],
            )
        )
        db.session.commit()
    staff.post(f"/manage/users/{people['maya']}/deactivate", htmx=True)
    html = text(staff.get(f"/manage/users/{people['maya']}"))
    items = texts(html, 'h2:contains("History") ~ ol > li > span')
    assert len(items) == 5
    assert re.fullmatch(r"Deactivated by Sam Person\d+", items[0])
    assert items[1:] == [
        "Password changed",
        "Signed up from the invitation",
        "Invitation opened",
        items[4],
    ]
    assert re.fullmatch(r"Invited by Sam Person\d+", items[4])


# Who may see what ------------------------------------------------------------------------


def test_another_sponsors_users_are_404_everywhere(app, staff, make_sponsor, make_user):
    other = make_sponsor("Other Sponsor")
    theirs = make_user(
        "secret@other.test",
        sponsor_id=other,
        status=MANAGED,
        first_name="Secret",
        last_name="Person",
        with_password=False,
    )
    assert "Secret Person" not in text(staff.get("/manage/users"))
    assert "secret@other.test" not in text(staff.get("/manage/users.csv"))
    assert "Secret" not in text(staff.get("/manage/users?q=secret", htmx=True))
    for url in (
        f"/manage/users/{theirs}",
        f"/manage/users/{theirs}/edit",
        f"/manage/users/{theirs}/delete",
    ):
        assert staff.get(url).status_code == 404
    for action in ("convert", "deactivate", "reactivate", "delete", "edit"):
        response = staff.post(
            f"/manage/users/{theirs}/{action}",
            {"first_name": "Hijacked", "last_name": "X"},
            htmx=True,
        )
        assert response.status_code == 404
    user = get(app, theirs)
    assert user is not None and user.status is MANAGED and user.first_name == "Secret"
    assert mail_count(app) == 0


@pytest.mark.parametrize(
    "method, url",
    [
        ("get", "/manage/users"),
        ("get", "/manage/users.csv"),
        ("get", "/manage/users/{id}"),
        ("get", "/manage/users/{id}/edit"),
        ("post", "/manage/users/{id}/deactivate"),
        ("post", "/manage/users/{id}/convert"),
        ("post", "/manage/users/bulk/deactivate"),
    ],
)
def test_partner_users_get_403(app, client, auth, make_sponsor, make_user, make_org, method, url):
    sid = make_sponsor()
    org = make_org(sid)
    admin = make_user(
        "admin@partner.test", sponsor_id=sid, user_type=UserType.ADMINISTRATOR, organization_id=org
    )
    auth.login("admin@partner.test")
    token = csrf_token(client.get("/my/account"))
    url = url.format(id=admin)
    if method == "get":
        response = client.get(url)
    else:
        response = client.post(url, data={"user_id": [admin]}, headers={"X-CSRFToken": token})
    assert response.status_code == 403
    assert get(app, admin).status is UserStatus.ACTIVE


def test_anonymous_people_are_sent_to_log_in(client):
    response = client.get("/manage/users")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=st.text(max_size=300), email=st.text(max_size=300))
def test_any_profile_input_is_saved_or_refused_never_a_500(app, staff, make_user, first, email):
    user_id = make_user(None, sponsor_id=staff.sponsor_id, status=MANAGED, with_password=False)
    data = {"first_name": first, "last_name": "Person", "email": email}
    response = staff.post(f"/manage/users/{user_id}/edit", data, htmx=True)
    assert response.status_code in (200, 422)
    saved = get(app, user_id)
    if response.status_code == 422:
        assert saved.last_name.startswith("Person") and saved.first_name == "Test"
