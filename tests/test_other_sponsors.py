"""Staff learn nothing of another sponsor's accounts, not even whether one exists.

An address that another sponsor has (as a login, a managed record or a deactivated account)
is new to this sponsor: its staff may invite it, keep a managed record of it and give it to
a profile, and every answer reads as for an address nobody has. Only the mailbox's owner is
told, when they follow the link, that they already have an account.
"""

from __future__ import annotations

import io
import re

import pytest

from scope.extensions import db
from scope.models import Invitation, MailMessage, User, UserStatus, UserType
from tests.helpers import csrf_token

STRONG = "plum tractor orbit lantern"
ELSEWHERE = {
    "a login": UserStatus.ACTIVE,
    "a managed record": UserStatus.MANAGED,
    "a deactivated account": UserStatus.DEACTIVATED,
}


@pytest.fixture
def elsewhere(make_sponsor, make_user):
    """Another sponsor's accounts, one of each kind, and a fresh address for comparison."""
    other = make_sponsor("Far Away Programs")
    addresses = {}
    for n, (kind, status) in enumerate(ELSEWHERE.items()):
        address = f"person{n}@shared.example"
        make_user(
            address,
            sponsor_id=other,
            user_type=UserType.SUPERVISOR,
            status=status,
            with_password=status is not UserStatus.MANAGED,
        )
        addresses[kind] = address
    return addresses


@pytest.fixture
def employer(staff, make_org):
    org = make_org(staff.sponsor_id, "Keystone Electric")
    staff.post("/invite/external", {"organization": org}, htmx=True)
    staff.post("/invite/managed/organization", {"organization": org}, htmx=True)
    return org


@pytest.mark.parametrize("kind", ELSEWHERE)
def test_add_says_nothing_of_their_account(staff, employer, elsewhere, kind):
    theirs = staff.post(
        "/invite/external/rows", {"user_type": "supervisor", "email": elsewhere[kind]}
    )
    assert theirs.status_code == 200
    assert "Scope account" not in theirs.get_data(as_text=True)
    assert "Far Away" not in theirs.get_data(as_text=True)


def test_the_answer_is_the_same_for_every_kind_of_address(staff, employer, elsewhere):
    answers = set()
    for address in [*elsewhere.values(), "new@nobody.example"]:
        response = staff.post(
            "/invite/external/rows", {"user_type": "supervisor", "email": address}, htmx=True
        )
        answers.add((response.status_code, response.get_data(as_text=True).count("error")))
    assert answers == {(200, 0)}


def test_their_addresses_are_invited_and_only_the_owner_learns_of_the_account(
    app, staff, employer, elsewhere
):
    for address in elsewhere.values():
        staff.post("/invite/external/rows", {"user_type": "supervisor", "email": address})
    html = staff.post("/invite/external/send", htmx=True).get_data(as_text=True)
    assert "3 invitations sent." in html
    with app.app_context():
        bodies = {
            m.recipient: m.body_text
            for m in db.session.scalars(
                db.select(MailMessage).where(MailMessage.kind == "invitation")
            )
        }
    login_link = re.search(r"http://scope\.test(/join/\S+)", bodies[elsewhere["a login"]])[1]
    person = app.test_client()
    page = person.get(login_link).get_data(as_text=True)
    form = {
        "first_name": "Pat",
        "last_name": "Lee",
        "password": STRONG,
        "confirm_password": STRONG,
        "csrf_token": csrf_token(page),
    }
    answer = person.post(login_link, data=form)
    assert answer.status_code == 410
    assert "You already have an account" in answer.get_data(as_text=True)
    # The owner of another sponsor's managed record signs up here: two sponsors, one person.
    managed_link = re.search(
        r"http://scope\.test(/join/\S+)", bodies[elsewhere["a managed record"]]
    )[1]
    page = person.get(managed_link).get_data(as_text=True)
    form["csrf_token"] = csrf_token(page)
    assert person.post(managed_link, data=form).status_code == 302
    with app.app_context():
        mine = db.session.scalar(
            db.select(User).where(
                User.sponsor_id == staff.sponsor_id, User.email == elsewhere["a managed record"]
            )
        )
        assert mine.status is UserStatus.ACTIVE
        assert (
            db.session.scalar(
                db.select(db.func.count(Invitation.id)).where(
                    Invitation.sponsor_id == staff.sponsor_id
                )
            )
            == 3
        )


