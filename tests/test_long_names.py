"""Names at the longest a form takes, in letters that case folding makes longer ("ß" → "ss",
"ﬃ" → "ffi"), are kept on every form that takes one: their keys have room (the PostgreSQL
runs of this module are the ones that prove it; SQLite holds no column to its length)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from scope.extensions import db, limiter
from scope.models import MailMessage, Occupation, PartnerOrganization, User, UserType
from scope.text import name_key
from tests.helpers import csrf_token, element

ORGANIZATION = "ß" * 200
OCCUPATION = "ﬃ" * 200
FIRST, LAST = "ß" * 100, "ﬃ" * 100


def test_the_longest_names_grow_three_times_when_folded():
    assert len(name_key(OCCUPATION)) == 600 and len(name_key(f"{LAST} {FIRST}")) == 501


def test_an_organization_is_created_and_renamed_with_the_longest_name(app, staff, make_org):
    assert staff.post("/partners/employers/new", {"name": ORGANIZATION}).status_code == 302
    org = make_org(staff.sponsor_id, "Acme")
    renamed = "ﬃ" + ORGANIZATION[1:]
    assert staff.post(f"/partners/organizations/{org}/edit", {"name": renamed}).status_code == 302
    with app.app_context():
        names = db.session.scalars(select(PartnerOrganization.name_key)).all()
    assert sorted(names) == sorted([name_key(ORGANIZATION), name_key(renamed)])


def test_an_occupation_is_added_with_the_longest_name(app, staff):
    assert staff.post("/partners/occupations", {"name": OCCUPATION}).status_code == 302
    with app.app_context():
        keys = db.session.scalars(select(Occupation.name_key)).all()
    assert name_key(OCCUPATION) in keys


def _key_of(app, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).name_key


def test_a_person_is_named_with_the_longest_names_on_my_account_and_their_profile(
    app, staff, make_user, make_org
):
    answer = staff.post("/my/account/name", {"first_name": FIRST, "last_name": LAST})
    assert answer.status_code == 302
    assert _key_of(app, staff.user_id) == name_key(f"{LAST} {FIRST}")
    org = make_org(staff.sponsor_id, "Acme")
    person = make_user(
        "p@example.com",
        sponsor_id=staff.sponsor_id,
        organization_id=org,
        user_type=UserType.SUPERVISOR,
    )
    data = {
        "first_name": LAST,
        "last_name": FIRST,
        "email": "p@example.com",
        "user_type": "supervisor",
        "organization": org,
        "occupation": "",
    }
    assert staff.post(f"/manage/users/{person}/edit", data).status_code == 302
    assert _key_of(app, person) == name_key(f"{FIRST} {LAST}")


@pytest.fixture
def no_limits():
    limiter.enabled = False
    yield
    limiter.enabled = True


def test_a_public_sign_up_with_the_longest_names_is_confirmed(app, staff, make_org, no_limits):
    org = make_org(staff.sponsor_id, "Acme Robotics")
    staff.post("/invite/public-links/new", {"organization": org, "user_type": "supervisor"})
    url = element(staff.get("/invite/public-links"), 'input[id^="public-link-url-"]').get("value")
    path = "/" + url.split("/", 3)[3]
    person = app.test_client()
    password = "lantern meadow quartz saddle"
    fields = {"first_name": FIRST, "last_name": LAST, "email": "dana@example.com"}
    fields |= {"password": password, "confirm_password": password}
    answer = person.post(path, data={**fields, "csrf_token": csrf_token(person.get(path))})
    assert answer.status_code == 200
    with app.app_context():
        body = db.session.scalar(
            select(MailMessage.body_text).where(MailMessage.kind == "public_signup_confirm")
        )
    confirm = "/" + re.search(r"(https?://\S+)", body).group(1).split("/", 3)[3]
    answer = person.post(confirm, data={"csrf_token": csrf_token(person.get(confirm))})
    assert answer.status_code in (200, 302)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "dana@example.com"))
        assert user.name_key == name_key(f"{LAST} {FIRST}")
