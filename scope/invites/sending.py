"""SEND INVITATIONS and CREATE USERS +: a wizard's list becomes invitations or accounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..bulk_load import insert_many
from ..extensions import db
from ..mail import allowance
from ..mail.services import Outbox, queue_mail
from ..models import (
    Invitation,
    InvitationState,
    MailMessage,
    PartnerOrganization,
    Sponsor,
    User,
    UserStatus,
    WizardDraft,
    WizardRow,
    utcnow,
)
from ..refusals import Refused
from ..security import unproxied
from .drafts import batch_language, current_rows, require_organization
from .rows import (
    CheckedRow,
    RowInput,
    RowRefused,
    check_rows,
    conflict_for,
    daily_cap_for,
    email_conflict,
)
from .tokens import invitation_link, new_nonce


@dataclass
class SendResult:
    sent: list[Invitation] = field(default_factory=list)
    created: list[User] = field(default_factory=list)
    refused: list[tuple[WizardRow, Refused]] = field(default_factory=list)

    @property
    def refused_by_row(self) -> dict[int, Refused]:
        return {row.id: problem for row, problem in self.refused}


def invitation_expiry(now: datetime) -> datetime:
    return now + timedelta(days=int(current_app.config["INVITATION_DAYS"]))


def _check_draft(draft: WizardDraft, result: SendResult) -> list[tuple[WizardRow, CheckedRow]]:
    """The open list's rows checked again now; refused rows go to result and stay."""
    rows = current_rows(draft)
    passed = []
    for row, checked in zip(rows, check_rows(draft, [RowInput.of(r) for r in rows]), strict=True):
        if checked.ok:
            passed.append((row, checked))
        else:
            result.refused.append((row, checked.problems[0]))
    return passed


def send_invitations(draft: WizardDraft, inviter: User) -> SendResult:
    """Invite every row that passes the rules; refused rows stay in the draft.

    All rows are inserted in one flush. One pending invitation per sponsor and address is
    enforced by the database: when another request took an address meanwhile, the rows are
    inserted one at a time so only that row is refused.
    """
    result = SendResult()
    inviter = unproxied(inviter)
    organization = require_organization(draft)
    language = batch_language(draft)
    now = utcnow()
    # The rows' values as they are inserted: 1,000 Invitation objects, only to be read back
    # into values, cost 50 ms of a SEND's CPU.
    accepted = [
        (
            row,
            {
                "sponsor_id": draft.sponsor_id,
                "email": checked.email,
                "pending_email": checked.email,
                "user_type": row.user_type,
                "partner_organization_id": organization.id if organization else None,
                "occupation_id": checked.occupation.id if checked.occupation else None,
                "invited_by_id": inviter.id,
                "state": InvitationState.PENDING,
                "nonce": new_nonce(),
                "sent_at": now,
                "expires_at": invitation_expiry(now),
                "resend_count": 0,
                "message": draft.message,
                "language": language,
            },
        )
        for row, checked in _check_draft(draft, result)
    ]
    # Invite, revoke, invite again: an address gets no more invitations a day than Resend
    # would send it.
    emails = [values["email"] for _row, values in accepted]
    capped = allowance.address_refusals(
        draft.sponsor_id, "invitation", emails, "email", existing=False
    )
    result.refused += [
        (row, daily_cap_for(inviter, capped[values["email"]]))
        for row, values in accepted
        if values["email"] in capped
    ]
    accepted = [(row, values) for row, values in accepted if values["email"] not in capped]
    allowance.reserve(draft.sponsor_id, len(accepted))
    inserted = _insert(draft, Invitation, accepted, result)
    result.sent = [invitation for _row, invitation in inserted]
    # The batch's emails are one letter, rendered once; they and the audit events are
    # inserted in one statement each (as bulk Resend does), not one per row.
    outbox = Outbox()
    for invitation in result.sent:
        queue_invitation_email(invitation, inviter, organization, outbox)
    outbox.send()
    audit.record_many(
        "invited", result.sent, actor_id=inviter.id, each=lambda i: {"email": i.email}
    )
    _remove_rows(draft, [row for row, _ in inserted])
    if inserted:
        draft.message = None  # it went with this batch, and so did its language
        draft.language = None
    return result


