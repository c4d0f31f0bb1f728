"""Per-sender and per-address message limits, shared by every instance through Redis.

A sliding one-minute window per conversation and per client address, estimated from two
fixed-minute counters (this minute's, and last minute's weighted by how much of it still lies
in the last 60 seconds): as cheap as a fixed window (one pipeline per message), but a burst at
the turn of a minute gets the limit once, not twice. Refused messages count too, so a flood
keeps itself out. The user gets a friendly Dutch reply, never an error. Addresses and
conversations are hashed in the keys; nothing here is kept beyond two minutes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

WINDOW = 60


def _key(kind: str, value: str, window: int) -> str:
    digest = hashlib.sha256(f"{kind}\0{value}".encode()).hexdigest()[:24]
    return f"cjg:rate:{kind}:{digest}:{window}"


class RateLimits:
    def __init__(
        self,
        redis: Redis,
        per_sender: int,
        per_address: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self.per_sender = per_sender
        self.per_address = per_address
        self._clock = clock  # seconds since the epoch; tests pass their own

    async def allow(self, conversation: str, address: str | None) -> bool:
        async with self._redis.pipeline(transaction=False) as pipe:
            within = self.count(pipe, conversation, address)
            return within(await pipe.execute())

    def count(
        self, pipe: Pipeline, conversation: str, address: str | None
    ) -> Callable[[list[Any]], bool]:
        """Counts the message in ``pipe`` (its first commands, so a caller may add reads after
        them: one round trip); the returned check tells from the results whether it is allowed."""
        now = self._clock()
        window = int(now // WINDOW)
        last_minute_weight = 1 - (now % WINDOW) / WINDOW  # its share of the last 60 seconds
        counted = [("sender", conversation, self.per_sender)]
        if address:
            counted.append(("address", address, self.per_address))
        for kind, value, _ in counted:
            key = _key(kind, value, window)
            pipe.incr(key)
            pipe.expire(key, 2 * WINDOW)
            pipe.get(_key(kind, value, window - 1))

        def within(results: list[Any]) -> bool:
            return all(
                int(results[3 * i]) + int(results[3 * i + 2] or 0) * last_minute_weight <= limit
                for i, (_, _, limit) in enumerate(counted)
            )

        return within
