"""What staff may do to an account, one at a time or many at once.

action_refusal() is the one rule of which action an account offers: the row menu, the
profile's buttons, each action and each bulk action all ask it.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from flask_babel import ngettext
from sqlalchemy import delete, update

from .. import audit
from ..accounts.link_emails import send_set_password_link
from ..accounts.links import end_account_links
from ..auth.services import end_all_sessions
from ..extensions import db
from ..i18n import N_, gettext
from ..mail import allowance
from ..models import AccountToken, AuditEvent, Invitation, MailMessage, User, UserStatus
from ..refusals import Refused
from ..templating import format_number
from ..tenancy import parse_id, scoped

BULK_LIMIT = 1000


class UserAction(enum.StrEnum):
    CONVERT = "convert"
    REACTIVATE = "reactivate"
    DEACTIVATE = "deactivate"
    DELETE = "delete"


class ActionRefused(Refused):
    """The account is not in a state that allows this action; `reason` is the short form
    a bulk action counts ("not managed"), marked for the catalog and translated where shown."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class TooManySelected(Refused):
    pass


# Why a bulk action skipped an address that had its share of emails today.
EMAILED_TOO_OFTEN = N_("emailed too often today")


class Account(Protocol):
    """What the rule reads of an account: a User, or a row of MANAGE → Users."""

    id: int
    email: str | None
    status: UserStatus
    full_name: str


def action_refusal(user: Account, actor: User, action: UserAction) -> ActionRefused | None:
    """Why this account does not offer this action to this staff member, or None."""
    reason = _refused_because(user, actor, action)
    if reason is None:
        return None
    return ActionRefused(gettext(_REFUSALS[action, reason], name=user.full_name), reason)


def _refused_because(user: Account, actor: User, action: UserAction) -> str | None:
    """The rule itself, as the short reason a bulk action counts; worded by action_refusal."""
    status = user.status
    if action is UserAction.CONVERT:
        if status is not UserStatus.MANAGED:
            return N_("not managed")
        if not user.email:
            return N_("no email")
    elif action is UserAction.DEACTIVATE:
        if user.id == actor.id:
            return N_("your own account")
        if status is UserStatus.DEACTIVATED:
            return N_("already deactivated")
    elif action is UserAction.REACTIVATE:
        if status is not UserStatus.DEACTIVATED:
            return N_("not deactivated")
    elif action is UserAction.DELETE and status is not UserStatus.MANAGED:
        return N_("not managed")
    return None


_REFUSALS = {
    (UserAction.CONVERT, "not managed"): N_("%(name)s is not a managed user."),
    (UserAction.CONVERT, "no email"): N_(
        "%(name)s has no email address. Add one with Edit first, then AUTHENTICATE."
    ),
    (UserAction.DEACTIVATE, "your own account"): N_("You cannot deactivate your own account."),
    (UserAction.DEACTIVATE, "already deactivated"): N_("%(name)s is already deactivated."),
    (UserAction.REACTIVATE, "not deactivated"): N_("%(name)s is not deactivated."),
    (UserAction.DELETE, "not managed"): N_(
        "Only managed users can be deleted; %(name)s is not one."
    ),
}


def allowed_actions(user: Account, actor: User) -> tuple[UserAction, ...]:
    """The actions this account offers, in the order menus show them (asked for every row of
    MANAGE → Users: the reasons are not worded)."""
    return tuple(action for action in UserAction if _refused_because(user, actor, action) is None)


def _require(user: User, actor: User, action: UserAction) -> None:
    refusal = action_refusal(user, actor, action)
    if refusal:
        raise refusal


# One account ----------------------------------------------------------------------------


def convert_to_authenticated(user: User, actor: User, custom_message: str | None = None):
    """Email a managed user a link to set a password (AUTHENTICATE); a few a day per address,
    counted against the sponsor's daily allowance."""
    _require(user, actor, UserAction.CONVERT)
    refusal = allowance.address_refusal(user.sponsor_id, "set_password", user.email)
    if refusal:
        raise refusal
    allowance.reserve(user.sponsor_id, 1)
    return send_set_password_link(user, actor_id=actor.id, custom_message=custom_message)


def deactivate_user(user: User, actor: User) -> None:
    """The person can no longer log in; every session and unused link ends now."""
    _require(user, actor, UserAction.DEACTIVATE)
    previous = user.status
    user.status = UserStatus.DEACTIVATED
    end_all_sessions(user)
    # A set-password or recovery link must not turn a deactivated account back on.
    end_links(user)
    audit.record("deactivated", user, actor_id=actor.id, previous_status=previous.value)


def end_links(user: User) -> None:
    """Every unused set-password and recovery link of the account stops working."""
    end_account_links(user)
    # "authentication sent" would promise a link that no longer works.
    user.authentication_sent_at = None


def reactivate_user(user: User, actor: User) -> None:
    """Back to Active if the person has a password, otherwise back to Managed."""
    _require(user, actor, UserAction.REACTIVATE)
    user.status = UserStatus.ACTIVE if user.password_hash else UserStatus.MANAGED
    audit.record("reactivated", user, actor_id=actor.id, status=user.status.value)


