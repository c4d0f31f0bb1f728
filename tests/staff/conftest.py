from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.conftest import RedisServer
from tests.redis_db import fresh_db

ROOT = Path(__file__).resolve().parents[2]
TEST_DB = 40  # the staff accounts' own database, flushed before each test
CLI_DB = 41  # the command line's (scripts/staff-account), apart from the tests' client


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    async with fresh_db(redis_server, TEST_DB) as client:
        yield client
