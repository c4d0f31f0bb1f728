"""Login throttling: a username is locked after repeated failures, and so is a client address.

Counters live in Redis (shared by every instance) and expire by themselves. A locked account
can be unlocked early with ``scripts/staff-account unlock NAME``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from redis.asyncio import Redis


@dataclass(frozen=True)
class Limits:
    user_failures: int = 5  # failed logins on one username before it is locked
    address_failures: int = 20  # failed logins from one address (any username)
    window_seconds: int = 15 * 60  # failures count this long; a lock lasts this long too


def _user(username: str) -> str:
    return f"cjg:staff:login_failures:user:{username}"


def _address(address: str) -> str:
    # Hashed: the address is needed only to count, never to read back.
    return f"cjg:staff:login_failures:addr:{hashlib.sha256(address.encode()).hexdigest()[:32]}"


class LoginGuard:
    def __init__(self, redis: Redis, limits: Limits | None = None) -> None:
        self._redis = redis
        self.limits = limits or Limits()

    async def locked(self, username: str, address: str) -> bool:
        user, addr = await self._redis.mget(_user(username), _address(address))
        return int(user or 0) >= self.limits.user_failures or (
            int(addr or 0) >= self.limits.address_failures
        )

    async def failed(self, username: str, address: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            for key in (_user(username), _address(address)):
                pipe.incr(key)
                pipe.expire(key, self.limits.window_seconds, nx=True)
            await pipe.execute()

    async def succeeded(self, username: str) -> None:
        await self._redis.delete(_user(username))

    async def unlock(self, username: str) -> bool:
        return bool(await self._redis.delete(_user(username)))
