from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tests.conftest import RedisServer

TEST_DB = 8  # the insight tests' own database, flushed before each test


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(
        f"redis://127.0.0.1:{redis_server.port}/{TEST_DB}", decode_responses=True
    )
    await client.flushdb()
    yield client
    await client.aclose()
