"""Error pages: a whole page for a browser, a fragment for htmx."""

from __future__ import annotations

import logging

from flask import Flask, make_response
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .extensions import db
from .htmx import is_htmx, render, retarget

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Reload the page and try again."),
    401: ("Please log in", "Your session has ended. Log in again to continue."),
    403: ("Not allowed", "Your account does not have access to this page."),
    404: ("Not found", "There is nothing here. It may have been removed, or the link is wrong."),
    405: ("Not allowed", "That action cannot be done this way."),
    413: ("Too large", "What you sent is too large. Try a smaller file."),
    429: ("Too many attempts", "Too many requests in a short time. Wait a minute and try again."),
    500: ("Something went wrong", "The change was not saved. Try again in a moment."),
}


def error_response(code: int, message: str | None = None):
    title, default = MESSAGES.get(code, (f"Error {code}", "The request could not be completed."))
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


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return error_response(
            400, "This form has expired or was not sent from Scope. Reload the page and try again."
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        return error_response(error.code)

    @app.errorhandler(Exception)
    def server_error(error: Exception):
        db.session.rollback()
        log.exception("unhandled error")
        return error_response(500)
