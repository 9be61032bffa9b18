"""Where a MANAGE → Users fragment's server CPU goes, request by request, in this process.

    python -m benchmarks.breakdown                       # instance/bench.sqlite3 (benchmarks.run)
    python -m benchmarks.breakdown --url postgresql://postgres@127.0.0.1:5432/scope_bench_1m

Logs in as the benchmark's staff member on an already seeded database (`python -m
benchmarks.run` seeds it), then for each request prints its CPU time through the test client
beside a route that answers "ok", and the parts timed inside it: loading the logged-in user,
`list_users` (building, running and reading the page's statements; the database driver's part
given on its own) and rendering the fragment. The rest of a request (Flask, its session,
limits and hooks, the test client) is what is left. Nothing is written.
"""

from __future__ import annotations

import argparse
import collections
import functools
import re
import time
from collections.abc import Callable
from unittest import mock

from sqlalchemy import event

from benchmarks.run import ROOT, STAFF_EMAIL, STAFF_PASSWORD, env_for

USERS = "/manage/users?sort=name&dir=asc&page=1"
REQUESTS = {
    "first page": USERS,
    "search 'nobody' (no match)": USERS + "&q=nobody",
    "search 'garcia'": USERS + "&q=garcia",
    "search 'garcia ma'": USERS + "&q=garcia+ma",
    "filter status=managed": USERS + "&status=managed",
    "page 2,000": USERS.replace("page=1", "page=2000"),
}
TRIVIAL = "/_breakdown/ok"


def _timed(spent: collections.Counter, key: str, function: Callable) -> Callable:
    @functools.wraps(function)
    def wrapped(*args, **kwargs):
        started = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[key] += time.process_time() - started

    return wrapped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="sqlite:///" + str(ROOT / "instance" / "bench.sqlite3"))
    parser.add_argument("--samples", type=int, default=200, help="requests of each kind")
    args = parser.parse_args()

    with mock.patch.dict("os.environ", env_for(args.url)):
        from scope import create_app

        app = create_app()
    from scope.extensions import db, login_manager
    from scope.manage import routes, users

    spent: collections.Counter = collections.Counter()
    login_manager._user_callback = _timed(spent, "user", login_manager._user_callback)
    users.list_users = _timed(spent, "list", users.list_users)
    routes.render = _timed(spent, "render", routes.render)
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["breakdown_started"] = time.process_time()

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):
        spent["driver"] += time.process_time() - conn.info.pop("breakdown_started")

    app.add_url_rule(TRIVIAL, "breakdown_ok", lambda: "ok")
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    login = {"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token}
    if client.post("/login", data=login).status_code != 302:
        raise SystemExit(f"Could not log in as {STAFF_EMAIL}: is {args.url} seeded?")

    def cpu_ms(path: str, headers: dict) -> float:
        for _ in range(20):  # warm: statement and template caches
            client.get(path, headers=headers)
        spent.clear()
        started = time.process_time()
        for _ in range(args.samples):
            response = client.get(path, headers=headers)
            assert response.status_code == 200, (path, response.status_code)
        return (time.process_time() - started) / args.samples * 1000

    columns = ("request", "CPU ms", "×ok", "user", "list_users", "(driver)", "render", "rest")
    print(" | ".join(columns))
    for name, path in REQUESTS.items():
        total = cpu_ms(path, {"HX-Request": "true"})
        parts = {key: value / args.samples * 1000 for key, value in spent.items()}
        ok = cpu_ms(TRIVIAL, {})
        rest = total - parts["user"] - parts["list"] - parts["render"]
        figures = (total, total / ok, parts["user"], parts["list"], parts["driver"])
        print(
            f"{name} | "
            + " | ".join(f"{value:.2f}" for value in figures)
            + f" | {parts['render']:.2f} | {rest:.2f}"
        )
    print(f"('ok' route: {ok:.2f} ms)")


if __name__ == "__main__":
    main()
