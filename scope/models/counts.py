"""How many users a sponsor has, in all and per status, type and organization."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..text import key_length


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


class UserMark(db.Model):
    """A page mark of MANAGE → Users in name order: the name key and id of every 5,000th
    user when the marks were made (n = 0 is a mark before everyone). Made by
    scope/manage/marks.py; see migration 0017q_user_marks."""

    __tablename__ = "user_mark"
    __table_args__ = (Index("ix_user_mark_key", "sponsor_id", "name_key", "user_id"),)

    sponsor_id: Mapped[int] = mapped_column(
        ForeignKey("sponsor.id", ondelete="CASCADE"), primary_key=True
    )
    n: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name_key: Mapped[str] = mapped_column(String(key_length(210)))  # user_account's
    user_id: Mapped[int] = mapped_column(Integer)


class UserMarkCount(db.Model):
    """How many users lie from mark n up to the next, in all ("all", "") and per status and
    type: written by the marks' making and by database triggers on user_account."""

    __tablename__ = "user_mark_count"

    sponsor_id: Mapped[int] = mapped_column(
        ForeignKey("sponsor.id", ondelete="CASCADE"), primary_key=True
    )
    n: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
