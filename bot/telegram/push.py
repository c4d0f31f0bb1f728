"""Pushes what waits in a Telegram user's outbox (staff replies, queue news, answers to a left
message) to their chat, as soon as it arrives.

``deliver`` listens to the instance's ``OutboxWatcher``, so every instance hears the outbox news;
a short Redis lock per conversation and a "delivered up to" id make sure each message is sent
exactly once, whichever instance sends it.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from bot.telegram.chat_ids import CHAT_KEY_PREFIX, ChatIds
from bot.telegram.handlers import send
from bot.telegram.render import Buttons
from handoff.transcript import Outbox

LOCK_MS = 30_000


class Pusher:
    def __init__(
        self, redis: Redis, outbox: Outbox, chat_ids: ChatIds, buttons: Buttons, bot: Any
    ) -> None:
        self._redis = redis
        self._outbox = outbox
        self._chat_ids = chat_ids
        self._buttons = buttons
        self._bot = bot

    async def catch_up(self) -> int:
        """Sends what came in while no instance was running (a staff reply during a restart):
        outbox news is not kept, so at start every Telegram conversation is checked once."""
        sent = 0
        async for key in self._redis.scan_iter(match=f"{CHAT_KEY_PREFIX}*", count=500):
            sent += await self.deliver(str(key).removeprefix(CHAT_KEY_PREFIX))
        return sent

    async def deliver(self, cid: str) -> int:
        """Sends the conversation's undelivered messages; 0 if it is not a Telegram chat."""
        chat_id = await self._chat_ids.lookup(cid)
        if chat_id is None:
            return 0
        lock = f"cjg:tg:lock:{cid}"
        if not await self._redis.set(lock, "1", nx=True, px=LOCK_MS):
            return 0  # another instance is sending; it reads to the end
        sent = 0
        try:
            pointer = f"cjg:tg:delivered:{cid}"
            after = str(await self._redis.get(pointer) or "0")
            if after == "0":
                after = "0-0"
            for entry_id, message in await self._outbox.read(cid, after):
                if not await send(self._bot, chat_id, message, self._buttons):
                    break  # keep it for the next news; nothing is skipped
                await self._redis.set(pointer, entry_id, ex=30 * 24 * 3600)
                sent += 1
        finally:
            await self._redis.delete(lock)
        return sent
