"""Reminder emails for pending invitations: when they go, to whom, and exactly once each."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from scope import create_app
from scope.config import ConfigurationError
from scope.extensions import db
from scope.invites.reminders import queue_due_reminders
from scope.invites.tokens import invitation_link
from scope.mail.worker import run_periodic_steps
from scope.models import (
    AuditEvent,
    Invitation,
    InvitationState,
    MailMessage,
    Sponsor,
    UserType,
    utcnow,
)
from tests.helpers import element, needs_postgres, run_together, text_of

# The worker's step commits, and the concurrency test runs it in threads.
pytestmark = pytest.mark.real_commits


@pytest.fixture
def invite(app, make_sponsor, make_user):
    """A pending invitation sent `days_ago`; returns its id."""
    sponsor_id = make_sponsor()
    staff_id = make_user(sponsor_id=sponsor_id, first_name="Jordan", last_name="Park")

    def make(email: str, days_ago: float, *, sponsor: int | None = None, **fields) -> int:
        sent = utcnow() - timedelta(days=days_ago)
        with app.app_context():
            invitation = Invitation(
                sponsor_id=sponsor or sponsor_id,
                email=email,
                pending_email=email
                if fields.get("state") in (None, InvitationState.PENDING)
                else None,
                user_type=UserType.STAFF,
                invited_by_id=staff_id,
                state=InvitationState.PENDING,
                nonce=uuid.uuid4().hex,
                sent_at=sent,
                expires_at=sent + timedelta(days=14),
                resend_count=0,
            )
            for key, value in fields.items():
                setattr(invitation, key, value)
            db.session.add(invitation)
            db.session.commit()
            return invitation.id

    make.sponsor_id = sponsor_id
    make.staff_id = staff_id
    return make


def _reminders(app, invitation_id: int) -> list[MailMessage]:
    with app.app_context():
        messages = db.session.scalars(
            select(MailMessage)
            .where(
                MailMessage.invitation_id == invitation_id,
                MailMessage.kind == "invitation_reminder",
            )
            .order_by(MailMessage.id)
        ).all()
        db.session.expunge_all()
        return messages


def _step(app) -> int:
    with app.app_context():
        return queue_due_reminders()


def _age(app, invitation_id: int, **moved: float) -> None:
    """Move an invitation's clock: its times `moved` days further in the past."""
    with app.app_context():
        invitation = db.session.get(Invitation, invitation_id)
        for column, days in moved.items():
            setattr(invitation, column, getattr(invitation, column) - timedelta(days=days))
        db.session.commit()


def test_a_pending_invitation_gets_two_reminders_with_its_own_link(app, invite):
    invitation_id = invite("ada@example.com", days_ago=2.9)
    assert _step(app) == 0, "not before 3 days"

    _age(app, invitation_id, sent_at=0.2, expires_at=0.2)
    assert _step(app) == 1
    assert _step(app) == 0, "the first reminder is not sent twice"
    [first] = _reminders(app, invitation_id)
    with app.app_context():
        invitation = db.session.get(Invitation, invitation_id)
        link = invitation_link(invitation)
        assert invitation.reminder_count == 1
        assert invitation.reminded_at is not None
        events = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.subject_id == invitation_id)
        ).all()
    assert first.recipient == "ada@example.com"
    assert first.subject.startswith("Reminder:")
    assert link in first.body_text and link in first.body_html, "the same link, not a new one"
    assert "Jordan Park invited you" in first.body_text
    assert events == ["reminded"]

    _age(app, invitation_id, sent_at=7, expires_at=7, reminded_at=7)
    assert _step(app) == 1
    _age(app, invitation_id, sent_at=3, expires_at=3, reminded_at=3)
    assert _step(app) == 0, "two reminders at most"
    assert len(_reminders(app, invitation_id)) == 2
    with app.app_context():
        invitation = db.session.get(Invitation, invitation_id)
        assert invitation.reminder_count == 2
        assert invitation_link(invitation) == link, "the link still works"


def test_a_worker_that_was_down_sends_one_reminder_not_two_at_once(app, invite):
    invitation_id = invite("late@example.com", days_ago=11)
    assert _step(app) == 1
    assert _step(app) == 0, "the second waits the 7 days between the two"
    _age(app, invitation_id, reminded_at=7)
    assert _step(app) == 1


def test_no_reminder_for_revoked_accepted_or_expired_invitations(app, invite, make_sponsor):
    now = utcnow()
    revoked = invite("revoked@example.com", 4, state=InvitationState.REVOKED, revoked_at=now)
    accepted = invite("accepted@example.com", 4, state=InvitationState.ACCEPTED, accepted_at=now)
    expired = invite("expired@example.com", 4, expires_at=now - timedelta(minutes=1))
    assert _step(app) == 0
    for invitation_id in (revoked, accepted, expired):
        assert _reminders(app, invitation_id) == []


def test_a_sponsor_that_turned_reminders_off_gets_none(app, invite):
    invitation_id = invite("quiet@example.com", days_ago=4)
    with app.app_context():
        db.session.execute(
            update(Sponsor)
            .where(Sponsor.id == invite.sponsor_id)
            .values(invitation_reminders=False)
        )
        db.session.commit()
    assert _step(app) == 0
    assert _reminders(app, invitation_id) == []


