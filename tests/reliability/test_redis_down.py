"""Redis, where rate limits are counted, killed under a staff workload and started again.

gunicorn (2 workers x 8 threads) keeps its limits in a Redis of the test's own; PostgreSQL is
SCOPE_TEST_DATABASE_URL. SCOPE_LOAD_CLIENTS clients (20) work for SCOPE_LOAD_SECONDS (60;
.ci/run: 15). At 30 % of the run Redis is killed with SIGKILL for SCOPE_REDIS_OUTAGE_SECONDS
(5); meanwhile a person logs in and a client hammers the login form. Limits fall back to each
process's memory (docs/RELIABILITY.md says why rather than refusing logins): nothing may
answer 5xx, logging in must work, the hammering client must be stopped within what two
processes counting apart allow, and once Redis is back the limits must be counted there again.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter

import redis

from tests.helpers import PASSWORD, needs_postgres, postgres_url
from tests.reliability.harness import (
    Client,
    RedisServer,
    Workload,
    free_port,
    gunicorn,
    scope_env,
    seed_staff,
    wait_until,
    wait_until_answering,
)

CLIENTS = int(os.environ.get("SCOPE_LOAD_CLIENTS", "20"))
SECONDS = float(os.environ.get("SCOPE_LOAD_SECONDS", "60"))
OUTAGE = float(os.environ.get("SCOPE_REDIS_OUTAGE_SECONDS", "5"))
WORKERS = 2
PER_CLIENT = 30  # the login form's limit per client and minute


def _hammer(base: str, address: str, attempts: int) -> list[int]:
    client = Client(base, address=address)
    return [
        client.log_in(f"nobody{n}@faults.example.com", "wrong password entirely").status
        for n in range(attempts)
    ]


@needs_postgres
def test_with_redis_down_limits_hold_in_memory_and_nothing_fails(app, tmp_path):
    store = RedisServer(tmp_path).start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = scope_env(
        postgres_url(),
        base,
        SCOPE_MAIL_SERVER="127.0.0.1",
        SCOPE_MAIL_PORT=str(free_port()),
        SCOPE_RATELIMIT_STORAGE_URI=store.url,
        SCOPE_INVITATIONS_PER_SPONSOR_PER_DAY="1000000",
    )
    emails = [f"staff{n}@redis.example.com" for n in range(CLIENTS)]
    seed_staff(env, "Redis Down Sponsor", PASSWORD, [*emails, "late@redis.example.com"])
    web = gunicorn(env, port, tmp_path / "gunicorn.log", workers=WORKERS).start()
    try:
        wait_until_answering(base, web)
        clients = []
        for n, email in enumerate(emails):
            client = Client(base, address=f"127.0.0.{10 + n}")
            client.log_in_as_staff(email, PASSWORD)
            clients.append(client)
        workload = Workload(clients)
        during = {}

        def redis_dies():
            workload.mark("redis killed")
            store.kill()
            started = time.monotonic()
            during["hammer"] = _hammer(base, "127.0.0.200", WORKERS * PER_CLIENT + 10)
            person = Client(base, address="127.0.0.201")
            during["login"] = person.log_in("late@redis.example.com", PASSWORD).status
            time.sleep(max(0.0, OUTAGE - (time.monotonic() - started)))
            store.start()
            workload.mark("redis back")

        workload.run(SECONDS, faults=[(SECONDS * 0.3, redis_dies)], after_faults=5)
        workload.save(tmp_path / "requests.json")

        # Each process looks for Redis again at growing intervals (Flask-Limiter: 1 s
        # doubling to 32 s), on a request that meets a limit.
        back = workload.events["redis back"]
        connection = redis.Redis.from_url(store.url)
        poller = Client(base, address="127.0.0.202")

        def counted_in_redis() -> bool:
            poller.request("GET", "/join/not-a-token")
            return any(True for _ in connection.scan_iter("LIMITS*"))

        wait_until(counted_in_redis, 45, "limits counted in Redis again", 0.5)
        shared_after = time.monotonic() - back

        # Each worker says so when it has found Redis again; until both have, one of them
        # might still count in memory.
        def both_recovered() -> bool:
            poller.request("GET", "/join/not-a-token")
            return web.log().count("Rate limit storage recovered") >= WORKERS

        wait_until(both_recovered, 70, "both workers counting in Redis again", 0.5)
        all_shared_after = time.monotonic() - back
        after = _hammer(base, "127.0.0.203", PER_CLIENT + 1)

        statuses = workload.statuses()
        log = web.log()
        print(
            f"\nredis down: {CLIENTS} clients, {len(workload.records)} requests, statuses "
            f"{statuses}; Redis killed for {back - workload.events['redis killed']:.1f}s: "
            f"a person logged in ({during['login']}), a client hammering the login form was "
            f"refused from attempt {during['hammer'].index(429) + 1} on "
            f"({Counter(during['hammer'])}); limits counted in Redis again "
            f"{shared_after:.1f}s after it was back, by both workers after "
            f"{all_shared_after:.1f}s; then attempt 31 answered {after[30]}"
        )

        assert not [s for s in statuses if s >= 500 or s == 0], statuses
        assert during["login"] == 200
        assert not [s for s in during["hammer"] if s >= 500 or s == 0], during["hammer"]
        # Two processes counting apart admit at most twice the limit, never more.
        assert 429 in during["hammer"]
        assert during["hammer"].index(429) <= WORKERS * PER_CLIENT
        assert after[:PER_CLIENT] == [422] * PER_CLIENT and after[PER_CLIENT] == 429
        assert "falling back to in-memory storage" in log
        assert "Rate limit storage recovered" in log
        assert not re.findall(r"Error handling request|unhandled error", log), log[-5000:]
    finally:
        web.stop()
        store.stop()
