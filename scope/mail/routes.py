"""The development mailbox: with no SMTP server and SCOPE_DEV_MAILBOX, staff read the mail here."""

from flask import Blueprint, abort, current_app

from ..htmx import render
from ..models import MailMessage
from ..security import staff_required
from ..tenancy import get_or_404
from .services import development_mailbox_enabled, linkify, mailbox_listing

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
