"""Delivery of the outbox against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import select, update

from scope import create_app
from scope.extensions import db
from scope.mail.delivery import BACKOFF, MAX_ATTEMPTS, deliver_due
from scope.mail.services import Outbox, queue_mail
from scope.mail.worker import in_process_delivery, run_worker
from scope.models import (
    AuditEvent,
    Invitation,
    InvitationState,
    MailMessage,
    MailState,
    UserType,
    utcnow,
)
from tests.helpers import SMTPServer, bulk_outbox, elements, needs_postgres

# Workers, other apps, threads and subprocesses read what these tests write.
pytestmark = pytest.mark.real_commits


@pytest.fixture
def smtp():
    server = SMTPServer().start()
    yield server.sink
    server.stop()


@pytest.fixture
def make_app(app):
    """Apps on the test database with their own mail settings; engines closed afterwards."""
    made = []

    def make(**config):
        other = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": app.config["SECRET_KEY"],
                "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                "PUBLIC_URL": "http://scope.test",
                "MAIL_DELIVER_IN_PROCESS": False,
                "MAIL_SERVER": "127.0.0.1",
                "MAIL_SUPPRESS_SEND": False,
                "MAIL_TIMEOUT": 2,
                **config,
            }
        )
        made.append(other)
        return other

    yield make
    for other in made:
        delivery = in_process_delivery(other)
        if delivery is not None:
            delivery.stop(timeout=10)
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def mail_app(make_app, smtp):
    return make_app(MAIL_PORT=smtp.port)


@pytest.fixture
def outbox(app, make_sponsor):
    """Write messages straight into the outbox; returns their ids."""

    def add(*recipients: str, sponsor_id: int | None = None, **fields) -> list[int]:
        sponsor_id = sponsor_id or make_sponsor()
        with app.app_context():
            messages = [
                MailMessage(
                    sponsor_id=sponsor_id,
                    kind="invitation",
                    recipient=recipient,
                    subject=f"Join Scope, {recipient}",
                    body_text=f"Hello {recipient},\nfollow http://scope.test/join/abc\n",
                    body_html=f'<p>Hello {recipient}, <a href="http://scope.test/join/abc">join</a></p>',
                    state=fields.get("state", MailState.QUEUED),
                    attempts=fields.get("attempts", 0),
                    claimed_until=fields.get("claimed_until"),
                    invitation_id=fields.get("invitation_id"),
                )
                for recipient in recipients
            ]
            db.session.add_all(messages)
            db.session.commit()
            return [message.id for message in messages]

    return add


def _messages(app, ids) -> list[MailMessage]:
    with app.app_context():
        rows = db.session.scalars(
            select(MailMessage).where(MailMessage.id.in_(ids)).order_by(MailMessage.id)
        ).all()
        db.session.expunge_all()
        return rows


def _make_due(app, ids) -> None:
    with app.app_context():
        db.session.execute(
            update(MailMessage)
            .where(MailMessage.id.in_(ids))
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def _invitation(app, sponsor_id: int, email_address: str) -> int:
    with app.app_context():
        invitation = Invitation(
            sponsor_id=sponsor_id,
            email=email_address,
            pending_email=email_address,
            user_type=UserType.STAFF,
            state=InvitationState.PENDING,
            nonce="n" * 32,
            expires_at=utcnow() + timedelta(days=14),
        )
        db.session.add(invitation)
        db.session.commit()
        return invitation.id


def _audit(app, invitation_id: int) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.subject_type == "invitation", AuditEvent.subject_id == invitation_id
            )
        ).all()
        db.session.expunge_all()
        return events


# --- delivery -------------------------------------------------------------------------------


def test_a_batch_goes_over_one_connection_with_text_and_html(mail_app, smtp, outbox):
    ids = outbox("ana@example.com", "ben@example.com", "cy@example.com")

    counts = deliver_due(mail_app)

    assert (counts.claimed, counts.delivered, counts.retrying, counts.failed) == (3, 3, 0, 0)
    assert smtp.connections == 1
    assert sorted(smtp.recipients) == ["ana@example.com", "ben@example.com", "cy@example.com"]
    first = next(m for m in smtp.received if m["To"] == "ana@example.com")
    assert first["Subject"] == "Join Scope, ana@example.com"
    assert first["From"] == "Scope <no-reply@scope.localhost>"
    assert first["Message-ID"] == f"<scope-mail-{ids[0]}@scope.test>"
    assert first.get_body(("plain",)).get_content().startswith("Hello ana@example.com,")
    assert elements(first.get_body(("html",)).get_content(), '[href="http://scope.test/join/abc"]')
    for message in _messages(mail_app, ids):
        assert message.state is MailState.DELIVERED
        assert message.delivered_at is not None
        assert message.claimed_until is None
        assert message.attempts == 1


def test_nothing_due_means_no_connection(mail_app, smtp, outbox):
    outbox("later@example.com")
    with mail_app.app_context():
        db.session.execute(
            update(MailMessage).values(next_attempt_at=utcnow() + timedelta(hours=1))
        )
        db.session.commit()

    assert deliver_due(mail_app).claimed == 0
    assert smtp.connections == 0


def test_batch_size_limits_a_pass(mail_app, smtp, outbox):
    outbox(*[f"p{i}@example.com" for i in range(5)])

    assert deliver_due(mail_app, batch_size=2).delivered == 2
    assert deliver_due(mail_app, batch_size=2).delivered == 2
    assert deliver_due(mail_app, batch_size=2).delivered == 1
    assert smtp.connections == 3
    assert len(set(smtp.recipients)) == 5


def test_temporary_refusal_backs_off_then_delivers(mail_app, smtp, outbox):
    smtp.rcpt_answers["busy@example.com"] = "451 4.3.0 Mailbox busy, try again later"
    (message_id,) = outbox("busy@example.com")

    before = utcnow()
    counts = deliver_due(mail_app)
    (message,) = _messages(mail_app, [message_id])
    assert (counts.retrying, counts.delivered) == (1, 0)
    assert message.state is MailState.QUEUED
    assert message.attempts == 1
    assert message.last_error == "451 4.3.0 Mailbox busy, try again later"
    assert before + BACKOFF[0] <= message.next_attempt_at <= utcnow() + BACKOFF[0]
    assert deliver_due(mail_app).claimed == 0, "not due again before its backoff"

    _make_due(mail_app, [message_id])
    before = utcnow()
    deliver_due(mail_app)
    (message,) = _messages(mail_app, [message_id])
    assert message.attempts == 2
    assert before + BACKOFF[1] <= message.next_attempt_at <= utcnow() + BACKOFF[1]

    del smtp.rcpt_answers["busy@example.com"]
    _make_due(mail_app, [message_id])
    assert deliver_due(mail_app).delivered == 1
    (message,) = _messages(mail_app, [message_id])
    assert message.state is MailState.DELIVERED
    assert message.attempts == 3
    assert message.last_error is None
    assert smtp.recipients == ["busy@example.com"]


def test_server_down_keeps_mail_and_delivers_once_it_is_back(make_app, outbox):
    server = SMTPServer()  # a port with nothing listening yet
    down_app = make_app(MAIL_PORT=server.port)
    ids = outbox("one@example.com", "two@example.com")

    counts = deliver_due(down_app)
    assert (counts.claimed, counts.retrying) == (2, 2)
    for message in _messages(down_app, ids):
        assert message.state is MailState.QUEUED
        assert message.attempts == 1
        assert message.last_error == f"Could not reach 127.0.0.1:{server.port}: Connection refused"

    server.start()
    try:
        _make_due(down_app, ids)
        assert deliver_due(down_app).delivered == 2
        assert sorted(server.sink.recipients) == ["one@example.com", "two@example.com"]
        assert server.sink.connections == 1
    finally:
        server.stop()
    assert {m.state for m in _messages(down_app, ids)} == {MailState.DELIVERED}


@pytest.fixture
def silent_port():
    """A server that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


