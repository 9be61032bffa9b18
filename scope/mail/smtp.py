"""The SMTP side of delivery: one connection with a socket timeout, and what an answer means."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass

from flask import Flask
from flask_mail import BadHeaderError, Connection, Message


class TimedConnection(Connection):
    """Flask-Mail's connection, with a socket timeout and a quiet close after an error.

    Flask-Mail opens smtplib.SMTP without a timeout, so a server that accepts and never
    answers would hang a worker forever; the only other knob is the process-wide
    socket.setdefaulttimeout, which would leak into every other socket of the process.
    """

    def __init__(self, app: Flask):
        super().__init__(app.extensions["mail"])
        self.timeout = float(app.config["MAIL_TIMEOUT"])
        self.address = f"{self.mail.server}:{self.mail.port}"

    def configure_host(self) -> smtplib.SMTP:
        smtp_class = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = smtp_class(self.mail.server, self.mail.port, timeout=self.timeout)
        try:
            host.set_debuglevel(int(self.mail.debug))
            if self.mail.use_tls:
                host.starttls()
            if self.mail.username and self.mail.password:
                host.login(self.mail.username, self.mail.password)
        except BaseException:
            host.close()
            raise
        return host

    def __exit__(self, exc_type, exc_value, tb) -> None:
        if self.host is None:
            return
        try:
            self.host.quit()
        except (smtplib.SMTPException, OSError):
            # The connection already broke; the error that broke it has been recorded.
            self.host.close()
        finally:
            self.host = None


@dataclass(frozen=True)
class Outcome:
    """How one message's attempt ended, in words staff can read in last_error."""

    error: str
    permanent: bool = False
    # The connection cannot carry another message: the rest of the batch waits for a new one.
    connection_lost: bool = False
    # Not an SMTP or network error: a bug worth a traceback in the log.
    unexpected: bool = False


def classify(error: BaseException, connection: TimedConnection) -> Outcome:
    """5xx for the message or its recipient is final; everything else is worth retrying."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, answer = next(iter(error.recipients.values()), (0, b""))
        return Outcome(_answer(code, answer), permanent=code >= 500, connection_lost=code == 421)
    if isinstance(error, smtplib.SMTPDataError):
        code = error.smtp_code
        return Outcome(
            _answer(code, error.smtp_error), permanent=code >= 500, connection_lost=code == 421
        )
    if isinstance(error, smtplib.SMTPSenderRefused):
        # The sender is our configuration, not this message: retry while someone fixes it.
        return Outcome(
            "Sender refused: " + _answer(error.smtp_code, error.smtp_error),
            connection_lost=error.smtp_code == 421,
        )
    if isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError):
        # smtplib reports a read that timed out as a disconnection.
        return Outcome(
            f"No answer from {connection.address} within {connection.timeout:g} s",
            connection_lost=True,
        )
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return Outcome(f"Connection to {connection.address} lost: {error}", connection_lost=True)
    if isinstance(error, smtplib.SMTPResponseException):
        # Greeting, HELO, STARTTLS or login refused: the connection is of no use.
        return Outcome(_answer(error.smtp_code, error.smtp_error), connection_lost=True)
    if isinstance(error, OSError):
        reason = error.strerror or str(error) or type(error).__name__
        return Outcome(f"Could not reach {connection.address}: {reason}", connection_lost=True)
    if isinstance(error, smtplib.SMTPException):
        return Outcome(f"SMTP error: {error}", connection_lost=True)
    if isinstance(error, BadHeaderError | UnicodeError):
        return Outcome(f"The message cannot be sent as written: {error!r}", permanent=True)
    return Outcome(f"Unexpected error: {error!r}", connection_lost=True, unexpected=True)


def _answer(code: int, answer: bytes | str) -> str:
    if isinstance(answer, bytes):
        answer = answer.decode("utf-8", "replace")
    return f"{code} {' '.join(answer.split())}".strip()


def build_message(
    *, message_id: int, recipient: str, subject: str, text: str, html: str, domain: str
) -> Message:
    """Plain text and HTML alternatives; the Message-ID is stable across retries."""
    message = Message(subject=subject, recipients=[recipient], body=text, html=html)
    # A retry after a crash may deliver twice; the same Message-ID lets mail clients dedupe.
    message.msgId = f"<scope-mail-{message_id}@{domain}>"
    message.extra_headers = {"Auto-Submitted": "auto-generated"}
    return message