def create_managed_users(draft: WizardDraft, actor: User) -> SendResult:
    """Create a Managed account per row (no email is sent); refused rows stay in the draft."""
    result = SendResult()
    organization = require_organization(draft)
    accepted = [
        (
            row,
            _values(  # the User sets the name's sort key from the names
                User(
                    sponsor_id=draft.sponsor_id,
                    email=checked.email,
                    first_name=row.first_name or "",
                    last_name=row.last_name or "",
                    user_type=row.user_type,
                    status=UserStatus.MANAGED,
                    partner_organization_id=organization.id,
                    occupation_id=checked.occupation.id if checked.occupation else None,
                )
            ),
        )
        for row, checked in _check_draft(draft, result)
    ]
    inserted = _insert(draft, User, accepted, result)
    result.created = [user for _row, user in inserted]
    audit.record_many("created_managed", result.created, actor_id=actor.id)
    _remove_rows(draft, [row for row, _ in inserted])
    return result


def _insert(draft: WizardDraft, model, accepted: list, result: SendResult) -> list:
    """Insert a record of `model` for each (row, values) in one statement; on a unique-key
    race, one at a time. (row, record) pairs of the records inserted.

    The records are inserted inside the savepoint, so a failed insert takes them with it.
    """
    try:
        with db.session.begin_nested():
            return _insert_together(model, accepted)
    except IntegrityError:
        pass
    inserted = []
    for row, values in accepted:
        record = model(**values)
        try:
            with db.session.begin_nested():
                db.session.add(record)
                db.session.flush()
        except IntegrityError:
            conflict = email_conflict(draft.sponsor_id, record.email)
            problem = (
                conflict_for(db.session.get(User, draft.staff_user_id), conflict)
                if conflict
                else RowRefused(gettext("This address was taken a moment ago by another request."))
            )
            result.refused.append((row, problem))
        else:
            inserted.append((row, record))
    return inserted


def _insert_together(model, accepted: list) -> list:
    """(row, record) pairs, the record inserted for each (row, values).

    One INSERT … RETURNING for all of them (`insert_many`): the ORM's flush inserts one row at
    a time on SQLite (it needs the keys back in order, which SQLite's RETURNING does not
    promise), so each returned record is matched to its row by the values written; two rows
    with equal values are interchangeable.
    """
    if not accepted:
        return []
    values = [written for _, written in accepted]
    # Times are left out: a database may give them back in another form than was written.
    written_keys = {key: value for written in values for key, value in written.items()}
    keys = sorted(key for key, value in written_keys.items() if not isinstance(value, datetime))
    waiting: dict[tuple, list] = {}
    for returned in insert_many(model, values, returning=True):
        loaded = returned.__dict__  # every column, just read: no attribute events
        waiting.setdefault(tuple(loaded.get(key) for key in keys), []).append(returned)
    return [
        (row, waiting[tuple(written.get(key) for key in keys)].pop()) for row, written in accepted
    ]


def _values(record) -> dict:
    """A new record's column values as given (the column defaults fill the others)."""
    columns = type(record).__table__.c
    values = {c.key: getattr(record, c.key) for c in columns if c.key != "id"}
    return {key: value for key, value in values.items() if value is not None}


def _remove_rows(draft: WizardDraft, rows: list[WizardRow]) -> None:
    """Delete sent rows in a few statements rather than one DELETE per row, and count the
    batch: what the page drawn before it still sends is then stale (`drafts.hold_if_current`)."""
    if not rows:
        return
    draft.sent_batches += 1
    ids = [row.id for row in rows]
    db.session.flush()
    for row in rows:
        db.session.expunge(row)
    for start in range(0, len(ids), 500):
        db.session.execute(
            delete(WizardRow)
            .where(WizardRow.id.in_(ids[start : start + 500]))
            .execution_options(synchronize_session=False)
        )
    db.session.expire(draft, ["rows"])


def queue_invitation_email(
    invitation: Invitation,
    inviter: User | None,
    organization: PartnerOrganization | None,
    outbox: Outbox | None = None,
) -> MailMessage | None:
    """The invitation's email, queued now, or with `outbox` among many (then None)."""
    sponsor = db.session.get(Sponsor, invitation.sponsor_id)
    return (outbox.queue if outbox else queue_mail)(
        kind="invitation",
        recipient=invitation.email,
        subject=_l("%(sponsor)s invites you to Scope", sponsor=sponsor.name),
        language=invitation.language,
        sponsor_id=invitation.sponsor_id,
        invitation_id=invitation.id,
        sponsor=sponsor,
        organization=organization,
        where=organization.name if organization else sponsor.name,
        user_type=invitation.user_type,
        inviter=inviter,
        message=invitation.message,
        message_from=inviter.full_name if inviter else sponsor.name,
        link=invitation_link(invitation),
        expires_at=invitation.expires_at,
    )
