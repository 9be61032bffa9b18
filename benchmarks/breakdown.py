"""Where a MANAGE → Users fragment's server CPU goes, request by request, in this process.

    python -m benchmarks.breakdown                       # instance/bench.sqlite3 (benchmarks.run)
    python -m benchmarks.breakdown --url postgresql://postgres@127.0.0.1:5432/scope_bench_1m
    python -m benchmarks.breakdown --drawing             # the drawing alone, page by page

Logs in as the benchmark's staff member on an already seeded database (`python -m
benchmarks.run` seeds it), then for each request prints its CPU time through the test client
beside a route that answers "ok", and the parts timed inside it: loading the logged-in user,
`list_users` (building, running and reading the page's statements; the database driver's part
given on its own) and rendering the fragment. The rest of a request (Flask, its session,
limits and hooks, the test client) is what is left. Nothing is written.

With --drawing, each page's rows are read once and the fragment is drawn again and again:
the median of seven runs, the figure to compare two builds of the templates by.
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
    parser.add_argument("--drawing", action="store_true", help="time the drawing alone")
    args = parser.parse_args()
    if args.drawing:
        drawing(args.url, args.samples)
        return

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


def drawing(url: str, samples: int) -> None:
    """CPU ms to draw each request's fragment, its rows read once: median and least of 7."""
    with mock.patch.dict("os.environ", env_for(url)):
        from scope import create_app

        app = create_app()
    print("request | drawing CPU ms (median of 7) | least | characters")
    for name, path in REQUESTS.items():
        runs, characters = _drawing_of(app, path, samples)
        print(f"{name} | {runs[3]:.2f} | {runs[0]:.2f} | {characters:,}")


def _drawing_of(app, path: str, samples: int) -> tuple[list[float], int]:
    from flask_login import login_user

    from scope.extensions import db
    from scope.manage import routes
    from scope.models import User

    with app.test_request_context(path, headers={"HX-Request": "true"}):
        login_user(db.session.scalar(db.select(User).filter_by(email=STAFF_EMAIL)))
        draw, captured = routes.render, {}
        routes.render = lambda *args, **context: captured.update(args=args, context=context)
        try:
            routes.users_page()  # reads the rows; what it would draw is kept
        finally:
            routes.render = draw
        args, context = captured["args"], captured["context"]
        for _ in range(20):
            draw(*args, **context)
        runs = []
        for _ in range(7):
            started = time.process_time()
            for _ in range(samples):
                draw(*args, **context)
            runs.append((time.process_time() - started) / samples * 1000)
        return sorted(runs), len(draw(*args, **context)[0])


if __name__ == "__main__":
    main()