def test_managed_records_of_their_addresses_are_created_from_the_wizard_and_a_file(
    app, staff, employer, elsewhere
):
    login, managed, _ = elsewhere.values()
    row = {"user_type": "supervisor", "first_name": "Ana", "last_name": "Ruiz", "email": login}
    assert staff.post("/invite/managed/rows", row, htmx=True).status_code == 200
    body = f"User type,First name,Last name,Email,Occupation\nSupervisor,Bo,Lin,{managed},\n"
    upload = staff.post(
        "/invite/managed/upload",
        {"csv_file": (io.BytesIO(body.encode()), "people.csv")},
        htmx=True,
        content_type="multipart/form-data",
    )
    assert upload.status_code == 200 and "1 person added" in upload.get_data(as_text=True)
    html = staff.post("/invite/managed/send", htmx=True).get_data(as_text=True)
    assert "2 managed users created." in html
    with app.app_context():
        mine = db.session.scalars(
            db.select(User.email).where(
                User.sponsor_id == staff.sponsor_id, User.status == UserStatus.MANAGED
            )
        ).all()
    assert sorted(mine) == sorted([login, managed])


def test_a_managed_profile_takes_their_address_without_a_word(app, staff, employer, elsewhere):
    row = {"user_type": "supervisor", "first_name": "Ana", "last_name": "Ruiz", "email": ""}
    staff.post("/invite/managed/rows", row)
    staff.post("/invite/managed/send")
    with app.app_context():
        ana = db.session.scalar(db.select(User).where(User.first_name == "Ana"))
    for address in elsewhere.values():
        data = {
            "first_name": "Ana",
            "last_name": "Ruiz",
            "email": address,
            "user_type": "supervisor",
            "organization": str(employer),
            "occupation": "",
        }
        response = staff.post(f"/manage/users/{ana.id}/edit", data, htmx=True)
        assert response.status_code == 200, address
        assert "Profile saved." in response.get_data(as_text=True)
        with app.app_context():
            assert db.session.get(User, ana.id).email == address


def test_converting_a_record_whose_address_is_a_login_elsewhere_tells_only_the_person(
    app, staff, employer, elsewhere
):
    """Uniqueness is settled at conversion: the person is sent to the account they have."""
    row = {
        "user_type": "supervisor",
        "first_name": "Ana",
        "last_name": "Ruiz",
        "email": elsewhere["a login"],
    }
    staff.post("/invite/managed/rows", row)
    staff.post("/invite/managed/send")
    with app.app_context():
        ana = db.session.scalar(
            db.select(User).where(User.sponsor_id == staff.sponsor_id, User.first_name == "Ana")
        )
    converted = staff.post(f"/manage/users/{ana.id}/convert", htmx=True)
    assert converted.status_code == 200
    with app.app_context():
        body = db.session.scalar(
            db.select(MailMessage.body_text).where(MailMessage.kind == "set_password")
        )
    path = re.search(r"http://scope\.test(/account/\S+)", body)[1]
    person = app.test_client()
    page = person.get(path).get_data(as_text=True)
    form = {"password": STRONG, "confirm_password": STRONG, "csrf_token": csrf_token(page)}
    answer = person.post(path, data=form)
    assert answer.status_code == 410
    assert "You already have an account" in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, ana.id).status is UserStatus.MANAGED


def test_recovery_goes_to_the_login_and_not_to_records_elsewhere(app, make_sponsor, make_user):
    """One address, a login in one sponsor and a managed record in another: the login
    gets the recovery link; with no login, each sponsor's record gets one."""
    make_user("one@shared.example", sponsor_id=make_sponsor("A"))
    make_user(
        "one@shared.example",
        sponsor_id=make_sponsor("B"),
        status=UserStatus.MANAGED,
        with_password=False,
    )
    for sponsor in ("C", "D"):
        make_user(
            "two@shared.example",
            sponsor_id=make_sponsor(sponsor),
            status=UserStatus.MANAGED,
            with_password=False,
        )
    client = app.test_client()
    for address in ("one@shared.example", "two@shared.example"):
        page = client.get("/forgot-password").get_data(as_text=True)
        client.post("/forgot-password", data={"email": address, "csrf_token": csrf_token(page)})
    with app.app_context():
        sent = db.session.execute(
            db.select(MailMessage.recipient, User.status)
            .join(User, MailMessage.user_id == User.id)
            .where(MailMessage.kind == "recovery")
        ).all()
    assert sorted((r, s.value) for r, s in sent) == [
        ("one@shared.example", "active"),
        ("two@shared.example", "managed"),
        ("two@shared.example", "managed"),
    ]
