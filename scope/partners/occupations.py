"""Occupations: added, renamed, merged into another, retired and restored, deleted when
nothing refers to them. The rules, independent of any request."""

from __future__ import annotations

from flask_babel import gettext
from sqlalchemy import exists, func, select, update

from .. import audit
from ..extensions import db
from ..models import (
    Invitation,
    Occupation,
    PublicLink,
    User,
    WizardDraft,
    WizardRow,
    utcnow,
)
from ..refusals import Refused
from ..tenancy import scoped
from ..text import name_key
from .services import DuplicateName, _save, count_references, still_referred

# Every column that refers to an occupation: a merge moves each, a delete waits for none.
REFERENCES = (
    User.occupation_id,
    Invitation.occupation_id,
    PublicLink.occupation_id,
    WizardRow.occupation_id,
)


class OccupationRefused(Refused):
    """Merge, retire, restore or delete cannot be done to this occupation now; says why."""


def _name_taken(sponsor_id: int, key: str, exclude_id: int | None = None) -> bool:
    stmt = select(Occupation.id).where(
        Occupation.sponsor_id == sponsor_id, Occupation.name_key == key
    )
    if exclude_id is not None:
        stmt = stmt.where(Occupation.id != exclude_id)
    return db.session.scalar(select(exists(stmt))) or False


def _duplicate(name: str) -> DuplicateName:
    return DuplicateName(gettext("An occupation named “%(name)s” already exists.", name=name))


def create_occupation(sponsor_id: int, data: dict) -> Occupation:
    key = name_key(data["name"])
    if _name_taken(sponsor_id, key):
        raise _duplicate(data["name"])
    occupation = Occupation(
        sponsor_id=sponsor_id,
        name=data["name"],
        name_key=key,
        rapids_code=data.get("rapids_code"),
        onet_code=data.get("onet_code"),
    )
    _save(
        lambda: db.session.add(occupation),
        lambda: _name_taken(sponsor_id, key),
        _duplicate(data["name"]),
    )
    return occupation


def update_occupation(occupation: Occupation, data: dict, actor: User) -> list[str]:
    """Rename it (or change its codes); the name stays unique by its key. Everything that
    refers to it keeps its id, so shows the new name. The names of the changed fields."""
    key = name_key(data["name"])

    def taken():
        return _name_taken(occupation.sponsor_id, key, occupation.id)

    if taken():
        raise _duplicate(data["name"])
    before = occupation.name
    changed = [
        field
        for field in ("name", "rapids_code", "onet_code")
        if getattr(occupation, field) != data.get(field)
    ]

    def change():
        occupation.name_key = key
        for field in changed:
            setattr(occupation, field, data.get(field))

    _save(change, taken, _duplicate(data["name"]))
    if changed:
        details = {"fields": changed}
        if "name" in changed:
            details.update(previous_name=before, name=occupation.name)
        audit.record("occupation_updated", occupation, actor_id=actor.id, **details)
    return changed


def list_occupations() -> list[Occupation]:
    """Every occupation, retired ones last."""
    return list(
        db.session.scalars(
            scoped(Occupation).order_by(Occupation.retired_at.is_not(None), Occupation.name_key)
        )
    )


def occupation_choices(keep: int | None = None) -> list[Occupation]:
    """What a picker offers: the occupations not retired, and `keep` (the one a person
    already has) even if it is."""
    stmt = scoped(Occupation).order_by(Occupation.name_key)
    offered = Occupation.retired_at.is_(None)
    if keep is not None:
        offered = offered | (Occupation.id == keep)
    return list(db.session.scalars(stmt.where(offered)))


def occupation_user_counts() -> dict[int, int]:
    stmt = (
        scoped(User, User.occupation_id, func.count(User.id))
        .where(User.occupation_id.is_not(None))
        .group_by(User.occupation_id)
    )
    return dict(db.session.execute(stmt).all())


def references(occupation: Occupation) -> dict:
    """How many users, invitations, public links and INVITE-list rows refer to it."""
    return count_references(occupation.id, REFERENCES)


