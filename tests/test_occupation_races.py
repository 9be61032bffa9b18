"""A merge of occupations racing a request that gives someone the merged occupation, on
PostgreSQL: the merge waits for it and moves that person too."""

from __future__ import annotations

import os
import threading
import time

import pytest
from sqlalchemy import insert, select

from scope.extensions import db
from scope.models import Occupation, User, UserStatus, UserType

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.real_commits,
    pytest.mark.skipif(
        not os.environ.get("SCOPE_TEST_DATABASE_URL", "").startswith("postgresql"),
        reason="needs PostgreSQL: set SCOPE_TEST_DATABASE_URL=postgresql://... "
        "(SQLite serializes writers, so this race cannot happen there)",
    ),
]


def test_a_person_given_the_occupation_during_a_merge_moves_with_it(
    app, staff, make_org, occupation_id
):
    org = make_org(staff.sponsor_id, "Volt Works")
    electrician = occupation_id(staff.sponsor_id)
    plumber = occupation_id(staff.sponsor_id, "Plumber")
    answers = []

    with app.app_context():
        engine = db.engine
    with engine.connect() as other:
        # Another request adds a mentor with Electrician and has not committed yet.
        other.execute(
            insert(User).values(
                sponsor_id=staff.sponsor_id,
                email="late@example.com",
                first_name="Late",
                last_name="Mentor",
                name_key="mentor late",
                user_type=UserType.MENTOR,
                status=UserStatus.MANAGED,
                partner_organization_id=org,
                occupation_id=electrician,
                session_version=1,
            )
        )
        merging = threading.Thread(
            target=lambda: answers.append(
                staff.post(f"/partners/occupations/{electrician}/merge", {"into": plumber})
            )
        )
        merging.start()
        time.sleep(1.0)
        assert merging.is_alive(), "the merge waits for the row being added"
        other.commit()
    merging.join(timeout=30)
    assert answers and answers[0].status_code == 302
    with app.app_context():
        assert db.session.get(Occupation, electrician) is None
        moved = db.session.scalar(select(User).where(User.email == "late@example.com"))
        assert moved.occupation_id == plumber
