"""Requests that race each other on PostgreSQL never answer 500 and leave one consistent state.

Each case once answered 500 (the data stayed right): a name created twice at once, two
people given one address at once, the first draft of a list created by two tabs, twenty
SENDs of one list, and set-password against Deactivate, which deadlocked. Real threads,
each with its own session, through the routes.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from scope.accounts import link_emails
from scope.extensions import db, limiter
from scope.models import (
    Invitation,
    MailMessage,
    Occupation,
    PartnerOrganization,
    User,
    UserStatus,
    UserType,
    WizardDraft,
    WizardRow,
)
from tests.helpers import PASSWORD, csrf_token

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.real_commits,
    pytest.mark.skipif(
        not os.environ.get("SCOPE_TEST_DATABASE_URL", "").startswith("postgresql"),
        reason="needs PostgreSQL: set SCOPE_TEST_DATABASE_URL=postgresql://... "
        "(SQLite serializes writers, so these races cannot happen there)",
    ),
]

STRONG = "lantern meadow quartz saddle"


@pytest.fixture(autouse=True)
def _no_rate_limits():
    limiter.enabled = False  # every thread comes from 127.0.0.1
    yield
    limiter.enabled = True


class Session:
    """A logged-in browser of its own: a test client and its CSRF token."""

    def __init__(self, app, email: str):
        self.client = app.test_client()
        page = self.client.get("/login").get_data(as_text=True)
        answer = self.client.post(
            "/login",
            data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(page)},
        )
        assert answer.status_code == 302
        self.token = csrf_token(self.client.get("/my/account").get_data(as_text=True))

    def post(self, url, data=None):
        headers = {"X-CSRFToken": self.token, "HX-Request": "true"}
        return self.client.post(url, data=data or {}, headers=headers)


def _together(functions) -> list:
    barrier = threading.Barrier(len(functions), timeout=30)
    results: list = [None] * len(functions)
    errors = []

    def run(i, function):
        barrier.wait()
        try:
            results[i] = function()
        except Exception as error:  # reported below, never swallowed
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    return results


@pytest.fixture
def team(app, make_sponsor, make_user):
    """Eight staff members of one sponsor, each logged in in a browser of their own."""
    sponsor_id = make_sponsor()
    emails = [f"staff{n}@riverbend.example" for n in range(8)]
    for email in emails:
        make_user(email, sponsor_id=sponsor_id)
    return sponsor_id, [Session(app, email) for email in emails]


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_one_employer_name_created_eight_times_at_once(app, team):
    sponsor_id, sessions = team
    answers = _together(
        [
            lambda s=s: s.post("/partners/employers/new", {"name": "Summit Builders"})
            for s in sessions
        ]
    )
    codes = Counter(a.status_code for a in answers)
    assert codes == {200: 1, 422: 7}, codes
    assert all(
        "already exists" in a.get_data(as_text=True) for a in answers if a.status_code == 422
    )
    assert _count(app, PartnerOrganization, PartnerOrganization.sponsor_id == sponsor_id) == 1


def test_one_occupation_created_eight_times_at_once(app, team):
    sponsor_id, sessions = team
    before = _count(app, Occupation, Occupation.sponsor_id == sponsor_id)
    answers = _together(
        [lambda s=s: s.post("/partners/occupations", {"name": "Millwright"}) for s in sessions]
    )
    assert Counter(a.status_code for a in answers) == {200: 1, 422: 7}
    assert _count(app, Occupation, Occupation.sponsor_id == sponsor_id) == before + 1


def test_eight_people_given_one_address_at_once(app, team, make_user, make_org):
    sponsor_id, sessions = team
    org = make_org(sponsor_id, "Keystone Electric")
    people = [
        make_user(
            "",
            sponsor_id=sponsor_id,
            user_type=UserType.SUPERVISOR,
            status=UserStatus.MANAGED,
            organization_id=org,
            with_password=False,
        )
        for _ in sessions
    ]

    def edit(session, user_id):
        data = {
            "first_name": "Ana",
            "last_name": "Ruiz",
            "email": "ana@keystone.example",
            "user_type": "supervisor",
            "organization": str(org),
            "occupation": "",
        }
        return session.post(f"/manage/users/{user_id}/edit", data)

    answers = _together(
        [lambda s=s, u=u: edit(s, u) for s, u in zip(sessions, people, strict=True)]
    )
    assert Counter(a.status_code for a in answers) == {200: 1, 422: 7}
    assert _count(app, User, User.email == "ana@keystone.example") == 1


def test_the_first_rows_of_a_list_added_in_eight_tabs_at_once(app, make_sponsor, make_user):
    make_user("new@riverbend.example", sponsor_id=make_sponsor())
    tabs = [Session(app, "new@riverbend.example") for _ in range(8)]
    answers = _together(
        [
            lambda t=t, n=n: t.post("/invite/teammates/rows", {"email": f"p{n}@example.org"})
            for n, t in enumerate(tabs)
        ]
    )
    assert {a.status_code for a in answers} == {200}
    assert _count(app, WizardDraft) == 1 and _count(app, WizardRow) == 8


def test_twenty_sends_of_one_list_at_once_send_it_once(app, make_sponsor, make_user):
    make_user("sam@riverbend.example", sponsor_id=make_sponsor())
    tabs = [Session(app, "sam@riverbend.example") for _ in range(20)]
    tabs[0].post("/invite/teammates/rows", {"email": "same@person.example"})
    tabs[0].post("/invite/teammates/rows", {"email": "other@person.example"})
    answers = _together([lambda t=t: t.post("/invite/teammates/send") for t in tabs])
    assert {a.status_code for a in answers} == {200}
    assert _count(app, Invitation) == 2 and _count(app, MailMessage) == 2
    sent = [a.get_data(as_text=True) for a in answers]
    assert sum("2 invitations sent." in html for html in sent) == 1


@pytest.mark.parametrize("round_", range(12))
def test_set_password_against_deactivate_ends_deactivated(app, make_sponsor, make_user, round_):
    sponsor_id = make_sponsor()
    make_user("boss@riverbend.example", sponsor_id=sponsor_id)
    user_id = make_user(
        "ana@keystone.example",
        sponsor_id=sponsor_id,
        user_type=UserType.SUPERVISOR,
        status=UserStatus.MANAGED,
        with_password=False,
    )
    with app.app_context():
        link_emails.send_set_password_link(db.session.get(User, user_id), actor_id=None)
        db.session.commit()
        body = db.session.scalar(select(MailMessage.body_text))
    path = re.search(r"http://scope\.test(/account/\S+)", body)[1]
    person = app.test_client()
    token = csrf_token(person.get(path).get_data(as_text=True))
    boss = Session(app, "boss@riverbend.example")

    def set_password():
        form = {"password": STRONG, "confirm_password": STRONG, "csrf_token": token}
        return person.post(path, data=form)

    def deactivate():
        time.sleep(round_ * 0.02)  # both orders, and the moment in between
        return boss.post(f"/manage/users/{user_id}/deactivate")

    chosen, deactivated = _together([set_password, deactivate])
    assert chosen.status_code in (302, 410), chosen.status_code
    assert deactivated.status_code == 200, deactivated.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user_id).status is UserStatus.DEACTIVATED
    # Whoever won, the person has no session: the next page sends them to log in.
    assert person.get("/my/account").status_code == 302