def retire_occupation(occupation: Occupation, actor: User) -> None:
    """Out of every picker; the people, invitations and links that have it keep it."""
    if occupation.retired_at is not None:
        raise OccupationRefused(gettext("%(name)s is already retired.", name=occupation.name))
    occupation.retired_at = utcnow()
    audit.record("occupation_retired", occupation, actor_id=actor.id)


def restore_occupation(occupation: Occupation, actor: User) -> None:
    if occupation.retired_at is None:
        raise OccupationRefused(gettext("%(name)s is not retired.", name=occupation.name))
    occupation.retired_at = None
    audit.record("occupation_restored", occupation, actor_id=actor.id)


def delete_occupation(occupation: Occupation, actor: User) -> None:
    """Only an occupation nothing refers to (a mistake); else retire or merge it."""
    found = references(occupation)
    if found:
        raise OccupationRefused(
            still_referred(
                occupation.name,
                found,
                gettext("Retire it, or merge it into another occupation, instead."),
            )
        )
    audit.record("occupation_deleted", occupation, actor_id=actor.id, name=occupation.name)
    db.session.delete(occupation)
    db.session.flush()


def merge_refusal(occupation: Occupation, into: Occupation | None) -> OccupationRefused | None:
    """Why `occupation` cannot be merged into `into`, or None."""
    if into is None:
        return OccupationRefused(gettext("Choose the occupation to merge into."), "into")
    if into.id == occupation.id:
        return OccupationRefused(
            gettext(
                "Choose another occupation: %(name)s cannot be merged into itself.",
                name=occupation.name,
            ),
            "into",
        )
    if into.retired_at is not None:
        return OccupationRefused(
            gettext(
                "%(name)s is retired. Restore it first, or choose another occupation.",
                name=into.name,
            ),
            "into",
        )
    return None


def merge_occupation(occupation: Occupation, into: Occupation, actor: User) -> dict:
    """Everything that refers to `occupation` moves to `into`, in this transaction; then
    `occupation` is gone. The counts of what moved.

    Both rows are locked first, in id order (two merges the other way round wait instead of
    deadlocking). On PostgreSQL a row being added that refers to `occupation` holds a key
    lock on it: the merge waits for it and then moves it too, and a row added after the lock
    waits for the merge and then finds the occupation gone.
    """
    locked = db.session.scalars(
        select(Occupation.id)
        .where(Occupation.id.in_(sorted({occupation.id, into.id})))
        .order_by(Occupation.id)
        .with_for_update()
    ).all()
    for gone in (occupation, into):
        if gone.id not in locked:
            raise OccupationRefused(
                gettext("%(name)s was merged or deleted meanwhile.", name=gone.name)
            )
    db.session.refresh(into)
    refusal = merge_refusal(occupation, into)
    if refusal:
        raise refusal
    moved = references(occupation)
    for column in REFERENCES:
        db.session.execute(
            update(column.class_)
            .where(column == occupation.id)
            .values({column.key: into.id})
            .execution_options(synchronize_session=False)
        )
    _move_typed(occupation, into)
    audit.record(
        "occupation_merged",
        into,
        actor_id=actor.id,
        merged_id=occupation.id,
        merged_name=occupation.name,
        moved={column.class_.__tablename__: moved.get(column.class_, 0) for column in REFERENCES},
    )
    db.session.delete(occupation)
    db.session.flush()
    # The session's users and invitations still hold the old id: read them again.
    db.session.expire_all()
    return moved


def _move_typed(occupation: Occupation, into: Occupation) -> None:
    """A wizard's row form typed but not yet added keeps its occupation too."""
    drafts = db.session.scalars(
        select(WizardDraft).where(
            WizardDraft.sponsor_id == occupation.sponsor_id, WizardDraft.typed.is_not(None)
        )
    )
    for draft in drafts:
        if str(draft.typed.get("occupation")) == str(occupation.id):
            draft.typed = {**draft.typed, "occupation": str(into.id)}
