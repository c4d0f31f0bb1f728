"""Staff login sessions: a random token in a cookie, its hash as a Redis key with a time limit.

Only the hash is stored, so a copy of Redis cannot be used to log in. Each session also has a
CSRF token that the console sends in a header on every change.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis

from staff import events, keys

SESSION_ENDED = "session_ended"  # the feed event; the console itself never sees it

COOKIE = "cjg_staff"

# KEYS: session   ARGV: account key (prefix, suffix)
# Read only: a login and its account in one round trip. {username, csrf, account hash}.
_WITH_ACCOUNT = """
local found = redis.call('HMGET', KEYS[1], 'username', 'csrf')
if not found[1] or found[1] == '' then return false end
return {found[1], found[2] or '', redis.call('HGETALL', ARGV[1] .. found[1] .. ARGV[2])}
"""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    username: str
    csrf: str


class Sessions:
    def __init__(self, redis: Redis, lifetime_seconds: int) -> None:
        self._redis = redis
        self.lifetime = lifetime_seconds
        self._with_account = redis.register_script(_WITH_ACCOUNT)

    async def create(self, username: str) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        session = Session(username, secrets.token_urlsafe(24))
        name, mine = keys.session(_hash(token)), keys.sessions_of(username)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(name, mapping={"username": username, "csrf": session.csrf})
            pipe.expire(name, self.lifetime)
            pipe.sadd(mine, name)  # so a new password or a removal can end them all
            pipe.expire(mine, self.lifetime)
            await pipe.execute()
        return token, session

    async def get(self, token: str | None) -> Session | None:
        if not token or len(token) > 100:
            return None
        raw = cast(dict[str, str], await self._redis.hgetall(keys.session(_hash(token))))
        if not raw.get("username"):
            return None
        return Session(raw["username"], raw["csrf"])

    async def with_account(self, token: str | None) -> tuple[Session, dict[str, str]] | None:
        """The login and its account's hash (empty when the account is gone), read together:
        every staff request starts with this, so it is one round trip."""
        if not token or len(token) > 100:
            return None
        found = await self._with_account(
            keys=[keys.session(_hash(token))], args=[*keys.around(keys.account)]
        )
        if not found:
            return None
        username, csrf, flat = found
        fields = [str(item) for item in flat]
        return Session(str(username), str(csrf)), dict(zip(fields[::2], fields[1::2], strict=True))

    async def end(self, token: str | None) -> None:
        if token:
            name = keys.session(_hash(token))
            username = await self._redis.hget(name, "username")
            await self._redis.delete(name)
            if username:
                await ended(self._redis, str(username))


async def ended(redis: Redis, username: str) -> None:
    """Tells every console feed at once that a login of this account ended: its sockets look
    the session up again before any more chat text goes out (handoff/web_staff_ws.py)."""
    await events.publish(redis, SESSION_ENDED, staff=username)


async def end_sessions_of(redis: Redis, username: str) -> int:
    """End every session of an account (its password changed, or it was removed)."""
    mine = keys.sessions_of(username)
    names = cast(set[str], await redis.smembers(mine))
    count = int(await redis.delete(*names)) if names else 0
    await redis.delete(mine)
    await ended(redis, username)
    return count
