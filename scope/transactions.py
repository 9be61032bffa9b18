"""A request whose transaction lost a race to another (PostgreSQL chose it to end a deadlock,
or could not serialize it, or a row it refers to was deleted by another transaction after the
request checked it, as when an occupation is merged away while a row naming it is added) runs
again, from the start, instead of answering 500: the second attempt's checks see the change
and answer as they would have.

Only these outcomes are retried: they mean "nothing of yours was written, try again".
Every view is wrapped, so no route needs to know; a view's effects outside the database
happen after its commit, so a retried attempt repeats nothing.
"""

from __future__ import annotations

import logging
import random
import time
from functools import wraps

from flask import Flask
from sqlalchemy.exc import DBAPIError

from .extensions import db

log = logging.getLogger(__name__)

# deadlock_detected, serialization_failure, foreign_key_violation
RETRYABLE = {"40P01", "40001", "23503"}
ATTEMPTS = 4


def is_retryable(error: BaseException) -> bool:
    return getattr(getattr(error, "orig", None), "sqlstate", None) in RETRYABLE


def retry_on_conflict(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        for attempt in range(1, ATTEMPTS):
            try:
                return view(*args, **kwargs)
            except DBAPIError as error:
                if not is_retryable(error):
                    raise
                db.session.rollback()
                log.info("transaction conflict (%s), attempt %d", error.orig.sqlstate, attempt)
                time.sleep(random.uniform(0, 0.02 * 2**attempt))
        return view(*args, **kwargs)

    return wrapped


def register(app: Flask) -> None:
    """Wrap every view of the app (call after the blueprints are registered)."""
    for endpoint, view in app.view_functions.items():
        if endpoint != "static":
            app.view_functions[endpoint] = retry_on_conflict(view)
