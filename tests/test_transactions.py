"""A request that lost a race is run again instead of answering 500."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError

from scope.transactions import retry_on_conflict


class _Driver(Exception):
    def __init__(self, sqlstate: str):
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _failing_once(error: DBAPIError):
    calls = []

    def view():
        calls.append(1)
        if len(calls) == 1:
            raise error
        return "done"

    return view, calls


@pytest.mark.parametrize(
    "sqlstate",
    [
        "40P01",  # deadlock
        "40001",  # serialization failure
        "23503",  # a row it refers to was deleted after it was checked
    ],
)
def test_a_request_that_lost_a_race_runs_again(app, sqlstate):
    view, calls = _failing_once(IntegrityError("INSERT …", {}, _Driver(sqlstate)))
    with app.test_request_context():
        assert retry_on_conflict(view)() == "done"
    assert len(calls) == 2


def test_other_database_errors_are_not_retried(app):
    # A unique violation is a rule the views answer themselves; running again cannot help.
    view, calls = _failing_once(IntegrityError("INSERT …", {}, _Driver("23505")))
    with app.test_request_context(), pytest.raises(IntegrityError):
        retry_on_conflict(view)()
    assert len(calls) == 1
