"""Which staff members are online: a heartbeat per console, kept in Redis with a time limit."""

from __future__ import annotations

from typing import Literal, cast

from redis.asyncio import Redis

from handoff import keys
from handoff.store import now_ms

Status = Literal["online", "away"]


class Presence:
    def __init__(self, redis: Redis, timeout_seconds: float) -> None:
        self._redis = redis
        self.timeout_ms = int(timeout_seconds * 1000)

    async def heartbeat(self, username: str) -> None:
        await self._redis.zadd(keys.PRESENCE, {username: now_ms()})

    async def set_status(self, username: str, status: Status) -> None:
        await self._redis.hset(keys.STATUS, username, status)
        await self.heartbeat(username)

    async def leave(self, username: str) -> None:
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
