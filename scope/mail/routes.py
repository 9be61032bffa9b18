"""The development mailbox: with no SMTP server configured, staff read the mail here."""

from flask import Blueprint, abort, current_app

from ..htmx import render
from ..models import MailMessage
from ..security import staff_required
from ..tenancy import get_or_404
from .services import linkify, mailbox_listing

bp = Blueprint("mail", __name__, url_prefix="/mail")


@bp.before_request
def only_without_smtp():
    # With a real mail server, mail leaves Scope and this page does not exist.
    if current_app.config.get("MAIL_SERVER") is not None:
        abort(404)


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
