"""Which staff members are online: a heartbeat per console, kept in Redis with a time limit."""

from __future__ import annotations

import math
import time
from typing import Literal, cast

from redis.asyncio import Redis

from handoff import keys
from handoff.store import now_ms

Status = Literal["online", "away"]
BUSY_BEAT_SECONDS = 1.0  # a busy console's API calls write its heartbeat at most this often


class Presence:
    def __init__(self, redis: Redis, timeout_seconds: float) -> None:
        self._redis = redis
        self.timeout_ms = int(timeout_seconds * 1000)
        # A tenth of the timeout at most, so a throttled console never looks gone.
        self._beat_every = min(BUSY_BEAT_SECONDS, timeout_seconds / 10)
        self._beaten: dict[str, float] = {}  # username -> when this process last wrote it

    async def heartbeat(self, username: str) -> None:
        await self._redis.zadd(keys.PRESENCE, {username: now_ms()})
        self._beaten[username] = time.monotonic()

    async def sign_of_life(self, username: str) -> None:
        """A heartbeat from a staff API call: written at most once per ``BUSY_BEAT_SECONDS``
        per staff member, so a console that sends many replies does not pay a Redis round
        trip for each (the presence timeout is far longer)."""
        if time.monotonic() - self._beaten.get(username, -math.inf) >= self._beat_every:
            await self.heartbeat(username)

    async def set_status(self, username: str, status: Status) -> None:
        await self._redis.hset(keys.STATUS, username, status)
        await self.heartbeat(username)

    async def leave(self, username: str) -> None:
        self._beaten.pop(username, None)  # the next sign of life is written at once
        await self._redis.zrem(keys.PRESENCE, username)

    async def connected(self) -> dict[str, Status]:
        """Staff with a live console and their status; stale heartbeats are dropped."""
        cutoff = now_ms() - self.timeout_ms
        await self._redis.zremrangebyscore(keys.PRESENCE, "-inf", cutoff)
        names = cast(list[str], await self._redis.zrange(keys.PRESENCE, 0, -1))
        if not names:
            return {}
        statuses = cast(list[str | None], await self._redis.hmget(keys.STATUS, names))
        return {n: cast(Status, s or "online") for n, s in zip(names, statuses, strict=True)}

    async def online_count(self) -> int:
        return sum(1 for s in (await self.connected()).values() if s == "online")

    async def is_connected(self, username: str) -> bool:
        score = await self._redis.zscore(keys.PRESENCE, username)
        return score is not None and score >= now_ms() - self.timeout_ms