def test_a_server_that_never_answers_times_out(make_app, outbox, silent_port):
    hung_app = make_app(MAIL_PORT=silent_port, MAIL_TIMEOUT=0.3)
    (message_id,) = outbox("wait@example.com")

    started = time.monotonic()
    counts = deliver_due(hung_app)
    assert time.monotonic() - started < 5
    assert counts.retrying == 1
    (message,) = _messages(hung_app, [message_id])
    assert message.state is MailState.QUEUED
    assert message.last_error == f"No answer from 127.0.0.1:{silent_port} within 0.3 s"


def test_permanent_refusal_fails_with_the_servers_answer(mail_app, smtp, outbox, make_sponsor, app):
    sponsor_id = make_sponsor()
    invitation_id = _invitation(app, sponsor_id, "nobody@example.com")
    smtp.rcpt_answers["nobody@example.com"] = "550 5.1.1 No such user"
    (bad,) = outbox("nobody@example.com", sponsor_id=sponsor_id, invitation_id=invitation_id)
    (good,) = outbox("somebody@example.com", sponsor_id=sponsor_id)

    counts = deliver_due(mail_app)

    assert (counts.delivered, counts.failed) == (1, 1)
    assert smtp.connections == 1, "a refused recipient does not cost the connection"
    failed, delivered = _messages(mail_app, [bad, good])
    assert failed.state is MailState.FAILED
    assert failed.last_error == "550 5.1.1 No such user"
    assert failed.delivered_at is None
    assert delivered.state is MailState.DELIVERED
    (event,) = _audit(app, invitation_id)
    assert event.action == "delivery_failed"
    assert event.actor_id is None
    assert event.sponsor_id == sponsor_id
    assert event.details["error"] == "550 5.1.1 No such user"
    assert deliver_due(mail_app).claimed == 0, "a failed message is never tried again"


