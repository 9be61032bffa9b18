"""Races on PostgreSQL with real threads, through the HTTP routes (Flask's test client).

The 20 simultaneous SENDs of one address are in tests/test_invites.py; token races of the
set-password and recovery links are in tests/test_accounts.py. See docs/RELIABILITY.md.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from scope.extensions import db, limiter
from scope.manage.invitations import copy_link
from scope.models import Invitation, InvitationState, User, UserType, utcnow
from tests.helpers import csrf_token, postgres_url, run_together

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.real_commits,  # threads
    pytest.mark.skipif(
        postgres_url() is None,
        reason="needs PostgreSQL: set SCOPE_TEST_DATABASE_URL=postgresql://... "
        "(SQLite serializes writers, so these races cannot happen there)",
    ),
]

STRONG = "lantern meadow quartz saddle"


@pytest.fixture(autouse=True)
def _no_rate_limits():
    # Every thread comes from 127.0.0.1; the limits are tested in tests/test_security.py.
    limiter.enabled = False
    yield
    limiter.enabled = True


def _invitation(app, sponsor_id: int, staff_id: int, address: str) -> tuple[int, str]:
    with app.app_context():
        invitation = Invitation(
            sponsor_id=sponsor_id,
            email=address,
            pending_email=address,
            user_type=UserType.STAFF,
            invited_by_id=staff_id,
            state=InvitationState.PENDING,
            nonce=uuid.uuid4().hex,
            sent_at=utcnow(),
            expires_at=utcnow() + timedelta(days=14),
            resend_count=0,
        )
        db.session.add(invitation)
        db.session.commit()
        path = "/" + copy_link(invitation).split("/", 3)[3]
        return invitation.id, path


def _sign_up_client(app, path: str):
    client = app.test_client()
    token = csrf_token(client.get(path))
    assert token, "the sign-up page has a form"
    return client, token


def _sign_up(client, path, token, first="Ada"):
    return client.post(
        path,
        data={
            "first_name": first,
            "last_name": "Lovelace",
            "password": STRONG,
            "confirm_password": STRONG,
            "csrf_token": token,
        },
    )


def test_ten_simultaneous_submissions_of_one_sign_up_link_make_one_account(
    app, make_sponsor, make_user
):
    sponsor_id = make_sponsor()
    staff_id = make_user(sponsor_id=sponsor_id)
    _, path = _invitation(app, sponsor_id, staff_id, "ada@example.com")
    clients = [_sign_up_client(app, path) for _ in range(10)]

    responses = run_together(
        [lambda c=c, t=t, n=n: _sign_up(c, path, t, f"Ada{n}") for n, (c, t) in enumerate(clients)]
    )

    codes = Counter(r.status_code for r in responses)
    assert codes[302] == 1, codes  # one account, logged in
    assert set(codes) <= {302, 404, 409, 410}, codes  # the others: the link is used
    with app.app_context():
        users = db.session.scalars(select(User).where(User.email == "ada@example.com")).all()
        assert len(users) == 1
        invitation = db.session.scalar(select(Invitation))
        assert invitation.state is InvitationState.ACCEPTED


@pytest.mark.parametrize("round_", range(16))
def test_simultaneous_revoke_and_sign_up_leave_a_consistent_state(
    app, make_sponsor, make_user, auth, client, round_
):
    sponsor_id = make_sponsor()
    make_user("boss@example.com", sponsor_id=sponsor_id)
    staff_id = make_user(sponsor_id=sponsor_id)
    auth.login("boss@example.com")
    staff_token = csrf_token(client)
    invitation_id, path = _invitation(app, sponsor_id, staff_id, "grace@example.com")
    person, token = _sign_up_client(app, path)

    def revoke_after_a_while():
        # Sign-up hashes the password before it touches the row: stagger the revoke across
        # rounds so that both orders, and the moment in between, are tried.
        time.sleep(round_ * 0.03)
        return client.post(
            f"/manage/invitations/{invitation_id}/revoke",
            headers={"X-CSRFToken": staff_token, "HX-Request": "true"},
        )

    revoke, sign_up = run_together(
        [
            revoke_after_a_while,
            lambda: _sign_up(person, path, token),
        ]
    )

    assert revoke.status_code in (200, 409), revoke.status_code
    assert sign_up.status_code in (302, 404, 410), sign_up.status_code
    with app.app_context():
        invitation = db.session.get(Invitation, invitation_id)
        accounts = db.session.scalar(
            select(func.count(User.id)).where(User.email == "grace@example.com")
        )
    # Exactly one of the two won, and the database says which.
    if sign_up.status_code == 302:
        assert revoke.status_code == 409
        assert invitation.state is InvitationState.ACCEPTED and accounts == 1
    else:
        assert revoke.status_code == 200
        assert invitation.state is InvitationState.REVOKED and accounts == 0


def test_a_revoke_that_read_the_invitation_before_a_sign_up_committed_is_refused(
    app, make_sponsor, make_user
):
    """The worst moment of the race above, made certain: revoke reads, sign-up commits."""
    from scope.invites.signup import accept_invitation
    from scope.manage.invitations import InvitationRefused, revoke_invitation

    sponsor_id = make_sponsor()
    staff_id = make_user(sponsor_id=sponsor_id)
    invitation_id, _ = _invitation(app, sponsor_id, staff_id, "lin@example.com")

    def sign_up_elsewhere():
        with app.app_context():
            invitation = db.session.get(Invitation, invitation_id)
            accept_invitation(invitation, first_name="Lin", last_name="Chen", password=STRONG)
            db.session.commit()
            db.session.remove()

    with app.app_context():
        invitation = db.session.get(Invitation, invitation_id)
        assert invitation.state is InvitationState.PENDING  # what the revoke saw
        thread = threading.Thread(target=sign_up_elsewhere)
        thread.start()
        thread.join(30)
        with pytest.raises(InvitationRefused):
            revoke_invitation(invitation, db.session.get(User, staff_id))
        db.session.rollback()
        invitation = db.session.get(Invitation, invitation_id)
        assert invitation.state is InvitationState.ACCEPTED
        assert (
            db.session.scalar(select(func.count(User.id)).where(User.email == "lin@example.com"))
            == 1
        )