def delete_user(user: User, actor: User) -> None:
    """Delete a managed user; the audit trail keeps who they were."""
    _require(user, actor, UserAction.DELETE)
    audit.record(
        "deleted",
        user,
        actor_id=actor.id,
        name=user.full_name,
        email=user.email,
        user_type=user.user_type.value,
    )
    # What the foreign keys do on PostgreSQL, done here too so SQLite (no FK checks) agrees.
    db.session.execute(delete(AccountToken).where(AccountToken.user_id == user.id))
    for column in (
        MailMessage.user_id,
        AuditEvent.actor_id,
        Invitation.accepted_user_id,
        Invitation.invited_by_id,
        Invitation.revoked_by_id,
    ):
        db.session.execute(
            update(column.class_)
            .where(column == user.id)
            .values({column.key: None})
            .execution_options(synchronize_session=False)
        )
    db.session.delete(user)
    db.session.flush()


# Many accounts --------------------------------------------------------------------------


def parse_ids(values: Iterable[str], too_many=None) -> list[int]:
    """Distinct ids from a form; anything that is not a number is ignored. More than
    BULK_LIMIT: TooManySelected, with `too_many()`'s message if given."""
    ids = [ident for value in values if (ident := parse_id((value or "").strip())) is not None]
    ids = list(dict.fromkeys(ids))
    if len(ids) > BULK_LIMIT:
        raise TooManySelected(
            too_many()
            if too_many
            else gettext(
                "Select at most %(count)s users at a time.", count=format_number(BULK_LIMIT)
            )
        )
    return ids


def selected_users(ids: list[int], lock: bool = False) -> list[User]:
    """The current sponsor's users among ids; another sponsor's ids are simply not there.

    With lock, the rows are held for the transaction, taken in one order (name, id).
    """
    if not ids:
        return []
    stmt = scoped(User).where(User.id.in_(ids)).order_by(User.name_key, User.id)
    return list(db.session.scalars(stmt.with_for_update(of=User) if lock else stmt))


@dataclass
class BulkResult:
    """How many were done; how many were skipped, by reason in the reader's language."""

    done: int = 0
    skipped: Counter = field(default_factory=Counter)

    def message(self, done_text: str) -> str:
        reasons = sorted(self.skipped.items(), key=lambda item: (-item[1], item[0]))
        return ", ".join(
            [done_text]
            + [
                # English says "skipped" for one or many; Spanish does not.
                ngettext(
                    "%(count)s skipped: %(reason)s",
                    "%(count)s skipped: %(reason)s",
                    count,
                    count=format_number(count),
                    reason=why,
                )
                for why, count in reasons
            ]
        )


def sort_out(users: list[User], actor: User, action: UserAction) -> tuple[BulkResult, list]:
    """The selected users that offer the action, and the others counted by reason."""
    result, ready = BulkResult(), []
    for user in users:
        refusal = action_refusal(user, actor, action)
        if refusal:
            result.skipped[gettext(refusal.reason)] += 1
        else:
            ready.append(user)
    result.done = len(ready)
    return result, ready


def convert_plan(users: list[User], actor: User) -> tuple[BulkResult, list[User]]:
    """Who bulk Convert would email: managed users with an address that has not already
    had its share of set-password emails today."""
    result, ready = sort_out(users, actor, UserAction.CONVERT)
    sent = allowance.sent_today(actor.sponsor_id, "set_password", [u.email for u in ready])
    fresh = [user for user in ready if sent.get(user.email, 0) < allowance.PER_ADDRESS_PER_DAY]
    if len(fresh) < len(ready):
        result.skipped[gettext(EMAILED_TOO_OFTEN)] += len(ready) - len(fresh)
    result.done = len(fresh)
    return result, fresh


def bulk_convert(users: list[User], actor: User, custom_message: str | None) -> str:
    """Queue a set-password email for every user convert_plan() finds; if they do not fit
    in the sponsor's daily allowance, nothing is sent (MailCapReached says how many fit)."""
    result, ready = convert_plan(users, actor)
    allowance.reserve(actor.sponsor_id, len(ready))
    for user in ready:
        send_set_password_link(user, actor_id=actor.id, custom_message=custom_message)
    done = result.done
    return result.message(
        ngettext(
            "%(count)s email queued", "%(count)s emails queued", done, count=format_number(done)
        )
    )


def bulk_deactivate(users: list[User], actor: User) -> str:
    result, ready = sort_out(users, actor, UserAction.DEACTIVATE)
    for user in ready:
        deactivate_user(user, actor)
    done = result.done
    return result.message(
        ngettext(
            "%(count)s user deactivated",
            "%(count)s users deactivated",
            done,
            count=format_number(done),
        )
    )


def bulk_reactivate(users: list[User], actor: User) -> str:
    result, ready = sort_out(users, actor, UserAction.REACTIVATE)
    for user in ready:
        reactivate_user(user, actor)
    done = result.done
    return result.message(
        ngettext(
            "%(count)s user reactivated",
            "%(count)s users reactivated",
            done,
            count=format_number(done),
        )
    )


def bulk_delete(users: list[User], actor: User) -> str:
    """Delete the managed users among them; the others are counted and kept."""
    result, ready = sort_out(users, actor, UserAction.DELETE)
    for user in ready:
        delete_user(user, actor)
    done = result.done
    return result.message(
        ngettext(
            "%(count)s user deleted", "%(count)s users deleted", done, count=format_number(done)
        )
    )
