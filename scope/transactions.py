"""A request whose transaction lost a race to another (PostgreSQL chose it to end a deadlock,
or could not serialize it, or a row it refers to was deleted by another transaction after the
request checked it, as when an occupation is merged away while a row naming it is added;
SQLite refused it a write lock, as it does at once to a transaction that has read and wants
to write while another is committing) runs again, from the start, instead of answering 503
or 500: the second attempt's checks see the change and answer as they would have.

Only these outcomes are retried: they mean "nothing of yours was written, try again".
Every view is wrapped, so no route needs to know; a view's effects outside the database
happen after its commit, so a retried attempt repeats nothing. An attempt that has
committed is never run again: SQLite can refuse a read after the commit too (a lock it
waited for in vain), and running the view again would repeat what was saved. Uploaded
files are read again from their start.
"""

from __future__ import annotations

import logging
import random
import time
from functools import wraps

from flask import Flask, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from .errors import forget_lost_database, sqlite_result, sqlstate
from .extensions import db

log = logging.getLogger(__name__)

# deadlock_detected, serialization_failure, foreign_key_violation
RETRYABLE = {"40P01", "40001", "23503"}
# SQLITE_BUSY, the low byte of the extended code. SQLite answers it without waiting when
# waiting could never end: this transaction holds a read lock that the committing one waits
# for. Rolling back releases it; the other commits and the next attempt goes ahead.
SQLITE_BUSY = 5
ATTEMPTS = 4


def is_retryable(error: BaseException) -> bool:
    return sqlstate(error) in RETRYABLE or sqlite_result(error) == SQLITE_BUSY


def retry_on_conflict(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        for attempt in range(1, ATTEMPTS):
            g.pop(_COMMITTED, None)
            try:
                return view(*args, **kwargs)
            except DBAPIError as error:
                if not is_retryable(error) or g.pop(_COMMITTED, False):
                    raise
                db.session.rollback()
                # Not a lost database: the next attempt starts with a clean slate.
                forget_lost_database()
                _rewind_uploads()
                log.info("transaction conflict (%s), attempt %d", _code(error), attempt)
                time.sleep(random.uniform(0, 0.02 * 2**attempt))
        return view(*args, **kwargs)

    return wrapped


# Set once a request's session has committed (a savepoint's release is no commit; a
# COMMIT the database refused is none either: the event follows a commit that succeeded).
_COMMITTED = "scope_committed"


def _note_commit(session) -> None:
    if has_request_context() and not session.in_nested_transaction():
        g.setdefault(_COMMITTED, True)


def _rewind_uploads() -> None:
    """The files of a form the attempt read, ready to be read again from their start."""
    if "files" in request.__dict__:  # parsed: werkzeug keeps it once read
        for upload in request.files.values():
            upload.stream.seek(0)


def _code(error: DBAPIError) -> str:
    return sqlstate(error) or getattr(error.orig, "sqlite_errorname", "?")


def register(app: Flask) -> None:
    """Wrap every view of the app (call after the blueprints are registered)."""
    if not event.contains(db.session, "after_commit", _note_commit):
        event.listen(db.session, "after_commit", _note_commit)
    for endpoint, view in app.view_functions.items():
        if endpoint != "static":
            app.view_functions[endpoint] = retry_on_conflict(view)
