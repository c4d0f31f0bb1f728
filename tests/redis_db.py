"""One of the test Redis server's numbered databases, emptied first, for a test module's fixture.

Kept out of ``tests/conftest.py``, which the Rasa environment also loads (its redis is older).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from tests.conftest import RedisServer


@asynccontextmanager
async def fresh_db(server: RedisServer, db: int) -> AsyncIterator[Redis]:
    client = Redis.from_url(server.url(db), decode_responses=True)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()
