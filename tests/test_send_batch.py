"""SEND writes every email as queue_mail writes one alone, in a number of statements that
does not grow with the number of rows on the list."""

from __future__ import annotations

import pytest
from sqlalchemy import event, insert, select

from scope.extensions import db
from scope.models import (
    AuditEvent,
    Invitation,
    MailMessage,
    User,
    UserStatus,
    UserType,
    WizardDraft,
    WizardKind,
    WizardRow,
)
from tests.helpers import assert_each_email_is_the_one_sent_alone


def _fill(app, staff, kind: WizardKind, count: int, start: int = 0) -> None:
    """`count` rows on the staff member's open list of this wizard, inserted at once."""
    with app.app_context():
        draft = db.session.scalar(
            select(WizardDraft).where(
                WizardDraft.staff_user_id == staff.user_id, WizardDraft.kind == kind
            )
        )
        rows = [
            {
                "draft_id": draft.id,
                "partner_organization_id": draft.partner_organization_id,
                "user_type": UserType.SUPERVISOR,
                "email": f"row{i}@batch.example",
                "first_name": f"First{i}",
                "last_name": f"Last{i}",
            }
            for i in range(start, start + count)
        ]
        db.session.execute(insert(WizardRow), rows)
        db.session.commit()


def test_each_email_of_a_send_is_the_one_queue_mail_writes_alone(
    app, staff, make_org, occupation_id
):
    acme = make_org(staff.sponsor_id, "Acme Robotics")
    staff.post("/invite/external", {"organization": acme}, htmx=True)
    electrician = occupation_id(staff.sponsor_id)
    people = [
        {"user_type": "supervisor", "email": "ann@acme.example"},
        {"user_type": "mentor", "email": "bo@acme.example", "occupation": electrician},
        {"user_type": "administrator", "email": "cy@acme.example"},
    ]
    for person in people:
        assert staff.post("/invite/external/rows", person, htmx=True).status_code == 200
    response = staff.post(
        "/invite/external/send",
        {"message": "Bienvenidos <al> programa", "language": "es"},
        htmx=True,
    )
    assert response.status_code == 200

    with app.test_request_context():
        messages = db.session.scalars(select(MailMessage).order_by(MailMessage.id)).all()
        assert [m.recipient for m in messages] == [p["email"] for p in people]
        assert_each_email_is_the_one_sent_alone(messages, staff.user_id)
        for message in messages:
            assert (message.kind, message.sponsor_id) == ("invitation", staff.sponsor_id)
            assert message.created_at is not None and message.next_attempt_at is not None
        assert "Bienvenidos &lt;al&gt; programa" in messages[0].body_html
        assert "Acme Robotics" in messages[0].body_text
        db.session.rollback()
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "invited").order_by(AuditEvent.id)
        ).all()
        invitations = db.session.scalars(select(Invitation).order_by(Invitation.id)).all()
        assert [(e.subject_type, e.subject_id, e.details, e.actor_id) for e in events] == [
            ("invitation", i.id, {"email": i.email}, staff.user_id) for i in invitations
        ]


def test_create_users_records_each_account_made(app, staff, make_org):
    acme = make_org(staff.sponsor_id, "Acme Robotics")
    staff.post("/invite/managed/organization", {"organization": acme}, htmx=True)
    _fill(app, staff, WizardKind.MANAGED, 3)
    html = staff.post("/invite/managed/send", htmx=True).get_data(as_text=True)
    assert "3 managed users created." in html
    with app.app_context():
        users = db.session.scalars(
            select(User).where(User.status == UserStatus.MANAGED).order_by(User.id)
        ).all()
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "created_managed")
        ).all()
        assert sorted((e.subject_type, e.subject_id, e.actor_id, e.details) for e in events) == [
            ("user_account", u.id, staff.user_id, {}) for u in users
        ]


@pytest.mark.real_commits
@pytest.mark.parametrize("kind", [WizardKind.EXTERNAL, WizardKind.MANAGED])
def test_a_send_of_200_takes_as_many_statements_as_one_of_20(app, staff, make_org, kind):
    acme = make_org(staff.sponsor_id, "Acme Robotics")
    slug = kind.value
    choose = "/invite/external" if kind is WizardKind.EXTERNAL else "/invite/managed/organization"
    staff.post(choose, {"organization": acme}, htmx=True)
    # The session's first SEND reads what later ones find in the session: not counted.
    _fill(app, staff, kind, 1)
    assert staff.post(f"/invite/{slug}/send", htmx=True).status_code == 200
    with app.app_context():
        engine = db.engine
    counted, start = [], 1
    for size in (20, 200):
        _fill(app, staff, kind, size, start)
        start += size
        statements = []

        def before(conn, cursor, statement, *args, statements=statements):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", before)
        try:
            response = staff.post(f"/invite/{slug}/send", htmx=True)
        finally:
            event.remove(engine, "before_cursor_execute", before)
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert str(size) in html, html
        counted.append(len(statements))
    assert counted[1] == counted[0], counted
    with app.app_context():
        made = Invitation if kind is WizardKind.EXTERNAL else User
        emails = db.session.scalars(select(made.email).where(made.email.like("row%"))).all()
        assert len(emails) == 221
        if kind is WizardKind.EXTERNAL:
            assert db.session.scalar(select(db.func.count(MailMessage.id))) == 221
