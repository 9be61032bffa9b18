"""Delivery of the outbox: claim due messages, send them over one SMTP connection, record how.

Claims make several workers safe: a claimed message is in state SENDING until claimed_until,
and nobody else takes it before then. On PostgreSQL the claim skips rows another worker is
claiming (FOR UPDATE SKIP LOCKED); on SQLite writers are serialized (BEGIN IMMEDIATE). Each
outcome is committed right after its own send, so a crash can repeat at most the message
that was on the wire, once its claim has expired.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app
from sqlalchemy import or_, select, text, update
from sqlalchemy.exc import InterfaceError, OperationalError

from ..audit import record
from ..extensions import db
from ..models import Invitation, MailMessage, MailState, utcnow
from ..notices import services as notices
from .services import development_mailbox_enabled
from .smtp import Outcome, TimedConnection, build_message, classify

log = logging.getLogger(__name__)

# Waits after the 1st, 2nd, ... failed attempt; the attempt after the last wait is the last.
BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
CLAIM = timedelta(minutes=5)
# An outcome is not recorded this close to its claim's end: another worker may take it then.
CLAIM_MARGIN = timedelta(seconds=30)
T = TypeVar("T")


@dataclass
class DeliveryCounts:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    # Claimed but handed back untried (stop requested, connection lost, claim running out).
    released: int = 0

    def __iadd__(self, other: DeliveryCounts) -> DeliveryCounts:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def __str__(self) -> str:
        return f"{self.delivered} delivered, {self.retrying} to retry, {self.failed} failed" + (
            f", {self.released} handed back" if self.released else ""
        )


@dataclass(frozen=True)
class _Claimed:
    """What a worker needs to send one message, read while it held the claim."""

    id: int
    recipient: str
    subject: str
    body_text: str
    body_html: str
    attempts: int
    invitation_id: int | None


def retry_schedule() -> tuple[timedelta, ...]:
    """BACKOFF, unless MAIL_RETRY_DELAYS (seconds) replaces it, as end-to-end tests do."""
    delays = current_app.config.get("MAIL_RETRY_DELAYS")
    return tuple(timedelta(seconds=float(s)) for s in delays) if delays else BACKOFF


def backoff_after(attempts: int) -> timedelta | None:
    """How long to wait after `attempts` failed attempts; None when it is time to give up."""
    schedule = retry_schedule()
    if attempts > len(schedule):
        return None
    return schedule[max(attempts, 1) - 1]


def _due(now: datetime):
    """Queued and due, or left SENDING by a worker whose claim has expired."""
    return (
        MailMessage.state.in_([MailState.QUEUED, MailState.SENDING])
        & (MailMessage.next_attempt_at <= now)
        & or_(MailMessage.claimed_until.is_(None), MailMessage.claimed_until <= now)
    )


def deliver_due(
    app: Flask, batch_size: int = 100, *, stop: threading.Event | None = None
) -> DeliveryCounts:
    """Claim up to batch_size due messages and deliver them over one SMTP connection.

    With no MAIL_SERVER, due messages go to the development mailbox when it is enabled (they
    are marked delivered and never leave the database); otherwise they stay queued until a
    server is configured. `stop` ends the batch after the message being sent; the rest are
    handed back.
    """
    with app.app_context():
        if app.config.get("MAIL_SERVER") is None:
            if development_mailbox_enabled(app.config):
                return _deliver_to_development_mailbox()
            return DeliveryCounts()
        claim_until, batch = _claim(batch_size)
        counts = DeliveryCounts(claimed=len(batch))
        if batch:
            _send_batch(app, batch, claim_until, counts, stop)
        return counts


def _claim(batch_size: int) -> tuple[datetime, list[_Claimed]]:
    session = db.session
    if session.get_bind().dialect.name == "sqlite":
        # Take the write lock before reading, so two workers never pick the same rows.
        session.execute(text("BEGIN IMMEDIATE"))
    now = utcnow()
    claim_until = now + CLAIM
    candidates = session.scalars(
        select(MailMessage.id)
        .where(_due(now))
        .order_by(MailMessage.next_attempt_at, MailMessage.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    ).all()
    if not candidates:
        session.rollback()
        return claim_until, []
    # The due condition again: a claim is a compare-and-set, whatever the locking does.
    claimed_ids = session.scalars(
        update(MailMessage)
        .where(MailMessage.id.in_(candidates), _due(now))
        .values(
            state=MailState.SENDING,
            claimed_until=claim_until,
            attempts=MailMessage.attempts + 1,
        )
        .returning(MailMessage.id)
        .execution_options(synchronize_session=False)
    ).all()
    rows = session.execute(
        select(
            MailMessage.id,
            MailMessage.recipient,
            MailMessage.subject,
            MailMessage.body_text,
            MailMessage.body_html,
            MailMessage.attempts,
            MailMessage.invitation_id,
        )
        .where(MailMessage.id.in_(claimed_ids))
        .order_by(MailMessage.next_attempt_at, MailMessage.id)
    ).all()
    session.commit()
    return claim_until, [_Claimed(*row) for row in rows]


def _send_batch(
    app: Flask,
    batch: list[_Claimed],
    claim_until: datetime,
    counts: DeliveryCounts,
    stop: threading.Event | None,
) -> None:
    # An interrupted attempt counted as one: a message that kills its worker cannot loop.
    pending = []
    for message in batch:
        if message.attempts > len(retry_schedule()) + 1:
            _record_failure(
                message,
                claim_until,
                Outcome(
                    f"Gave up after {message.attempts - 1} attempts; the last was interrupted."
                ),
                counts,
            )
        else:
            pending.append(message)
    if not pending:
        return

    connection = TimedConnection(app)
    # Stop sending when the claim is about to run out, rather than race another worker.
    margin = timedelta(seconds=4 * connection.timeout + 10)
    domain = urlsplit(app.config["PUBLIC_URL"]).hostname or "scope.localhost"
    with ExitStack() as open_connection:
        try:
            open_connection.enter_context(connection)
        except Exception as error:
            outcome = classify(error, connection)
            log.warning("mail: cannot connect: %s", outcome.error)
            for message in pending:
                _record_failure(message, claim_until, outcome, counts)
            return
        for position, message in enumerate(pending):
            if (stop is not None and stop.is_set()) or utcnow() + margin >= claim_until:
                _release(pending[position:], claim_until, counts)
                return
            try:
                connection.send(
                    build_message(
                        message_id=message.id,
                        recipient=message.recipient,
                        subject=message.subject,
                        text=message.body_text,
                        html=message.body_html,
                        domain=domain,
                    )
                )
            except Exception as error:
                outcome = classify(error, connection)
                if outcome.unexpected:
                    log.exception("mail: unexpected error sending message %s", message.id)
                _record_failure(message, claim_until, outcome, counts)
                if outcome.connection_lost:
                    _release(pending[position + 1 :], claim_until, counts)
                    return
            else:
                _record_delivery(message, claim_until, counts)


def _owned(message: _Claimed, claim_until: datetime):
    """Only the worker holding the claim may record an outcome."""
    return update(MailMessage).where(
        MailMessage.id == message.id,
        MailMessage.state == MailState.SENDING,
        MailMessage.claimed_until == claim_until,
    )


def _committed(write: Callable[[], T], claim_until: datetime) -> T:
    """write() and commit; while the database is unreachable, try again as long as the claim
    lasts. An outcome that is never recorded is a message sent again once its claim expires
    (and, until then, five minutes of delay for the rest of the batch): a database restart
    of a few seconds must cause neither."""
    wait = 0.25
    while True:
        try:
            result = write()
            db.session.commit()
            return result
        except (OperationalError, InterfaceError) as error:
            db.session.rollback()
            if utcnow() + timedelta(seconds=wait) + CLAIM_MARGIN >= claim_until:
                raise
            log.warning("mail: database unavailable, outcome kept for %.2g s: %s", wait, error.orig)
            time.sleep(wait)
            wait = min(wait * 2, 5.0)


def _record_delivery(message: _Claimed, claim_until: datetime, counts: DeliveryCounts) -> None:
    result = _committed(
        lambda: db.session.execute(
            _owned(message, claim_until).values(
                state=MailState.DELIVERED,
                delivered_at=utcnow(),
                claimed_until=None,
                last_error=None,
            )
        ),
        claim_until,
    )
    counts.delivered += 1
    if result.rowcount != 1:
        log.warning("mail: message %s was sent after its claim had expired", message.id)


def _record_failure(
    message: _Claimed, claim_until: datetime, outcome: Outcome, counts: DeliveryCounts
) -> None:
    wait = None if outcome.permanent else backoff_after(message.attempts)
    if wait is None:
        values = {"state": MailState.FAILED}
    else:
        values = {"state": MailState.QUEUED, "next_attempt_at": utcnow() + wait}

    def write() -> None:
        result = db.session.execute(
            _owned(message, claim_until).values(
                claimed_until=None, last_error=outcome.error, **values
            )
        )
        if result.rowcount == 1 and wait is None and message.invitation_id is not None:
            invitation = db.session.get(Invitation, message.invitation_id)
            if invitation is not None:
                record(
                    "delivery_failed",
                    invitation,
                    sponsor_id=invitation.sponsor_id,
                    actor_id=None,
                    mail_message_id=message.id,
                    recipient=message.recipient,
                    error=outcome.error,
                )
                notices.invitation_undeliverable(invitation, outcome.error)

    _committed(write, claim_until)
    if wait is None:
        counts.failed += 1
        log.warning("mail: message %s failed: %s", message.id, outcome.error)
    else:
        counts.retrying += 1
        log.info("mail: message %s will be retried in %s: %s", message.id, wait, outcome.error)


def _release(messages: list[_Claimed], claim_until: datetime, counts: DeliveryCounts) -> None:
    """Hand untried messages back as they were, without counting an attempt."""
    if not messages:
        return
    _committed(
        lambda: db.session.execute(
            update(MailMessage)
            .where(
                MailMessage.id.in_([m.id for m in messages]),
                MailMessage.state == MailState.SENDING,
                MailMessage.claimed_until == claim_until,
            )
            .values(
                state=MailState.QUEUED,
                claimed_until=None,
                attempts=MailMessage.attempts - 1,
            )
            .execution_options(synchronize_session=False)
        ),
        claim_until,
    )
    counts.released += len(messages)


def _deliver_to_development_mailbox() -> DeliveryCounts:
    now = utcnow()
    result = db.session.execute(
        update(MailMessage)
        .where(_due(now))
        .values(state=MailState.DELIVERED, delivered_at=now, claimed_until=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return DeliveryCounts(claimed=result.rowcount, delivered=result.rowcount)


def register(app: Flask) -> None:
    """In-process delivery for the embedded default; a no-op when mail-worker does the job."""
    from .worker import register_in_process_delivery

    register_in_process_delivery(app)
