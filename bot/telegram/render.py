"""Bot messages (Rasa's REST format) as Telegram messages: text plus an inline keyboard."""

from __future__ import annotations

import secrets
from typing import Any

from redis.asyncio import Redis
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

CALLBACK_LIMIT = 64  # bytes, Telegram's limit for callback_data
BUTTON_TTL = 7 * 24 * 3600
LINK_PREFIXES = ("https://", "http://")


def _key(token: str) -> str:
    return f"cjg:tg:button:{token}"


class Buttons:
    """Payloads too long for Telegram's callback_data are kept in Redis under a short token."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def callback_data(self, payload: str) -> str:
        if len(payload.encode()) <= CALLBACK_LIMIT and not payload.startswith("t:"):
            return payload
        token = secrets.token_urlsafe(12)
        await self._redis.set(_key(token), payload, ex=BUTTON_TTL)
        return f"t:{token}"

    async def payload(self, data: str) -> str | None:
        """The payload behind a pressed button; None when it expired or never existed."""
        if not data.startswith("t:"):
            return data
        found = await self._redis.get(_key(data[2:]))
        return str(found) if found else None

    async def keyboard(self, message: dict[str, Any]) -> InlineKeyboardMarkup | None:
        rows = []
        for button in message.get("buttons") or []:
            title, payload = str(button["title"])[:64], str(button["payload"])
            if payload.startswith(LINK_PREFIXES):
                rows.append([InlineKeyboardButton(title, url=payload)])
            else:
                rows.append(
                    [InlineKeyboardButton(title, callback_data=await self.callback_data(payload))]
                )
        return InlineKeyboardMarkup(rows) if rows else None


def text_of(message: dict[str, Any]) -> str | None:
    text = message.get("text")
    return text if isinstance(text, str) and text.strip() else None