def test_a_resend_starts_the_schedule_again_from_the_new_email(app, invite):
    invitation_id = invite("again@example.com", days_ago=4)
    with app.app_context():
        db.session.execute(
            update(Invitation).where(Invitation.id == invitation_id).values(sent_at=utcnow())
        )
        db.session.commit()
    assert _step(app) == 0


def test_the_reminder_days_come_from_the_configuration(app, invite, monkeypatch):
    invitation_id = invite("soon@example.com", days_ago=1.5)
    monkeypatch.setitem(app.config, "INVITATION_REMINDER_DAYS", [1])
    assert _step(app) == 1
    monkeypatch.setitem(app.config, "INVITATION_REMINDER_DAYS", [])
    _age(app, invitation_id, sent_at=5, reminded_at=5)
    assert _step(app) == 0
    assert len(_reminders(app, invitation_id)) == 1


@pytest.mark.parametrize("days", ["3", [3, "10"], [0], [True], {"a": 1}])
def test_a_reminder_schedule_that_cannot_be_one_is_refused_at_start(days):
    with pytest.raises(ConfigurationError, match="SCOPE_INVITATION_REMINDER_DAYS"):
        create_app(
            {
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
                "DEV_MAILBOX": True,
                "INVITATION_REMINDER_DAYS": days,
            }
        )


def test_the_mail_workers_periodic_step_sends_reminders(app, invite):
    invitation_id = invite("worker@example.com", days_ago=3.5)
    run_periodic_steps(app)
    run_periodic_steps(app)
    assert len(_reminders(app, invitation_id)) == 1


def test_the_invitations_row_says_how_many_reminders_went(app, invite, auth, client, make_user):
    invitation_id = invite("counted@example.com", days_ago=11)
    with app.app_context():
        db.session.execute(
            update(Invitation).where(Invitation.id == invitation_id).values(reminder_count=2)
        )
        email = db.session.get(Invitation, invite.staff_id and invitation_id).invited_by.email
        db.session.commit()
    auth.login(email)
    page = client.get("/manage/invitations").get_data(as_text=True)
    assert "reminded 2×" in text_of(page, f"#invitation-{invitation_id}")


def test_staff_turn_reminders_off_in_sponsor_settings(app, staff):
    page = staff.get("/settings").get_data(as_text=True)
    assert "Invitation reminders" in text_of(page, "#sponsor-invitation-reminders")
    assert "3 and 10 days after it was sent" in text_of(page, "#sponsor-invitation-reminders")

    form = staff.get("/settings/invitation-reminders", htmx=True).get_data(as_text=True)
    assert element(form, "input[name=invitation_reminders]").get("checked") is not None
    response = staff.post("/settings/invitation-reminders", {}, htmx=True)
    assert response.status_code == 200
    assert "Off" in text_of(response.get_data(as_text=True), "#sponsor-invitation-reminders")
    with app.app_context():
        assert db.session.get(Sponsor, staff.sponsor_id).invitation_reminders is False

    staff.post("/settings/invitation-reminders", {"invitation_reminders": "y"})
    with app.app_context():
        assert db.session.get(Sponsor, staff.sponsor_id).invitation_reminders is True


# --- exactly once, with several workers -------------------------------------------------------


@pytest.fixture
def worker_apps(app):
    """Apps of their own (engines, connection pools) on the test database, like workers."""
    made = []

    def make():
        other = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": app.config["SECRET_KEY"],
                "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                "PUBLIC_URL": "http://scope.test",
                "MAIL_DELIVER_IN_PROCESS": False,
                "DEV_MAILBOX": True,
            }
        )
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


@needs_postgres
def test_concurrent_workers_send_each_reminder_exactly_once(app, invite, worker_apps):
    ids = [invite(f"person{n}@example.com", days_ago=4) for n in range(60)]
    workers = [worker_apps() for _ in range(4)]

    def work(worker):
        def run():
            sent = 0
            for _ in range(5):
                with worker.app_context():
                    sent += queue_due_reminders(batch_size=7)
            return sent

        return run

    sent = run_together([work(worker) for worker in workers], timeout=120)
    assert sum(sent) == 60
    assert sum(1 for count in sent if count) > 1, "the work was shared, not serialized"
    with app.app_context():
        per_invitation = dict(
            db.session.execute(
                select(MailMessage.invitation_id, func.count())
                .where(MailMessage.kind == "invitation_reminder")
                .group_by(MailMessage.invitation_id)
            ).all()
        )
        counts = db.session.scalars(select(Invitation.reminder_count).where(Invitation.id.in_(ids)))
        assert set(counts) == {1}
    assert per_invitation == dict.fromkeys(ids, 1)


def test_a_step_killed_before_its_commit_leaves_the_reminder_for_the_next(app, invite):
    """A worker killed mid-step: its transaction never commits, so neither does the count."""
    invitation_id = invite("killed@example.com", days_ago=4)

    class Killed(BaseException):
        pass

    original = db.session.commit

    def die():
        raise Killed

    with app.app_context():
        db.session.commit = die
        try:
            with pytest.raises(Killed):
                queue_due_reminders()
        finally:
            db.session.commit = original
            db.session.rollback()
    assert _reminders(app, invitation_id) == []
    assert _step(app) == 1
    assert len(_reminders(app, invitation_id)) == 1