def test_a_message_refused_after_data_with_5xx_fails(mail_app, smtp, outbox):
    smtp.data_answers["spam@example.com"] = "554 5.7.1 Message rejected as spam"
    (message_id,) = outbox("spam@example.com")

    assert deliver_due(mail_app).failed == 1
    (message,) = _messages(mail_app, [message_id])
    assert message.state is MailState.FAILED
    assert message.last_error == "554 5.7.1 Message rejected as spam"


def test_the_last_attempt_fails_for_good(mail_app, smtp, outbox, make_sponsor, app):
    sponsor_id = make_sponsor()
    invitation_id = _invitation(app, sponsor_id, "busy@example.com")
    smtp.rcpt_answers["busy@example.com"] = "452 4.2.2 Mailbox full"
    (message_id,) = outbox(
        "busy@example.com",
        sponsor_id=sponsor_id,
        invitation_id=invitation_id,
        attempts=MAX_ATTEMPTS - 1,
    )

    assert deliver_due(mail_app).failed == 1
    (message,) = _messages(mail_app, [message_id])
    assert message.state is MailState.FAILED
    assert message.attempts == MAX_ATTEMPTS
    assert message.last_error == "452 4.2.2 Mailbox full"
    assert [e.action for e in _audit(app, invitation_id)] == ["delivery_failed"]


def test_every_backoff_is_longer_than_the_one_before():
    assert MAX_ATTEMPTS == 6
    assert list(BACKOFF) == sorted(BACKOFF)
    assert BACKOFF[0] == timedelta(seconds=30)


def test_an_expired_claim_is_delivered_again(mail_app, smtp, outbox):
    now = utcnow()
    (crashed,) = outbox(
        "crashed@example.com",
        state=MailState.SENDING,
        attempts=1,
        claimed_until=now - timedelta(seconds=1),
    )
    (claimed,) = outbox(
        "claimed@example.com",
        state=MailState.SENDING,
        attempts=1,
        claimed_until=now + timedelta(minutes=5),
    )

    assert deliver_due(mail_app).delivered == 1
    assert smtp.recipients == ["crashed@example.com"]
    crashed_message, claimed_message = _messages(mail_app, [crashed, claimed])
    assert crashed_message.state is MailState.DELIVERED
    assert crashed_message.attempts == 2
    assert claimed_message.state is MailState.SENDING, "another worker still holds it"


