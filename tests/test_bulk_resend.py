"""Bulk Resend writes every email as a single Resend would, in a number of statements that
does not grow with the number of invitations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, insert, select

from scope.extensions import db
from scope.models import (
    AuditEvent,
    Invitation,
    InvitationState,
    MailMessage,
    UserType,
    utcnow,
)
from tests.helpers import assert_each_email_is_the_one_sent_alone


def _invitations(app, staff, organizations, count, **fields) -> list[int]:
    """`count` pending invitations, spread over the organizations, inserted at once."""
    now = utcnow()
    rows = [
        {
            "sponsor_id": staff.sponsor_id,
            "email": f"p{i}-{fields.get('language', 'en')}@bulk.test",
            "pending_email": f"p{i}-{fields.get('language', 'en')}@bulk.test",
            "user_type": UserType.SUPERVISOR,
            "partner_organization_id": organizations[i % len(organizations)],
            "state": InvitationState.PENDING,
            "nonce": f"nonce-{i}-{fields.get('language', 'en')}",
            "sent_at": now - timedelta(days=1),
            "expires_at": now + timedelta(days=13),
            "invited_by_id": staff.user_id,
            "resend_count": 0,
            **fields,
        }
        for i in range(count)
    ]
    with app.app_context():
        db.session.execute(insert(Invitation), rows)
        db.session.commit()
        return list(
            db.session.scalars(
                select(Invitation.id)
                .where(Invitation.sponsor_id == staff.sponsor_id)
                .order_by(Invitation.id)
            )
        )


def test_each_email_of_a_bulk_resend_is_the_one_a_single_resend_writes(app, staff, make_org):
    acme, bolt = make_org(staff.sponsor_id, "Acme Robotics"), make_org(staff.sponsor_id, "Bolt")
    _invitations(app, staff, [acme, bolt], 3)
    _invitations(app, staff, [acme], 2, language="es", message="Bienvenidos <al> programa")
    with app.app_context():
        ids = list(db.session.scalars(select(Invitation.id)))
    response = staff.post("/manage/invitations/bulk/resend", {"invitation_id": ids}, htmx=True)
    assert "5 invitations sent again" in response.get_data(as_text=True)

    with app.test_request_context():
        messages = db.session.scalars(select(MailMessage).order_by(MailMessage.id)).all()
        assert len(messages) == 5
        assert_each_email_is_the_one_sent_alone(messages, staff.user_id)
        for message in messages:
            invitation = db.session.get(Invitation, message.invitation_id)
            assert message.recipient == invitation.email
            assert message.created_at is not None and message.next_attempt_at is not None
        assert "Acme Robotics" in messages[0].body_text and "Bolt" in messages[1].body_text
        assert "Bienvenidos &lt;al&gt; programa" in messages[-1].body_html
        db.session.rollback()
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "resent"))
        assert sorted(e.subject_id for e in events) == sorted(ids)


@pytest.mark.real_commits
def test_a_bulk_resend_of_200_takes_as_many_statements_as_one_of_20(app, staff, make_org):
    acme = make_org(staff.sponsor_id, "Acme Robotics")
    ids = _invitations(app, staff, [acme], 221)
    # The session's first request reads what later ones find in the session: not counted.
    staff.post("/manage/invitations/bulk/resend", {"invitation_id": ids[:1]}, htmx=True)
    with app.app_context():
        engine = db.engine
    counted = []
    for selected in (ids[1:21], ids[21:]):
        statements = []

        def before(conn, cursor, statement, *args, statements=statements):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", before)
        try:
            response = staff.post(
                "/manage/invitations/bulk/resend", {"invitation_id": selected}, htmx=True
            )
        finally:
            event.remove(engine, "before_cursor_execute", before)
        assert f"{len(selected)} invitations sent again" in response.get_data(as_text=True)
        counted.append(len(statements))
    assert counted[1] == counted[0], counted
    assert counted[0] <= 20, counted
