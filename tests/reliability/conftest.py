"""Kill and load tests: slower, so they run in a step of their own (`.ci/run` sets
SCOPE_RELIABILITY=1). Sizes come from the environment; see docs/RELIABILITY.md."""

import os

import pytest


def pytest_collection_modifyitems(config, items):
    if os.environ.get("SCOPE_RELIABILITY") == "1":
        return
    skip = pytest.mark.skip(reason="reliability test: set SCOPE_RELIABILITY=1 (.ci/run does)")
    for item in items:
        if "reliability" in item.nodeid:
            item.add_marker(skip)
