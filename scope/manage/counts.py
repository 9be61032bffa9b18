"""Exact totals of MANAGE → Users, read from user_count instead of counting users.

The counts are kept by database triggers (migration 0017c_user_counts) in the transaction
that changes the users, not by this module: a bulk UPDATE, a cascade or a change made
outside the services keeps them exact too. See docs/PERFORMANCE.md, "Exact counts".
"""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..listing import Listing
from ..models import UserCount
from ..tenancy import current_sponsor_id

# The listing's filters that have counts of their own; the same words as the dimensions.
COUNTED_FILTERS = ("status", "type", "organization")


def counted(listing: Listing) -> tuple[str, str] | None:
    """The (dimension, value) whose count is the listing's total, or None when no count
    holds it (a search, or two filters at once)."""
    if listing.q or len(listing.filters) > 1:
        return None
    if not listing.filters:
        return ("all", "")
    ((name, value),) = listing.filters.items()
    return (name, value) if name in COUNTED_FILTERS else None


def user_total(sponsor_id: int, dimension: str, value: str) -> int:
    """One count; none kept means no such user."""
    stmt = select(UserCount.count).where(
        UserCount.sponsor_id == sponsor_id,
        UserCount.dimension == dimension,
        UserCount.value == value,
    )
    return db.session.scalar(stmt) or 0


def show_exact_total(listing: Listing) -> Listing:
    """Give a listing of users its exact total where a count holds it ("1–25 of 1,000,000"
    rather than "of 1,000+"); other listings keep the total they counted. Call it after
    the listing's filters were cleaned and its page fetched."""
    key = counted(listing)
    if key is not None:
        listing.total = user_total(current_sponsor_id(), *key)
        listing.capped = False
    return listing
