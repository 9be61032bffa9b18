"""PostgreSQL restarted, then stopped for a few seconds, under a staff workload.

A private cluster (pg_createcluster on a free port) serves gunicorn (2 workers x 8 threads)
and two mail-worker processes delivering to an SMTP sink. SCOPE_LOAD_CLIENTS clients (20)
work for SCOPE_LOAD_SECONDS (60; .ci/run: 15), and at least 8 s after the last fault. At a
quarter of the run the cluster is restarted (`pg_ctlcluster restart`), at half of it stopped
for SCOPE_PG_OUTAGE_SECONDS (3) and started again. Requests meanwhile must get a clean 503
(a page, or for htmx a message in the alert area), never a 500; the app must serve again
within 5 s of the database accepting connections, with no one restarting it; the mail
workers must resume; nothing acknowledged may be lost and no email sent twice (beyond a
message a worker had on the wire when its database went away).
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter

import pytest

from tests.helpers import PASSWORD, SMTPServer
from tests.reliability.harness import (
    Availability,
    Client,
    PostgresCluster,
    Workload,
    database_rows,
    flask,
    free_port,
    gunicorn,
    mail_worker,
    release_claims,
    scope_env,
    seed_staff,
    wait_until,
    wait_until_answering,
)

CLIENTS = int(os.environ.get("SCOPE_LOAD_CLIENTS", "20"))
SECONDS = float(os.environ.get("SCOPE_LOAD_SECONDS", "60"))
OUTAGE = float(os.environ.get("SCOPE_PG_OUTAGE_SECONDS", "3"))
RECOVERY_LIMIT = 5.0


@pytest.fixture
def cluster():
    cluster = PostgresCluster().create()
    yield cluster
    cluster.drop()


def _recovery(workload: Workload, back: float, next_fault: float) -> float:
    """Seconds from the database accepting connections again to the end of the last failed
    request that started after that (and ended before the next fault began); 0 if none."""
    late = [
        r.answer.ended
        for r in workload.records
        if back <= r.answer.started and r.answer.ended < next_fault
        if r.answer.status == 0 or r.answer.status >= 500
    ]
    return max(late, default=back) - back


def _failing_for(workload: Workload, start: float, end: float) -> float:
    """Seconds from a fault's start to the end of the last request that failed in it."""
    ended = [
        r.answer.ended
        for r in workload.records
        if start <= r.answer.ended < end and (r.answer.status == 0 or r.answer.status >= 500)
    ]
    return max(ended, default=start) - start