def test_a_message_interrupted_on_its_last_attempt_is_given_up(mail_app, smtp, outbox):
    (message_id,) = outbox(
        "poison@example.com",
        state=MailState.SENDING,
        attempts=MAX_ATTEMPTS,
        claimed_until=utcnow() - timedelta(seconds=1),
    )

    assert deliver_due(mail_app).failed == 1
    assert smtp.recipients == []
    (message,) = _messages(mail_app, [message_id])
    assert message.state is MailState.FAILED
    assert "interrupted" in message.last_error


def test_stop_finishes_the_current_message_and_hands_back_the_rest(mail_app, smtp, outbox):
    ids = outbox("a@example.com", "b@example.com", "c@example.com")
    stop = threading.Event()
    smtp.on_data = lambda message: stop.set()

    counts = deliver_due(mail_app, stop=stop)

    assert (counts.delivered, counts.released) == (1, 2)
    first, *rest = _messages(mail_app, ids)
    assert first.state is MailState.DELIVERED
    for message in rest:
        assert message.state is MailState.QUEUED
        assert message.attempts == 0
        assert message.claimed_until is None
    assert deliver_due(mail_app).delivered == 2


def test_an_outcome_the_database_cannot_take_is_recorded_once_it_is_back(
    mail_app, smtp, outbox, monkeypatch
):
    """A database restart while a batch is on the wire: no repeat, and no 5-minute wait."""
    ids = outbox("ana@example.com", "ben@example.com", "cy@example.com")
    with mail_app.app_context():
        dialect = db.engine.dialect
    execute = dialect.do_execute
    refusals = []

    def refuse_twice(cursor, statement, parameters, context=None):
        recording = statement.startswith("UPDATE mail_message") and "delivered_at" in statement
        if recording and len(refusals) < 2:
            refusals.append(statement)
            raise dialect.loaded_dbapi.OperationalError("the database system is starting up")
        return execute(cursor, statement, parameters, context)

    waits = []
    monkeypatch.setattr(dialect, "do_execute", refuse_twice)
    monkeypatch.setattr("scope.mail.delivery.time.sleep", waits.append)

    counts = deliver_due(mail_app)

    assert len(refusals) == 2 and waits == [0.25, 0.5]
    assert (counts.delivered, counts.retrying, counts.failed) == (3, 0, 0)
    assert sorted(smtp.recipients) == ["ana@example.com", "ben@example.com", "cy@example.com"]
    assert {m.state for m in _messages(mail_app, ids)} == {MailState.DELIVERED}


def test_without_a_mail_server_mail_stays_in_the_development_mailbox(app, outbox):
    ids = outbox("newcomer@example.com")

    assert deliver_due(app).delivered == 1
    (message,) = _messages(app, ids)
    assert message.state is MailState.DELIVERED
    assert message.delivered_at is not None


# --- several workers --------------------------------------------------------------------------


def test_two_workers_never_send_a_message_twice(mail_app, smtp, make_sponsor):
    bulk_outbox(mail_app, make_sponsor(), 500)
    start = threading.Barrier(2)
    delivered_by = [0, 0]
    errors = []

    def work(n):
        try:
            start.wait()
            while True:
                counts = deliver_due(mail_app, batch_size=20)
                delivered_by[n] += counts.delivered
                if not counts.claimed:
                    break
        except Exception as error:  # surfaced below; a thread must not die silently
            errors.append(error)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors
    assert not any(worker.is_alive() for worker in workers)

    duplicates = {r: n for r, n in Counter(smtp.recipients).items() if n > 1}
    assert duplicates == {}
    assert len(smtp.recipients) == 500
    assert sum(delivered_by) == 500
    assert min(delivered_by) > 0, "both workers took part"
    with mail_app.app_context():
        states = Counter(db.session.scalars(select(MailMessage.state)).all())
    assert states == {MailState.DELIVERED: 500}


