"""Kill and load tests: slower, so they run in a step of their own (`.ci/run` sets
SCOPE_RELIABILITY=1). Sizes come from the environment; see docs/RELIABILITY.md."""

import os
import uuid

import pytest

from tests.helpers import redis_url


def pytest_collection_modifyitems(config, items):
    here = [item for item in items if "reliability" in item.nodeid]
    for item in here:
        # Other processes (servers, workers) read what these tests write: real commits.
        item.add_marker(pytest.mark.real_commits)
    if os.environ.get("SCOPE_RELIABILITY") == "1":
        return
    skip = pytest.mark.skip(reason="reliability test: set SCOPE_RELIABILITY=1 (.ci/run does)")
    for item in here:
        item.add_marker(skip)


@pytest.fixture
def redis_limits():
    """(storage URI, key prefix) for rate limits shared by several processes, as deployed;
    the keys are deleted afterwards. Redis is required here, not optional."""
    import redis

    connection = redis.Redis.from_url(redis_url(), socket_connect_timeout=2)
    try:
        connection.ping()
    except redis.RedisError as error:
        pytest.fail(f"needs Redis at SCOPE_TEST_REDIS_URL ({redis_url()}): {error}")
    prefix = f"{os.environ.get('SCOPE_TEST_REDIS_PREFIX', 'scope_test')}_{uuid.uuid4().hex[:12]}"
    yield redis_url(), prefix
    for key in connection.scan_iter(f"*{prefix}*"):
        connection.delete(key)
    connection.close()
