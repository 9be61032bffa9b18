"""Kill and load tests: slower, so they run in a step of their own (`.ci/run` sets
SCOPE_RELIABILITY=1). Sizes come from the environment; see docs/RELIABILITY.md."""

import os
import uuid

import pytest


def pytest_collection_modifyitems(config, items):
    if os.environ.get("SCOPE_RELIABILITY") == "1":
        return
    skip = pytest.mark.skip(reason="reliability test: set SCOPE_RELIABILITY=1 (.ci/run does)")
    for item in items:
        if "reliability" in item.nodeid:
            item.add_marker(skip)


def postgres_url() -> str | None:
    url = os.environ.get("SCOPE_TEST_DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


needs_postgres = pytest.mark.skipif(
    postgres_url() is None,
    reason="needs PostgreSQL: set SCOPE_TEST_DATABASE_URL=postgresql://...",
)


def redis_url() -> str:
    return os.environ.get("SCOPE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


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
