"""Error pages: a whole page for a browser, a fragment for htmx."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from flask import Flask, g, has_request_context, make_response, stream_with_context
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from sqlalchemy import exc as sa
from sqlalchemy.engine import Engine
from werkzeug.exceptions import HTTPException

from .extensions import db, login_manager
from .htmx import is_htmx, render, retarget

log = logging.getLogger(__name__)

MESSAGES = {
    400: (
        _l("Bad request"),
        _l("The request could not be understood. Reload the page and try again."),
    ),
    401: (_l("Please log in"), _l("Your session has ended. Log in again to continue.")),
    403: (_l("Not allowed"), _l("Your account does not have access to this page.")),
    404: (
        _l("Not found"),
        _l("There is nothing here. It may have been removed, or the link is wrong."),
    ),
    405: (_l("Not allowed"), _l("That action cannot be done this way.")),
    413: (_l("Too large"), _l("What you sent is too large. Try a smaller file.")),
    429: (
        _l("Too many attempts"),
        _l("Too many requests in a short time. Wait a minute and try again."),
    ),
    500: (_l("Something went wrong"), _l("The change was not saved. Try again in a moment.")),
    503: (
        _l("Service unavailable"),
        _l("Scope cannot reach its database right now. Nothing was saved; try again in a moment."),
    ),
}
CANNOT_WRITE = _l(
    "Scope cannot write to its database: the disk is full or the database is read-only. "
    "Nothing was saved; tell whoever runs Scope."
)
# Errors of the database being away rather than of the request: refused or dropped
# connections, a server shutting down, a pool with no connection to give within its timeout.
DATABASE_UNAVAILABLE = (sa.OperationalError, sa.InterfaceError)
# Result codes that mean "cannot write": SQLite's primary codes (the low byte of an extended
# code) SQLITE_READONLY and SQLITE_FULL; PostgreSQL's disk_full and read_only_sql_transaction.
_SQLITE_CANNOT_WRITE = {8, 13}
_POSTGRESQL_CANNOT_WRITE = {"53100", "25006"}


def error_response(code: int, message: str | None = None):
    title, default = MESSAGES.get(
        code, (_l("Error %(code)s", code=code), _l("The request could not be completed."))
    )
    response = make_response(
        render(
            "errors/error.html",
            "content",
            status=code,
            code=code,
            title=title,
            message=message or default,
            fragment=is_htmx(),
        )
    )
    if is_htmx():
        # Errors appear in the alert area, never inside the table or form that asked.
        retarget(response, "#alerts", "innerHTML")
    return response


def streamed(chunks: Iterator[str]) -> Iterator[str]:
    """A response body made a chunk at a time, its first chunk made now, in the view.

    A failure before anything is sent (the database unavailable) then reaches the error
    handlers and is answered as such; one after the first chunk can only end the transfer
    unfinished, which the client sees as a failed download rather than a short one.
    """
    first = next(chunks, None)
    # The chunks read the rows through the request's session, a few hundred at a time (on
    # PostgreSQL from a server-side cursor, which lives as long as its transaction). The
    # request's teardown, run when the view returns and before the body is sent, would
    # close that session and end the export after its first chunk. The session is taken
    # out of the request's hands and given back to the body's own context, whose teardown
    # closes it when the body ends.
    session = db.session() if db.session.registry.has() else None
    if session is not None:
        db.session.registry.clear()

    def body() -> Iterator[str]:
        if session is not None:
            db.session.registry.set(session)
        if first is not None:
            yield first
        yield from chunks

    return stream_with_context(body())


def sqlite_result(error: BaseException) -> int | None:
    """SQLite's primary result code of a database error (the low byte of its extended code),
    or None when SQLite did not raise it."""
    code = getattr(getattr(error, "orig", None), "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def sqlstate(error: BaseException) -> str | None:
    """PostgreSQL's SQLSTATE of a database error, or None."""
    return getattr(getattr(error, "orig", None), "sqlstate", None)


def cannot_write(error: sa.DBAPIError) -> bool:
    """The database is there but refuses writes (codes, never the message's words)."""
    code = sqlite_result(error)
    if code is not None:
        return code in _SQLITE_CANNOT_WRITE
    return sqlstate(error) in _POSTGRESQL_CANNOT_WRITE


def database_unavailable(error: BaseException) -> bool:
    if isinstance(error, sa.DisconnectionError | sa.TimeoutError):
        return True
    if not isinstance(error, sa.DBAPIError):
        return False
    if isinstance(error, DATABASE_UNAVAILABLE) or error.connection_invalidated:
        return True
    return cannot_write(error)


def _note_lost_database(context) -> None:
    """Remember that this request lost the database, even when the error was swallowed
    (Flask-Limiter swallows one raised by a limit's cost function): the next statement then
    fails with PendingRollbackError, which says nothing of why."""
    error = context.sqlalchemy_exception
    if error is not None and has_request_context() and database_unavailable(error):
        g.scope_database_lost = True


def forget_lost_database() -> None:
    """The error noted was not a lost database after all (a conflict that is run again)."""
    g.pop("scope_database_lost", None)


def _discard_transaction() -> None:
    try:
        db.session.rollback()
    except sa.SQLAlchemyError:
        # The connection is gone as well; the pool checks the next one before use.
        log.debug("rollback after a database error failed", exc_info=True)


def register(app: Flask) -> None:
    @app.teardown_appcontext
    def close_session(error: BaseException | None) -> None:
        # Runs before Flask-SQLAlchemy's session.remove() (teardowns run in reverse). Closing
        # rolls back the open transaction, which fails on a connection the database dropped
        # meanwhile (a restart); that must not turn an answer already made into a 500, nor
        # leave the dead connection checked out. close() and not rollback(): a streamed
        # response still reads the objects it loaded, which rollback() would expire.
        if not db.session.registry.has():
            return
        session = db.session()
        try:
            connection = session.connection() if session.in_transaction() else None
        except sa.SQLAlchemyError:
            connection = None  # already invalidated: closing needs no rollback then
        try:
            session.close()
        except sa.SQLAlchemyError:
            log.warning("database connection lost; discarded without a rollback")
            if connection is not None:
                connection.invalidate()
                connection.close()

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return error_response(
            400,
            gettext(
                "This form has expired or was not sent from Scope. Reload the page and try again."
            ),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        return error_response(error.code)

    if not event.contains(Engine, "handle_error", _note_lost_database):
        event.listen(Engine, "handle_error", _note_lost_database)

    @app.errorhandler(sa.SQLAlchemyError)
    def database_error(error: sa.SQLAlchemyError):
        after_loss = isinstance(error, sa.PendingRollbackError) and g.get("scope_database_lost")
        if not (database_unavailable(error) or after_loss):
            return server_error(error)
        _discard_transaction()
        # The page is drawn as for an anonymous visitor: the account and its sponsor would
        # have to be read from the database that just failed.
        login_manager._update_request_context_with_user()
        is_storage = isinstance(error, sa.DBAPIError) and cannot_write(error)
        # The driver's words without the statement and its parameters, once per request.
        log.warning(
            "database %s: %s: %s",
            "refuses writes" if is_storage else "unavailable",
            type(error).__name__,
            str(getattr(error, "orig", None) or error).strip(),
        )
        response = error_response(503, CANNOT_WRITE if is_storage else None)
        response.headers["Retry-After"] = "5"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(Exception)
    def server_error(error: Exception):
        _discard_transaction()
        log.exception("unhandled error")
        return error_response(500)
