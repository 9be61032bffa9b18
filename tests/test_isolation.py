"""The fixture every test relies on: what one test writes, the next never sees.

Each pair below writes the same unique address twice over, once per run: had the first run's
row been kept, the second would fail on the unique constraint before asserting anything.
"""

import pytest
from sqlalchemy import func, select, text

from scope.extensions import db
from scope.models import PartnerOrganization, User

ADDRESS = "same.person@isolation.example.com"


def users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


@pytest.mark.parametrize("run", ["first", "second"])
def test_a_rolled_back_test_leaves_nothing_behind(app, staff, make_user, run):
    assert users(app) == 1  # the staff member logged in for this test, nobody else
    make_user(ADDRESS, sponsor_id=staff.sponsor_id)
    # Requests join the test's transaction: they see its rows and keep what they commit.
    assert ADDRESS in staff.get("/manage/users").get_data(as_text=True)
    assert (
        staff.post("/partners/employers/new", {"name": "Isolation Co"}, htmx=True).status_code
        == 200
    )
    assert users(app) == 2


def test_a_refused_request_rolls_back_only_its_own_writes(app, staff):
    assert staff.post("/partners/employers/new", {"name": "Kept Co"}, htmx=True).status_code == 200
    refused = staff.post("/partners/employers/new", {"name": "kept co"}, htmx=True)
    assert refused.status_code == 422
    with app.app_context():
        names = db.session.scalars(select(PartnerOrganization.name)).all()
    assert names == ["Kept Co"]


@pytest.mark.real_commits
@pytest.mark.parametrize("run", ["first", "second"])
def test_a_test_that_commits_for_real_leaves_nothing_behind(app, make_user, run):
    assert users(app) == 0
    make_user(ADDRESS)
    with app.app_context(), db.engine.connect() as other:  # committed: another connection sees it
        found = other.execute(
            text("SELECT count(*) FROM user_account WHERE email = :e"), {"e": ADDRESS}
        )
        assert found.scalar() == 1
