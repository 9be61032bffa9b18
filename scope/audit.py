"""Audit events: who did what to which record, and when."""

from __future__ import annotations

from flask_login import current_user

from .bulk_load import insert_many
from .extensions import db
from .models import AuditEvent, utcnow


def record(
    action: str,
    subject,
    *,
    sponsor_id: int | None = None,
    actor_id: int | None = None,
    **details,
) -> AuditEvent:
    """Add an event in the current transaction; it commits or rolls back with the change."""
    if actor_id is None and current_user and getattr(current_user, "is_authenticated", False):
        actor_id = current_user.id
    event = AuditEvent(
        sponsor_id=sponsor_id if sponsor_id is not None else subject.sponsor_id,
        actor_id=actor_id,
        action=action,
        subject_type=type(subject).__tablename__,
        subject_id=subject.id,
        details=details,
    )
    db.session.add(event)
    return event


def record_many(action: str, subjects, *, actor_id: int, each=None, **details) -> None:
    """The same event for many records of one sponsor (a bulk action), in one statement.

    `each(subject)`, when given, returns the details that differ from one record to the next.
    """
    now = utcnow()
    rows = [
        {
            "sponsor_id": subject.sponsor_id,
            "actor_id": actor_id,
            "action": action,
            "subject_type": type(subject).__tablename__,
            "subject_id": subject.id,
            "details": {**details, **each(subject)} if each else details,
            "created_at": now,
        }
        for subject in subjects
    ]
    insert_many(AuditEvent, rows)
