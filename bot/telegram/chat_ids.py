"""Where to push a Telegram message for a conversation, without storing the raw chat id.

The chat id is kept encrypted (Fernet, a key derived from the pseudonym secret) under the
conversation's pseudonym, with the retention time. Without the secret it is unreadable.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from redis.asyncio import Redis

from delivery.marker import StoredMarker

CHAT_KEY_PREFIX = "cjg:tg:chat:"


def _key(cid: str) -> str:
    return CHAT_KEY_PREFIX + cid


def _delivered_key(cid: str) -> str:
    return f"cjg:tg:delivered:{cid}"


class ChatIds:
    def __init__(self, redis: Redis, secret: str, retention_seconds: int) -> None:
        derived = hashlib.sha256(b"cjg-telegram-chat-id\0" + secret.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))
        self._redis = redis
        self._retention = retention_seconds

    async def remember(self, cid: str, chat_id: int) -> None:
        token = self._fernet.encrypt(str(chat_id).encode()).decode()
        await self._redis.set(_key(cid), token, ex=self._retention)

    async def lookup(self, cid: str) -> int | None:
        token = await self._redis.get(_key(cid))
        if not token:
            return None
        try:
            return int(self._fernet.decrypt(str(token).encode()))
        except (InvalidToken, ValueError):
            return None

    def marker(self, cid: str) -> StoredMarker:
        """How far this chat has been sent its outbox: kept in Redis, so any instance can send
        next (delivery/marker.py)."""
        return StoredMarker(self._redis, _delivered_key(cid), self._retention)

    async def forget(self, cid: str) -> None:
        await self._redis.delete(_key(cid), _delivered_key(cid))
