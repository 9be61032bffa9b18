"""The one password policy: length and guessability, any length up to the maximum."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scope.auth.passwords import MAX_LENGTH, MIN_LENGTH, password_problem


@pytest.mark.parametrize("length", [73, 100, 200, MAX_LENGTH])
def test_long_passphrases_are_accepted(length):
    phrase = ("quartz lantern meadow saddle harbor " * 20)[:length]
    assert password_problem(phrase) is None


def test_too_long_short_and_common_passwords_are_refused():
    assert "at most" in password_problem("x" * (MAX_LENGTH + 1))
    assert f"at least {MIN_LENGTH}" in password_problem("short")
    assert "less common" in password_problem("password1234")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=MAX_LENGTH + 10))
def test_any_text_gets_an_answer_never_an_error(text):
    problem = password_problem(text, hints=["someone@example.org", "Ann", "Lee"])
    assert problem is None or isinstance(problem, str)
