"""Conversation credentials the server issues: JSON API tokens and widget session ids.

A client never chooses the id of its conversation. The server draws it (256 random bits for an
API token, 128 for a widget session id) and keeps only its SHA-256 in Redis, mapped to the
conversation's pseudonym, for as long as the conversation's data is kept (the retention time,
renewed on every use). A presented id that is not there (guessed, foreign, expired, erased) is
refused; nothing else happens for it. A copy of Redis does not hand out working credentials.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable

from redis.asyncio import Redis

from handoff import keys

TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
SESSION_ID = re.compile(r"[0-9a-f]{32}")  # secrets.token_hex(16): 128 bits


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class IssuedIds:
    """The ids of one kind the server issued, by hash, each mapped to its conversation."""

    def __init__(
        self,
        redis: Redis,
        retention_seconds: int,
        key: Callable[[str], str],
        shape: re.Pattern[str],
        draw: Callable[[], str],
    ) -> None:
        self._redis = redis
        self._retention = retention_seconds
        self._key = key
        self._shape = shape
        self._draw = draw

    def new(self) -> str:
        return self._draw()

    async def issue(self, value: str, cid: str) -> None:
        await self._redis.set(self._key(_hash(value)), cid, ex=self._retention)

    async def check(self, value: object, cid: str) -> bool:
        """True if ``value`` was issued for ``cid`` and is still valid (its time is renewed)."""
        if not isinstance(value, str) or not self._shape.fullmatch(value):
            return False
        # One command that reads and renews (only an existing key): every request checks this.
        found = await self._redis.getex(self._key(_hash(value)), ex=self._retention)
        stored = found.decode() if isinstance(found, bytes) else found
        return isinstance(stored, str) and secrets.compare_digest(stored, cid)

    async def revoke(self, value: str) -> None:
        await self._redis.delete(self._key(_hash(value)))


def api_tokens(redis: Redis, retention_seconds: int) -> IssuedIds:
    return IssuedIds(
        redis,
        retention_seconds,
        keys.api_conversation,
        TOKEN,
        lambda: secrets.token_urlsafe(32),
    )


def widget_sessions(redis: Redis, retention_seconds: int) -> IssuedIds:
    return IssuedIds(
        redis, retention_seconds, keys.widget_session, SESSION_ID, lambda: secrets.token_hex(16)
    )
