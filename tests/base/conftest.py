from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tests.conftest import RedisServer
from tests.redis_db import fresh_db

TEST_DB = 39  # the ground floor's own database (the registrar's counters), flushed per test


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    async with fresh_db(redis_server, TEST_DB) as client:
        yield client
