"""The query plans of the MANAGE → Users, Invitations and Employers requests, as run.

    python -m benchmarks.plans sqlite:///instance/bench.sqlite3
    python -m benchmarks.plans postgresql://postgres@127.0.0.1:5432/scope_bench

Each request is made once through Flask's test client against a seeded database; every
statement it issues is explained with its own parameters (the session's user lookup too).
"""

from __future__ import annotations

import os
import sys

from benchmarks.run import STAFF_EMAIL, STAFF_PASSWORD, env_for

PATHS = [
    "/manage/users?sort=name&dir=asc&page=1",
    "/manage/users?q=garcia",
    "/manage/users?q=nobody",
    "/manage/users?type=mentor",
    "/manage/users?status=active",
    "/manage/users?organization={organization}",
    "/manage/users?status=managed&page=2000",
    "/manage/users?sort=email&dir=desc",
    "/manage/users?sort=organization",
    "/manage/users?sort=last_login",
    "/manage/invitations",
    "/partners/employers?sort=city",
]


def main() -> None:
    url = sys.argv[1]
    os.environ.update(env_for(url))
    from sqlalchemy import event

    from scope import create_app
    from scope.extensions import db
    from scope.models import PartnerOrganization

    app = create_app()
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    client.post("/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD})
    with app.app_context():
        engine = db.engine
        organization = db.session.scalar(db.select(db.func.min(PartnerOrganization.id)))
    captured = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    for path in PATHS:
        path = path.format(organization=organization)
        captured.clear()
        event.listen(engine, "before_cursor_execute", capture)
        client.get(path, headers={"HX-Request": "true"})
        event.remove(engine, "before_cursor_execute", capture)
        print(f"\n### {path}\n")
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            for statement, parameters in captured[1:]:  # [0] is the session's user lookup
                prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
                rows = raw.execute(prefix + statement, parameters).fetchall()
                first_line = " ".join(statement.split())[:110]
                print(f"    {first_line}…")
                for row in rows:
                    print("      " + str(row[-1] if engine.dialect.name == "sqlite" else row[0]))


if __name__ == "__main__":
    main()
