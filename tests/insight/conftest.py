from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tests.chromium import browser as browser  # the browser tests' Chromium
from tests.conftest import RedisServer
from tests.redis_db import fresh_db

TEST_DB = 8  # the insight tests' own database, flushed before each test


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    async with fresh_db(redis_server, TEST_DB) as client:
        yield client
