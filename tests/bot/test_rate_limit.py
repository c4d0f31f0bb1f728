"""The message limits (bot/rate_limit.py) over a real redis-server: per conversation and per
client address, shared through Redis, with hashed keys that outlive their minute only briefly."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from bot.rate_limit import WINDOW, RateLimits

DB = 43  # this module's own database


@pytest.fixture
async def redis(module_db: Redis) -> Redis:
    """The module's database. A test that crosses the turn of a minute counts the same: the
    window slides (last minute's count weighs in)."""
    return module_db


class Clock:
    """Seconds since the epoch, as a test sets them."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_a_burst_at_the_turn_of_a_minute_gets_the_limit_once(redis: Redis) -> None:
    """A fixed window would let 3 through at 0:59 and 3 more at 1:01."""
    minute = 1_800_000_000 // WINDOW * WINDOW
    clock = Clock(minute + 59)
    limits = RateLimits(redis, per_sender=3, per_address=100, clock=clock)
    assert [await limits.allow("c1", None) for _ in range(3)] == [True] * 3
    clock.now = minute + WINDOW + 1  # 2 s later, in the next minute
    assert await limits.allow("c1", None) is False  # 1 + 3 × 59/60 > 3
    clock.now = minute + 2 * WINDOW - 1  # the burst has almost left the last 60 s
    assert await limits.allow("c1", None) is True  # 2 + 3 × 1/60 <= 3


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
