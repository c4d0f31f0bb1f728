"""Which colleagues are online (handoff/presence.py) over a real redis-server: heartbeats,
statuses, stale consoles dropped, and a busy console's heartbeat written at most once a second."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from handoff import keys
from handoff.presence import Presence


async def test_connected_colleagues_their_status_and_leaving(redis: Redis) -> None:
    presence = Presence(redis, 45)
    await presence.heartbeat("anne")
    await presence.set_status("bram", "away")
    assert await presence.connected() == {"anne": "online", "bram": "away"}
    assert await presence.online_count() == 1  # away does not count as available
    assert await presence.is_connected("bram")
    await presence.leave("anne")
    assert await presence.connected() == {"bram": "away"}
    assert not await presence.is_connected("anne")


async def test_a_console_without_heartbeats_drops_out_after_the_timeout(redis: Redis) -> None:
    presence = Presence(redis, 0.2)
    await presence.heartbeat("anne")
    assert await presence.is_connected("anne")
    await asyncio.sleep(0.3)
    assert not await presence.is_connected("anne")
    assert await presence.connected() == {}
    assert await redis.zscore(keys.PRESENCE, "anne") is None  # the stale entry is removed


async def test_a_busy_console_writes_its_heartbeat_at_most_once_a_second(redis: Redis) -> None:
    presence = Presence(redis, 45)
    await presence.heartbeat("anne")
    first = await redis.zscore(keys.PRESENCE, "anne")
    await asyncio.sleep(0.05)
    await presence.sign_of_life("anne")  # within the second: no write
    assert await redis.zscore(keys.PRESENCE, "anne") == first
    await presence.leave("anne")
    await presence.sign_of_life("anne")  # after leaving, the next sign counts at once
    assert await presence.is_connected("anne")
