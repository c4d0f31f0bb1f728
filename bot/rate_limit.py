"""Per-sender and per-address message limits, shared by every instance through Redis.

A fixed one-minute window per conversation and per client address: cheap (one pipeline per
message) and good enough against floods; the user gets a friendly Dutch reply, never an error.
Addresses and conversations are hashed in the keys; nothing here is kept beyond two minutes.
"""

from __future__ import annotations

import hashlib
import time

from redis.asyncio import Redis

WINDOW = 60


def _key(kind: str, value: str, window: int) -> str:
    digest = hashlib.sha256(f"{kind}\0{value}".encode()).hexdigest()[:24]
    return f"cjg:rate:{kind}:{digest}:{window}"


class RateLimits:
    def __init__(self, redis: Redis, per_sender: int, per_address: int) -> None:
        self._redis = redis
        self.per_sender = per_sender
        self.per_address = per_address

    async def allow(self, conversation: str, address: str | None) -> bool:
        window = int(time.time()) // WINDOW
        counted = [("sender", conversation, self.per_sender)]
        if address:
            counted.append(("address", address, self.per_address))
        async with self._redis.pipeline(transaction=False) as pipe:
            for kind, value, _ in counted:
                key = _key(kind, value, window)
                pipe.incr(key)
                pipe.expire(key, 2 * WINDOW)
            results = await pipe.execute()
        return all(int(results[2 * i]) <= limit for i, (_, _, limit) in enumerate(counted))
