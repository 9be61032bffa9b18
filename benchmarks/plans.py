"""The query plans of every request the benchmark measures, as run.

    python -m benchmarks.plans sqlite:///instance/bench.sqlite3
    python -m benchmarks.plans postgresql://postgres@127.0.0.1:5432/scope_bench
    python -m benchmarks.plans postgresql://postgres@127.0.0.1:5432/scope_bench_1m --scale 1m

The requests are the benchmark's own (benchmarks.run.cases_for), made once each through
Flask's test client against a seeded database; every statement a request issues is explained
with its own parameters (the session's user lookup and the count of the same statement too).
On PostgreSQL the plans are EXPLAIN ANALYZE: the rows each step read, whether an index-only
scan went to the table ("Heap Fetches"), and the time it took.
"""

from __future__ import annotations

import argparse
import os
import threading

from benchmarks.run import STAFF_EMAIL, STAFF_PASSWORD, cases_for, env_for
from benchmarks.scale import SCALES


class TestClient:
    """benchmarks.run.Client's get() over Flask's test client."""

    def __init__(self, client):
        self.client = client

    def get(self, path, htmx=False, encoding=None):
        response = self.client.get(path, headers={"HX-Request": "true"} if htmx else {})
        return response, response.get_data()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--scale", choices=tuple(SCALES), default="100k")
    args = parser.parse_args()
    os.environ.update(env_for(args.url))
    from sqlalchemy import event

    from scope import create_app
    from scope.extensions import db

    app = create_app()
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    client.post("/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD})
    cases = cases_for(TestClient(client), args.scale)
    with app.app_context():
        engine = db.engine
    sqlite = engine.dialect.name == "sqlite"
    captured = []
    request_thread = threading.get_ident()

    def capture(conn, cursor, statement, parameters, context, executemany):
        # Only the request's own SELECTs: not the in-process mail worker's.
        if threading.get_ident() == request_thread and statement.lstrip().startswith("SELECT"):
            captured.append((statement, parameters))

    for name, (path, htmx) in cases.items():
        captured.clear()
        event.listen(engine, "before_cursor_execute", capture)
        client.get(path, headers={"HX-Request": "true"} if htmx else {})
        event.remove(engine, "before_cursor_execute", capture)
        print(f"\n### {name}: `{path}`\n")
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            for statement, parameters in captured[1:]:  # [0] is the session's user lookup
                prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, COSTS OFF) "
                rows = raw.execute(prefix + statement, parameters).fetchall()
                first_line = " ".join(statement.split())[:110]
                print(f"    {first_line}…")
                for row in rows:
                    print("      " + str(row[-1] if sqlite else row[0]))


if __name__ == "__main__":
    main()
