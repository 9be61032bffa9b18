"""How many users a sponsor has, in all and per status, type and organization."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class UserCount(db.Model):
    """One exact count of a sponsor's users: `dimension` "all" (value ""), "status",
    "type" or "organization" (the value: a status, a type, an organization's id).

    Written only by database triggers on user_account (migration 0017c_user_counts), in the
    transaction that changes the users, so every way a user is added, changed or deleted
    (a form, a bulk UPDATE, a cascade, raw SQL) keeps it exact. scope/manage/counts.py reads it.
    """

    __tablename__ = "user_count"

    sponsor_id: Mapped[int] = mapped_column(
        ForeignKey("sponsor.id", ondelete="CASCADE"), primary_key=True
    )
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
