"""A mail-worker killed with SIGKILL in the middle of a batch, then recovery.

Size: SCOPE_RELIABILITY_MAIL messages (default 500, the whole batch).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select, update

from scope.extensions import db
from scope.models import MailMessage, MailState, utcnow
from tests.helpers import SMTPServer, bulk_outbox, needs_postgres, postgres_url

pytestmark = pytest.mark.real_commits  # the workers read what the test writes

SIZE = int(os.environ.get("SCOPE_RELIABILITY_MAIL", "500"))


def _worker(smtp_port: int, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "SCOPE_SQLALCHEMY_DATABASE_URI": postgres_url(),
        "SCOPE_SECRET_KEY": "test-secret-key-not-for-production",
        "SCOPE_MAIL_SERVER": "127.0.0.1",
        "SCOPE_MAIL_PORT": str(smtp_port),
        "SCOPE_MAIL_DELIVER_IN_PROCESS": "false",
        "SCOPE_PUBLIC_URL": "http://scope.test",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "scope", "mail-worker", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@needs_postgres
def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_at_most_the_message_on_the_wire(
    app, make_sponsor
):
    bulk_outbox(app, make_sponsor(), SIZE)
    server = SMTPServer().start()
    sink = server.sink
    half = threading.Event()
    sink.on_data = lambda _message: len(sink.received) >= SIZE // 2 and half.set()
    try:
        worker = _worker(sink.port, "--batch-size", str(SIZE))
        assert half.wait(120), worker.communicate(timeout=5)
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=30)
        assert worker.returncode == -signal.SIGKILL
        received_before = len(sink.received)
        with app.app_context():
            states = Counter(db.session.scalars(select(MailMessage.state)).all())
            assert states[MailState.SENDING] > 0, "the kill came after the batch ended"
            # What five minutes would do: the dead worker's claims expire.
            db.session.execute(
                update(MailMessage)
                .where(MailMessage.state == MailState.SENDING)
                .values(claimed_until=utcnow())
            )
            db.session.commit()

        recovery = _worker(sink.port, "--once", "--batch-size", "100")
        output = recovery.communicate(timeout=300)
        assert recovery.returncode == 0, output

        counts = Counter(sink.recipients)
        duplicates = {r: n for r, n in counts.items() if n > 1}
        with app.app_context():
            final = Counter(db.session.scalars(select(MailMessage.state)).all())
            delivered = db.session.scalar(
                select(func.count(MailMessage.id)).where(MailMessage.state == MailState.DELIVERED)
            )
        print(
            f"\nmail kill: {SIZE} queued, killed after {received_before} received; "
            f"after recovery {len(counts)} distinct delivered, {len(duplicates)} repeated, "
            f"database {dict(final)}"
        )
        assert len(counts) == SIZE  # nothing lost
        assert delivered == SIZE and final == {MailState.DELIVERED: SIZE}
        # Only a message accepted by the server but not yet recorded can go out twice.
        assert len(duplicates) <= 1 and all(n == 2 for n in duplicates.values())
    finally:
        server.stop()
