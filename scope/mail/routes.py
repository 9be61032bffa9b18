"""The development mailbox: with no SMTP server and SCOPE_DEV_MAILBOX, staff read the mail here."""

from flask import Blueprint, abort, current_app, make_response

from ..htmx import render
from ..models import MailMessage
from ..security import staff_required
from ..tenancy import get_or_404
from .services import (
    development_mailbox_enabled,
    kind_label,
    linkify,
    mailbox_listing,
    mailbox_state,
)

bp = Blueprint("mail", __name__, url_prefix="/mail")


@bp.before_request
def only_when_enabled():
    # Outside development (or with a real mail server) this page does not exist: whoever
    # could read it could follow a colleague's recovery link.
    if not development_mailbox_enabled(current_app.config):
        abort(404)


@bp.app_context_processor
def mailbox_link():
    return {"development_mailbox": development_mailbox_enabled(current_app.config)}


@bp.context_processor
def in_words():
    return {"kind_label": kind_label, "mailbox_state": mailbox_state}


# The HTML part is shown as it will look, in a frame of its own: its inline styles need a
# policy of their own (a srcdoc frame would inherit the page's, which refuses them), and that
# policy lets nothing else in: no script, no request, no form.
HTML_PART_POLICY = "; ".join(
    [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src data:",
        "form-action 'none'",
        "base-uri 'none'",
        "frame-ancestors 'self'",
    ]
)


@bp.get("/mailbox")
@staff_required
def mailbox():
    return render("mail/mailbox.html", "messages", nav=None, listing=mailbox_listing())


@bp.get("/mailbox/<int:message_id>")
@staff_required
def message(message_id: int):
    message = get_or_404(MailMessage, message_id)
    return render(
        "mail/message.html", nav=None, message=message, text_part=linkify(message.body_text)
    )


@bp.get("/mailbox/<int:message_id>/html")
@staff_required
def message_html(message_id: int):
    message = get_or_404(MailMessage, message_id)
    # Its links open in the whole window, not in the frame.
    html = message.body_html.replace("<body", '<base target="_top"><body', 1)
    response = make_response(html)
    response.headers["Content-Security-Policy"] = HTML_PART_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response
