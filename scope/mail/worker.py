"""Who runs delivery: a thread in each web process (the embedded default) or mail-worker."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable

from flask import Flask, current_app, has_app_context
from sqlalchemy import event

from ..extensions import db
from ..models import MailMessage
from .delivery import DeliveryCounts, deliver_due
from .services import QUEUED_IN_TRANSACTION as _QUEUED_IN_TRANSACTION
from .services import note_queued_mail

log = logging.getLogger(__name__)

EXTENSION = "scope.mail_delivery"


class InProcessDelivery:
    """One daemon thread per process, woken after a commit that queued mail.

    It also wakes every `interval` seconds to pick up retries whose time has come. The
    thread starts with the first request a process serves, so a server that forks its
    workers (gunicorn --preload) gets one thread in each worker and none in the parent.
    """

    def __init__(self, app: Flask, *, batch_size: int = 100, interval: float = 30.0):
        self.app = app
        self.batch_size = batch_size
        self.interval = interval
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()

    def start(self) -> None:
        if self.running:
            return
        with self._lock:
            if self._stopping.is_set() or self.running:
                return
            self._pid = os.getpid()
            self._wake = threading.Event()
            self._wake.set()  # a first pass delivers what an earlier process left queued
            self._thread = threading.Thread(
                target=self._run, name="scope-mail-delivery", daemon=True
            )
            self._thread.start()

    def wake(self) -> None:
        """Deliver soon; only sets an event, so it is safe inside a request."""
        self._wake.set()

    def stop(self, timeout: float | None = None) -> None:
        """Finish the message being sent, hand back the rest, and end the thread."""
        with self._lock:
            self._stopping.set()
            self._wake.set()
            thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        """A thread inherited through fork() is not running in this process."""
        return self._thread is not None and self._pid == os.getpid() and self._thread.is_alive()

    def _run(self) -> None:
        wake = self._wake
        while not self._stopping.is_set():
            wake.wait(self.interval)
            wake.clear()
            try:
                _drain(self.app, self.batch_size, self._stopping)
            except Exception:
                log.exception("mail: in-process delivery failed; trying again later")


def run_periodic_steps(app: Flask) -> None:
    """What is due by the clock rather than by a request: invitation reminders, notices of
    invitations about to expire, daily digests, page marks of large user lists. Each is made
    exactly once however many processes run this (see their modules); a failing step does
    not stop delivery."""
    from ..invites.reminders import queue_due_reminders
    from ..manage.marks import maintain_marks
    from ..notices.services import queue_digests, queue_expiry_notices

    for step in (queue_due_reminders, queue_expiry_notices, queue_digests, maintain_marks):
        with app.app_context():
            try:
                step()
            except Exception:
                db.session.rollback()
                log.exception("mail: periodic step %s failed; trying again later", step.__name__)


def _drain(app: Flask, batch_size: int, stop: threading.Event) -> DeliveryCounts:
    """Run the periodic steps, then deliver batches until what is due now has been tried once."""
    run_periodic_steps(app)
    total = DeliveryCounts()
    while not stop.is_set():
        counts = deliver_due(app, batch_size, stop=stop)
        total += counts
        if counts.claimed < batch_size and not counts.released:
            break
    return total


def in_process_delivery(app: Flask) -> InProcessDelivery | None:
    return app.extensions.get(EXTENSION)


def register_in_process_delivery(app: Flask) -> None:
    _listen_for_queued_mail()
    if not app.config.get("MAIL_DELIVER_IN_PROCESS"):
        return
    delivery = InProcessDelivery(app, interval=float(app.config["MAIL_WAKE_SECONDS"]))
    app.extensions[EXTENSION] = delivery
    app.before_request(delivery.start)


def _listen_for_queued_mail() -> None:
    """After a commit that inserted mail, wake this process's delivery thread (no I/O)."""
    if event.contains(db.session, "after_commit", _wake_after_commit):
        return
    event.listen(db.session, "after_flush", _note_queued_mail)
    event.listen(db.session, "after_commit", _wake_after_commit)
    event.listen(db.session, "after_rollback", _forget_queued_mail)


def _note_queued_mail(session, flush_context) -> None:
    if any(isinstance(obj, MailMessage) for obj in session.new):
        note_queued_mail(session)


def _wake_after_commit(session) -> None:
    if session.info.pop(_QUEUED_IN_TRANSACTION, False) and has_app_context():
        delivery = in_process_delivery(current_app)
        if delivery is not None:
            delivery.wake()


def _forget_queued_mail(session) -> None:
    session.info.pop(_QUEUED_IN_TRANSACTION, None)


def run_worker(
    app: Flask,
    *,
    once: bool = False,
    batch_size: int = 100,
    poll_interval: float = 5.0,
    echo: Callable[[str], object] = print,
) -> DeliveryCounts:
    """Deliver due mail until SIGTERM or SIGINT; with once, deliver what is due and return.

    A signal lets the message on the wire finish, hands back the rest of the batch and
    returns; a second SIGINT interrupts at once.
    """
    stop = threading.Event()
    restore = _stop_on_signals(stop, echo)
    total = DeliveryCounts()
    try:
        if once:
            return _drain(app, batch_size, stop)
        echo(f"mail-worker: delivering mail in batches of {batch_size}; Ctrl-C to stop.")
        while not stop.is_set():
            try:
                counts = _drain(app, batch_size, stop)
            except Exception:
                log.exception("mail-worker: delivery pass failed; trying again shortly")
            else:
                total += counts
                if counts.claimed:
                    log.info("mail-worker: %s", counts)
            stop.wait(poll_interval)
        return total
    finally:
        restore()


def _stop_on_signals(stop: threading.Event, echo) -> Callable[[], None]:
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handle(signum, frame):
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()
        echo(f"mail-worker: {signal.Signals(signum).name} received, finishing the current message.")

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
