"""Requests that race each other on PostgreSQL never answer 500 and leave one consistent state.

Each case once answered 500 (the data stayed right): a name created twice at once, two
people given one address at once, the first draft of a list created by two tabs, twenty
SENDs of one list, and set-password against Deactivate, which deadlocked. Real threads,
each with its own session, through the routes.
"""

from __future__ import annotations

import os
import re
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
from tests.helpers import PASSWORD, csrf_token, run_together

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
    answers = run_together(
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
    answers = run_together(
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

    answers = run_together(
        [lambda s=s, u=u: edit(s, u) for s, u in zip(sessions, people, strict=True)]
    )
    assert Counter(a.status_code for a in answers) == {200: 1, 422: 7}
    assert _count(app, User, User.email == "ana@keystone.example") == 1


def test_the_first_rows_of_a_list_added_in_eight_tabs_at_once(app, make_sponsor, make_user):
    make_user("new@riverbend.example", sponsor_id=make_sponsor())
    tabs = [Session(app, "new@riverbend.example") for _ in range(8)]
    answers = run_together(
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
    answers = run_together([lambda t=t: t.post("/invite/teammates/send") for t in tabs])
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

    chosen, deactivated = run_together([set_password, deactivate])
    assert chosen.status_code in (302, 410), chosen.status_code
    assert deactivated.status_code == 200, deactivated.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user_id).status is UserStatus.DEACTIVATED
    # Whoever won, the person has no session: the next page sends them to log in.
    assert person.get("/my/account").status_code == 302


def _public_link(app, sponsor_id: int, *, require_approval: bool) -> str:
    from scope.invites.tokens import new_nonce, public_link_token
    from scope.models import PartnerOrganization, PublicLink
    from scope.public_links.services import SIGN_UP_PATH
    from scope.text import name_key

    with app.app_context():
        org = PartnerOrganization(
            sponsor_id=sponsor_id, kind="employer", name="Acme", name_key=name_key("Acme")
        )
        db.session.add(org)
        db.session.flush()
        link = PublicLink(
            sponsor_id=sponsor_id,
            partner_organization_id=org.id,
            user_type=UserType.SUPERVISOR,
            nonce=new_nonce(),
            signup_count=0,
            require_approval=require_approval,
        )
        db.session.add(link)
        db.session.commit()
        return SIGN_UP_PATH + public_link_token(link)


def _sign_up(app, path: str, email: str):
    client = app.test_client()
    token = csrf_token(client.get(path).get_data(as_text=True))
    data = {
        "first_name": "Dana",
        "last_name": "Reyes",
        "email": email,
        "password": STRONG,
        "confirm_password": STRONG,
        "csrf_token": token,
    }
    return client.post(path, data=data)


def _confirm(app, path: str):
    client = app.test_client()
    token = csrf_token(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token})


@pytest.mark.parametrize("require_approval", [False, True])
def test_twenty_sign_ups_of_one_address_through_one_link_make_one_account(
    app, make_sponsor, require_approval
):
    from scope.models import PublicSignup

    sponsor_id = make_sponsor()
    path = _public_link(app, sponsor_id, require_approval=require_approval)
    answers = run_together([lambda: _sign_up(app, path, "dana@example.com") for _ in range(20)])
    assert {a.status_code for a in answers} == {200}
    with app.app_context():
        bodies = db.session.scalars(
            select(MailMessage.body_text).where(MailMessage.kind == "public_signup_confirm")
        ).all()
    paths = ["/p/confirm/" + re.search(r"/p/confirm/(\S+)", b).group(1) for b in bodies]
    assert len(paths) == 20
    # Every emailed link confirmed at once: one account (or one waiting sign-up), no 500.
    confirmed = run_together([lambda p=p: _confirm(app, p) for p in paths])
    codes = Counter(a.status_code for a in confirmed)
    assert set(codes) <= {200, 302, 410}, codes
    assert _count(app, User, User.email == "dana@example.com") == (0 if require_approval else 1)
    waiting = _count(app, PublicSignup, PublicSignup.pending_email == "dana@example.com")
    assert waiting == (1 if require_approval else 0)
