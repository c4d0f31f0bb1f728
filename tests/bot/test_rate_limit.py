"""The message limits (bot/rate_limit.py) over a real redis-server: per conversation and per
client address, shared through Redis, with hashed keys that outlive their minute only briefly."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from bot.rate_limit import WINDOW, RateLimits

DB = 43  # this module's own database


@pytest.fixture
async def redis(module_db: Redis) -> Redis:
    """The module's database, with at least 10 s of the current minute left: the limits count
    per fixed minute, so a test split over two would start counting afresh halfway."""
    left = WINDOW - time.time() % WINDOW
    if left < 10:
        await asyncio.sleep(left + 0.1)
    return module_db


async def test_a_conversation_gets_its_limit_and_others_their_own(redis: Redis) -> None:
    limits = RateLimits(redis, per_sender=3, per_address=100)
    assert [await limits.allow("c1", "10.0.0.1") for _ in range(4)] == [True] * 3 + [False]
    assert await limits.allow("c2", "10.0.0.1")
    assert await RateLimits(redis, 3, 100).allow("c1", None) is False  # shared by instances


async def test_an_address_is_limited_across_its_conversations(redis: Redis) -> None:
    limits = RateLimits(redis, per_sender=100, per_address=3)
    assert [await limits.allow(f"c{n}", "10.0.0.1") for n in range(4)] == [True] * 3 + [False]
    assert await limits.allow("c9", "10.0.0.2")
    assert await limits.allow("c9", None)  # no address known: only the conversation counts


async def test_the_keys_name_no_conversation_or_address_and_expire(redis: Redis) -> None:
    limits = RateLimits(redis, 30, 120)
    assert await limits.allow("conversation-secret", "192.0.2.7")
    found = [str(key) for key in await redis.keys("*")]
    assert len(found) == 2 and all(key.startswith("cjg:rate:") for key in found)
    assert not any("secret" in key or "192.0.2.7" in key for key in found)
    assert all(0 < ttl <= 2 * WINDOW for ttl in [await redis.ttl(key) for key in found])


async def test_the_count_shares_a_round_trip_with_the_callers_reads(redis: Redis) -> None:
    await redis.set("other", "kept")
    limits = RateLimits(redis, per_sender=1, per_address=10)
    for expected in (True, False):
        async with redis.pipeline(transaction=False) as pipe:
            within = limits.count(pipe, "c1", "10.0.0.1")
            pipe.get("other")
            results = await pipe.execute()
        assert (within(results), results[-1]) == (expected, "kept")