def test_postgres_restarting_under_load_gives_503s_then_recovers_losing_nothing(
    tmp_path, cluster, redis_limits
):
    database_url = cluster.create_database("scope_faults")
    storage, prefix = redis_limits
    smtp = SMTPServer().start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = scope_env(
        database_url,
        base,
        SCOPE_MAIL_SERVER="127.0.0.1",
        SCOPE_MAIL_PORT=str(smtp.port),
        SCOPE_MAIL_RETRY_DELAYS="[1, 1, 1, 1, 1, 1, 1, 1, 1, 1]",
        SCOPE_RATELIMIT_STORAGE_URI=storage,
        SCOPE_RATELIMIT_KEY_PREFIX=prefix,
        SCOPE_INVITATIONS_PER_SPONSOR_PER_DAY="1000000",
    )
    flask(env, "db", "upgrade")
    emails = [f"staff{n}@faults.example.com" for n in range(CLIENTS)]
    sponsor_id = seed_staff(env, "Restart Sponsor", PASSWORD, emails)

    web = gunicorn(env, port, tmp_path / "gunicorn.log").start()
    workers = [mail_worker(env, tmp_path / f"mail-{n}.log", f"mail-worker-{n}") for n in (1, 2)]
    for worker in workers:
        worker.start()
    try:
        wait_until_answering(base, web)
        clients = []
        for email in emails:
            client = Client(base)
            client.log_in_as_staff(email, PASSWORD)
            clients.append(client)
        workload = Workload(clients)

        def restart():
            workload.mark("restart")
            cluster.restart()

        def outage():
            workload.mark("stop")
            cluster.stop()
            time.sleep(OUTAGE)
            workload.mark("start")
            cluster.start()

        faults = [(SECONDS / 4, restart), (SECONDS / 2 + OUTAGE, outage)]
        with Availability(cluster.accepting, interval=0.02) as database:
            workload.run(SECONDS, faults=faults, after_faults=8)
        workload.save(tmp_path / "requests.json")
        outages = database.outages()
        ends = [workload.events["stop"], float("inf")]
        recoveries = [
            _recovery(workload, back, end) for (_, back), end in zip(outages, ends, strict=True)
        ]
        windows = [(workload.events["restart"], workload.events["stop"]), (ends[0], ends[1])]
        spans = [_failing_for(workload, start, end) for start, end in windows]
        statuses = workload.statuses()
        unavailable = [r for r in workload.records if r.answer.status == 503]

        # The mail workers resume by themselves; a claim a worker held while its database
        # went away would expire after 5 minutes, which the test does at once.
        def drained() -> bool:
            return all(
                row[2] == "delivered" for row in database_rows(database_url, sponsor_id)["mail"]
            )

        try:
            wait_until(drained, 60, "every email delivered", 0.5)
            released = 0
        except AssertionError:
            released = release_claims(database_url)
            wait_until(drained, 60, "every email delivered after the claims expired", 0.5)
        rows = database_rows(database_url, sponsor_id)
        sent = Counter(smtp.sink.recipients)
        invitations = Counter(rows["invitations"])
        lost_orgs = sorted(set(workload.organizations) - set(rows["organizations"]))
        lost_invitations = sorted(set(workload.invited) - set(invitations))
        repeated = {address: n for address, n in sent.items() if n > 1}
        assert len(outages) == 2, outages
        print(
            f"\npostgres restart: {CLIENTS} clients, {len(workload.records)} requests, "
            f"statuses {statuses}; {len(unavailable)} answered 503. "
            + "; ".join(
                f"{name}: requests failed for {span:.1f}s from its start, the database "
                f"refused connections for {back - down:.1f}s, served again {recovery:.2f}s "
                "after it was back"
                for name, span, (down, back), recovery in zip(
                    ("restart", f"stop for {OUTAGE:g}s"), spans, outages, recoveries, strict=True
                )
            )
            + f". {len(workload.organizations)} organizations and "
            f"{len(workload.invited)} invitations acknowledged, "
            f"{len(lost_orgs) + len(lost_invitations)} lost; {len(rows['mail'])} emails, "
            f"{sum(sent.values())} received, {len(repeated)} repeated, {released} claims released"
        )

        assert {s for s in statuses if s >= 500} <= {503}, statuses
        # Only a download already streaming when the database went away can break off.
        for record in workload.records:
            if record.answer.status == 0:
                assert record.kind == "users csv", record
                down = [d for d, _ in outages if record.answer.started < d < record.answer.ended]
                assert down, record
        assert unavailable, "no request met the outage"
        for record in unavailable:
            body = record.answer.body
            assert "Service unavailable" in body and "Nothing was saved" in body
            if record.htmx:
                assert record.answer.headers.get("HX-Retarget") == "#alerts"
                assert "<html" not in body
            else:
                assert "<html" in body
        assert all(seconds <= RECOVERY_LIMIT for seconds in recoveries), recoveries
        assert lost_orgs == [] and lost_invitations == []
        assert max(invitations.values(), default=1) == 1
        # Every invitation in the database was mailed, once: a worker whose database went
        # away while a message was on the wire records it when the database is back.
        assert set(sent) == set(invitations)
        assert repeated == {}
        assert workload.organizations and workload.invited
    finally:
        for worker in workers:
            worker.stop()
        web.stop()
        smtp.stop()
        # gunicorn logs an error escaping Flask as this; only a broken-off download may.
        escaped = re.findall(r"Error handling request (.*)", web.log())
        assert set(escaped) <= {"GET /manage/users.csv"}, web.log()[-5000:]