@pytest.mark.postgres
@needs_postgres
def test_mail_worker_processes_in_parallel_never_send_a_message_twice(app, smtp, make_sponsor):
    bulk_outbox(app, make_sponsor(), 500)
    env = {
        **os.environ,
        # The tests' own database (under pytest-xdist, the worker's).
        "SCOPE_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SCOPE_SECRET_KEY": "test-secret-key-not-for-production",
        "SCOPE_MAIL_SERVER": "127.0.0.1",
        "SCOPE_MAIL_PORT": str(smtp.port),
        "SCOPE_MAIL_DELIVER_IN_PROCESS": "false",
        "SCOPE_PUBLIC_URL": "http://scope.test",
    }
    command = [sys.executable, "-m", "flask", "--app", "scope", "mail-worker", "--once"]
    workers = [
        subprocess.Popen(
            [*command, "--batch-size", "10"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [worker.communicate(timeout=120) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0], outputs

    duplicates = {r: n for r, n in Counter(smtp.recipients).items() if n > 1}
    assert duplicates == {}
    assert len(smtp.recipients) == 500
    with app.app_context():
        states = Counter(db.session.scalars(select(MailMessage.state)).all())
    assert states == {MailState.DELIVERED: 500}


# --- mail-worker ------------------------------------------------------------------------------


def test_mail_worker_once_delivers_what_is_due_and_exits(mail_app, smtp, outbox):
    ids = outbox("ana@example.com", "ben@example.com", "cy@example.com")

    result = mail_app.test_cli_runner().invoke(args=["mail-worker", "--once", "--batch-size", "2"])

    assert result.exit_code == 0, result.output
    assert "3 delivered, 0 to retry, 0 failed" in result.output
    assert {m.state for m in _messages(mail_app, ids)} == {MailState.DELIVERED}
    assert smtp.connections == 2


def test_mail_worker_stops_cleanly_on_sigterm(mail_app, smtp, outbox):
    outbox("ana@example.com")
    previous = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(0.5, os.kill, args=(os.getpid(), signal.SIGTERM))
    lines = []

    timer.start()
    try:
        started = time.monotonic()
        counts = run_worker(mail_app, poll_interval=0.05, echo=lines.append)
    finally:
        timer.join()

    assert time.monotonic() - started < 5
    assert counts.delivered == 1
    assert any("SIGTERM received" in line for line in lines)
    assert signal.getsignal(signal.SIGTERM) is previous


# --- in-process delivery ----------------------------------------------------------------------

TEMPLATES = {
    "mail/test_note.txt": "Hello {{ name }}, see {{ link }}",
    "mail/test_note.html": '<p>Hello {{ name }}, <a href="{{ link }}">see</a></p>',
}


def _with_test_templates(other):
    other.jinja_env.loader = ChoiceLoader([DictLoader(TEMPLATES), other.jinja_env.loader])
    return other


def test_in_process_delivery_sends_shortly_after_commit(make_app, smtp, make_sponsor):
    live = _with_test_templates(make_app(MAIL_PORT=smtp.port, MAIL_DELIVER_IN_PROCESS=True))
    sponsor_id = make_sponsor()
    delivery = in_process_delivery(live)
    assert delivery is not None and not delivery.running

    live.test_client().get("/login")  # the first request starts this process's thread
    assert delivery.running
    with live.app_context():
        message = queue_mail(
            kind="test_note",
            recipient="fresh@example.com",
            subject="Hello",
            sponsor_id=sponsor_id,
            name="Fresh",
            link="http://scope.test/x",
        )
        db.session.commit()
        message_id = message.id

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not smtp.received:
        time.sleep(0.02)
    assert smtp.recipients == ["fresh@example.com"]
    assert smtp.received[0].get_body(("plain",)).get_content().strip() == (
        "Hello Fresh, see http://scope.test/x"
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        (stored,) = _messages(live, [message_id])
        if stored.state is MailState.DELIVERED:
            break
        time.sleep(0.02)
    assert stored.state is MailState.DELIVERED

    delivery.stop(timeout=10)
    assert not delivery.running


def test_only_a_commit_that_queued_mail_wakes_delivery(make_app, make_sponsor, monkeypatch):
    live = _with_test_templates(make_app(MAIL_DELIVER_IN_PROCESS=True, MAIL_SERVER=None))
    sponsor_id = make_sponsor()
    delivery = in_process_delivery(live)
    wakes = []
    monkeypatch.setattr(delivery, "wake", lambda: wakes.append(1))

    def queue():
        queue_mail(
            kind="test_note",
            recipient="x@example.com",
            subject="Hi",
            sponsor_id=sponsor_id,
            name="X",
            link="http://scope.test/x",
        )

    with live.app_context():
        queue()
        db.session.rollback()
        db.session.commit()
        assert wakes == [], "a rolled-back email wakes nobody"

        queue()
        db.session.flush()
        assert wakes == [], "nothing is woken before the commit"
        db.session.commit()
        assert wakes == [1]

        db.session.execute(update(MailMessage).values(subject="Changed"))
        db.session.commit()
        assert wakes == [1], "a commit without a new email wakes nobody"
    assert not delivery.running, "no thread without a request"


def test_a_commit_of_mail_queued_together_wakes_delivery(make_app, make_sponsor, monkeypatch):
    live = _with_test_templates(make_app(MAIL_DELIVER_IN_PROCESS=True, MAIL_SERVER=None))
    sponsor_id = make_sponsor()
    delivery = in_process_delivery(live)
    wakes = []
    monkeypatch.setattr(delivery, "wake", lambda: wakes.append(1))

    def send():
        outbox = Outbox()
        for n in range(3):
            outbox.queue(
                kind="test_note",
                recipient=f"x{n}@example.com",
                subject="Hi",
                sponsor_id=sponsor_id,
                name="X",
                link=f"http://scope.test/x{n}",
            )
        return outbox.send()

    with live.app_context():
        assert send() == 3
        db.session.rollback()
        db.session.commit()
        assert wakes == [], "a rolled-back batch wakes nobody"
        send()
        db.session.commit()
        assert wakes == [1]
        bodies = db.session.scalars(select(MailMessage.body_text).order_by(MailMessage.id))
        assert [body.split()[-1] for body in bodies] == [
            f"http://scope.test/x{n}" for n in range(3)
        ]
        # A link HTML escapes is written out, not put in place of the mark.
        outbox = Outbox()
        outbox.queue(
            kind="test_note",
            recipient="amp@example.com",
            subject="Hi",
            sponsor_id=sponsor_id,
            name="X",
            link="http://scope.test/x?a=1&b=2",
        )
        outbox.send()
        html = db.session.scalar(
            select(MailMessage.body_html).where(MailMessage.recipient == "amp@example.com")
        )
        assert 'href="http://scope.test/x?a=1&amp;b=2"' in html
    assert not delivery.running, "no thread without a request"


def test_without_in_process_delivery_no_thread_is_started(make_app):
    quiet = make_app(MAIL_DELIVER_IN_PROCESS=False)
    assert in_process_delivery(quiet) is None
    quiet.test_client().get("/login")
    assert not any(t.name == "scope-mail-delivery" for t in threading.enumerate())


def test_the_retry_schedule_can_be_replaced_by_configuration(app):
    from scope.mail.delivery import backoff_after

    with app.app_context():
        assert backoff_after(1) == BACKOFF[0] and backoff_after(MAX_ATTEMPTS) is None
        app.config["MAIL_RETRY_DELAYS"] = [3, 3]
        try:
            assert [backoff_after(n) for n in (1, 2, 3)] == [timedelta(seconds=3)] * 2 + [None]
        finally:
            app.config["MAIL_RETRY_DELAYS"] = None
