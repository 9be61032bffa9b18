"""Two web machines behind nginx, one of them killed and restarted under a staff workload.

Two gunicorn instances (2 workers x 8 threads each, on two ports) behind nginx from the
Debian package (a configuration of its own, on a free port), SCOPE_TRUSTED_PROXIES=1, one
PostgreSQL (SCOPE_TEST_DATABASE_URL), rate limits in Redis, two mail-worker processes and an
SMTP sink. SCOPE_LOAD_CLIENTS clients (20), each connecting from its own loopback address,
work for SCOPE_LOAD_SECONDS (60; .ci/run: 15); at 40 % of the run one instance's whole
process group is killed with SIGKILL, and it is started again 2 s later.

Checked: only requests in flight on the killed instance fail; no write the server
acknowledged is lost; every invitation is mailed exactly once; the per-client login limit
counts one client's attempts on both instances together, by the address nginx saw, and
neither lumps clients together nor lets one client pick its address.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter

from tests.helpers import PASSWORD, SMTPServer, needs_postgres, postgres_url
from tests.reliability.harness import (
    Client,
    Nginx,
    Workload,
    database_rows,
    free_port,
    gunicorn,
    mail_worker,
    scope_env,
    seed_staff,
    wait_until,
    wait_until_answering,
)

CLIENTS = int(os.environ.get("SCOPE_LOAD_CLIENTS", "20"))
SECONDS = float(os.environ.get("SCOPE_LOAD_SECONDS", "60"))


def _client_address(n: int) -> str:
    return f"127.0.0.{10 + n}"


def _login_limit_across_machines(nginx: Nginx) -> dict:
    """31 failed logins from one client through nginx, then a second client and a spoof."""
    attacker = Client(nginx.url, address="127.0.0.200")
    codes = [
        attacker.log_in(f"nobody{n}@faults.example.com", "wrong password entirely").status
        for n in range(31)
    ]
    spoofed = attacker.log_in(
        "nobody@faults.example.com", "x", headers={"X-Forwarded-For": "203.0.113.9"}
    ).status
    other = Client(nginx.url, address="127.0.0.201")
    bystander = other.log_in("nobody@faults.example.com", "wrong password entirely").status
    upstreams = Counter(
        line.rsplit(" ", 1)[1]
        for line in nginx.access_log()
        if line.startswith("127.0.0.200 ") and '"POST /login' in line
    )
    return {"codes": codes, "spoofed": spoofed, "bystander": bystander, "upstreams": upstreams}


@needs_postgres
def test_two_machines_behind_nginx_lose_nothing_when_one_dies(app, tmp_path, redis_limits):
    storage, prefix = redis_limits
    smtp = SMTPServer().start()
    ports = [free_port(), free_port()]
    nginx = Nginx(tmp_path / "nginx", ports)
    nginx.prefix.mkdir()
    env = scope_env(
        postgres_url(),
        nginx.url,
        SCOPE_TRUSTED_PROXIES="1",
        SCOPE_MAIL_SERVER="127.0.0.1",
        SCOPE_MAIL_PORT=str(smtp.port),
        SCOPE_RATELIMIT_STORAGE_URI=storage,
        SCOPE_RATELIMIT_KEY_PREFIX=prefix,
        SCOPE_INVITATIONS_PER_SPONSOR_PER_DAY="1000000",
    )
    emails = [f"staff{n}@machines.example.com" for n in range(CLIENTS)]
    sponsor_id = seed_staff(env, "Two Machines Sponsor", PASSWORD, emails)
    webs = [gunicorn(env, port, tmp_path / f"web-{port}.log").start() for port in ports]
    workers = [mail_worker(env, tmp_path / f"mail-{n}.log", f"mail-worker-{n}") for n in (1, 2)]
    for worker in workers:
        worker.start()
    try:
        for port, web in zip(ports, webs, strict=True):
            wait_until_answering(f"http://127.0.0.1:{port}", web)
        nginx.start()
        clients = []
        for n, email in enumerate(emails):
            client = Client(nginx.url, address=_client_address(n))
            client.log_in_as_staff(email, PASSWORD)
            clients.append(client)
        workload = Workload(clients)

        def machine_dies():
            workload.mark("kill")
            webs[0].kill()
            workload.mark("killed")
            time.sleep(2)
            webs[0] = gunicorn(env, ports[0], tmp_path / f"web-{ports[0]}.log").start()
            restarted = wait_until_answering(f"http://127.0.0.1:{ports[0]}", webs[0])
            workload.mark("back")
            workload.events["restart took"] = restarted

        workload.run(SECONDS, faults=[(SECONDS * 0.4, machine_dies)], after_faults=5)
        workload.save(tmp_path / "requests.json")
        # In flight: sent before the processes were gone, still unanswered when the kill began.
        kill, killed = workload.events["kill"], workload.events["killed"]
        in_flight = [
            r for r in workload.records if r.answer.started < killed and r.answer.ended > kill
        ]
        failures = workload.failures()
        after_kill = Counter(r.answer.status for r in workload.records if r.answer.started > killed)

        def drained() -> bool:
            mail = database_rows(postgres_url(), sponsor_id)["mail"]
            return all(row[2] == "delivered" for row in mail)

        wait_until(drained, 60, "every email delivered", 0.5)
        rows = database_rows(postgres_url(), sponsor_id)
        sent = Counter(smtp.sink.recipients)
        invitations = Counter(rows["invitations"])
        lost_orgs = sorted(set(workload.organizations) - set(rows["organizations"]))
        lost_invitations = sorted(set(workload.invited) - set(invitations))
        repeated = {address: n for address, n in sent.items() if n > 1}
        served_by = Counter(
            line.rsplit(" ", 1)[1].split(",")[-1].strip() for line in nginx.access_log()
        )
        limits = _login_limit_across_machines(nginx)
        print(
            f"\ntwo machines: {CLIENTS} clients, {len(workload.records)} requests, "
            f"statuses {workload.statuses()}; served by {dict(served_by)}; one machine "
            f"killed with {len(in_flight)} requests in flight, {len(failures)} failed "
            f"({Counter(r.kind for r in failures)}), restarted in "
            f"{workload.events['restart took']:.1f}s; after the kill {dict(after_kill)}; "
            f"{len(workload.organizations)} organizations and {len(workload.invited)} "
            f"invitations acknowledged, {len(lost_orgs) + len(lost_invitations)} lost; "
            f"{sum(sent.values())} emails for {len(invitations)} invitations, "
            f"{len(repeated)} repeated; login limit: attempt 31 answered "
            f"{limits['codes'][30]} after {limits['codes'][:30].count(422)} refusals spread "
            f"over {dict(limits['upstreams'])}, the same client with a forged "
            f"X-Forwarded-For {limits['spoofed']}, another client {limits['bystander']}"
        )

        # Only what the dying machine had in hand failed: nginx took everything else to
        # the other one (a GET in flight too), and nothing failed after the kill.
        assert all(r in in_flight for r in failures), failures
        assert {r.answer.status for r in failures} <= {502}, failures
        assert not [s for s in after_kill if s >= 500 or s == 0], after_kill
        assert 500 not in workload.statuses()
        assert lost_orgs == [] and lost_invitations == []
        assert max(invitations.values()) == 1
        assert set(sent) == set(invitations) and repeated == {}
        # Both machines served, and the login limit was counted across both of them.
        assert len(served_by) == 2 and min(served_by.values()) > len(workload.records) / 10
        assert limits["codes"][:30] == [422] * 30 and limits["codes"][30] == 429
        assert len(limits["upstreams"]) == 2, limits["upstreams"]
        assert limits["spoofed"] == 429 and limits["bystander"] == 422
        assert workload.organizations and workload.invited
    finally:
        nginx.stop()
        for worker in workers:
            worker.stop()
        for web in webs:
            web.stop()
        smtp.stop()
    for port in ports:
        log = (tmp_path / f"web-{port}.log").read_text()
        assert not re.findall(r"Error handling request|unhandled error", log), log[-5000:]
