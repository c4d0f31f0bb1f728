"""Delivery's tests share the session's redis-server: databases 33 (outbox, markers), 34 (the
watcher) and 35 (the write path), emptied first for each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tests.conftest import RedisServer
from tests.redis_db import fresh_db

DBS = {"test_outbox": 33, "test_marker": 33, "test_watcher": 34, "test_write": 35}


@pytest.fixture
async def redis(redis_server: RedisServer, request: pytest.FixtureRequest) -> AsyncIterator[Redis]:
    """The module's own database (``DBS``), empty."""
    name = request.module.__name__.rpartition(".")[2]
    async with fresh_db(redis_server, DBS[name]) as client:
        yield client
