"""Login throttling: a username is locked after repeated failures, and so is a client address.

Counters live in Redis (shared by every instance) and expire by themselves. Every attempt is
counted *before* the (slow) password check, in one step with the lock test, so parallel guesses
cannot race past the limit; a successful login takes its attempt back. ``scripts/staff-account
unlock NAME`` lifts every lock that blocks a user: the username's and the address locks.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from redis.asyncio import Redis

PREFIX = "cjg:staff:login_failures:"

# Count one attempt on the username (KEYS[1]) and the address (KEYS[2]); allowed (1) while both
# counts stay within their limits (ARGV[1], ARGV[2]). A lock lasts the window from the first
# failure (ARGV[3]).
_ATTEMPT = """
local user = redis.call('INCR', KEYS[1])
if user == 1 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
local addr = redis.call('INCR', KEYS[2])
if addr == 1 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
if user > tonumber(ARGV[1]) or addr > tonumber(ARGV[2]) then return 0 end
return 1
"""

# Take one attempt back from a counter that still exists (never create one without expiry).
_TAKE_BACK = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 and tonumber(redis.call('GET', key)) > 0 then
    redis.call('DECR', key)
  end
end
return 1
"""


@dataclass(frozen=True)
class Limits:
    user_failures: int = 5  # failed logins on one username before it is locked
    address_failures: int = 20  # failed logins from one address (any username)
    window_seconds: int = 15 * 60  # failures count this long; a lock lasts this long too


def _user(username: str) -> str:
    return f"{PREFIX}user:{username}"


def _address(address: str) -> str:
    # Hashed: the address is needed only to count, never to read back.
    return f"{PREFIX}addr:{hashlib.sha256(address.encode()).hexdigest()[:32]}"


class LoginGuard:
    def __init__(self, redis: Redis, limits: Limits | None = None) -> None:
        self._redis = redis
        self.limits = limits or Limits()

    async def attempt(self, username: str, address: str) -> bool:
        """Count an attempt before the password is checked; False when it is over a limit."""
        allowed = await self._redis.eval(
            _ATTEMPT,
            2,
            _user(username),
            _address(address),
            self.limits.user_failures,
            self.limits.address_failures,
            self.limits.window_seconds,
        )
        return bool(int(allowed))

    async def take_back(self, username: str, address: str) -> None:
        """The attempt was not a guess after all (the service was too busy to check it)."""
        await self._redis.eval(_TAKE_BACK, 2, _user(username), _address(address))

    async def succeeded(self, username: str, address: str) -> None:
        """The right password: the username's failures are forgotten, the address's attempt
        taken back (colleagues behind one address must not lock each other out by logging in)."""
        await self._redis.delete(_user(username))
        await self._redis.eval(_TAKE_BACK, 1, _address(address))

    async def unlock(self, username: str) -> int:
        """Lift the username's lock and every address lock (the user's address is not known
        here, and behind a shared address it is everyone's); the number of locks lifted."""
        names = [_user(username)]
        names += [key async for key in self._redis.scan_iter(match=f"{PREFIX}addr:*", count=500)]
        locked = 0
        for name, count in zip(names, await self._redis.mget(names), strict=True):
            limit = self.limits.user_failures if name == names[0] else self.limits.address_failures
            locked += int(count or 0) >= limit
        await self._redis.delete(*names)
        return locked
