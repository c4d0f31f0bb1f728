"""Pushes what waits in a Telegram user's outbox (staff replies, queue news, answers to a left
message) to their chat, as soon as it arrives.

``deliver`` listens to the instance's ``OutboxWatcher``, so every instance hears the outbox news;
a short Redis lock per conversation and a "delivered up to" id make sure each message is sent
exactly once, whichever instance sends it.
"""

from __future__ import annotations

import contextlib
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import LockError

from bot.telegram.chat_ids import CHAT_KEY_PREFIX, ChatIds
from bot.telegram.handlers import send
from bot.telegram.render import Buttons
from handoff.transcript import Outbox

LOCK_SECONDS = 30


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
        """Sends the conversation's undelivered messages; 0 if it is not a Telegram chat.

        Whoever finds the lock taken leaves the work to its holder, so the holder looks again
        after letting go: a message added while it was sending is never left behind.
        """
        chat_id = await self._chat_ids.lookup(cid)
        if chat_id is None:
            return 0
        sent = 0
        while True:
            lock = self._redis.lock(f"cjg:tg:lock:{cid}", timeout=LOCK_SECONDS, blocking=False)
            if not await lock.acquire():
                return sent  # another instance is sending; it looks again when it is done
            try:
                done, after = await self._send_pending(cid, chat_id)
            finally:
                with contextlib.suppress(LockError):  # it expired during a very long flood wait
                    await lock.release()
            sent += done
            if after is None:
                return sent  # a failed send waits for the next news; nothing is skipped
            if not await self._outbox.read(cid, after, count=1):
                return sent

    async def _send_pending(self, cid: str, chat_id: int) -> tuple[int, str | None]:
        """How many were sent, and the id sent up to (None when a send failed)."""
        sent, after = 0, await self._chat_ids.delivered(cid)
        for entry_id, message in await self._outbox.read(cid, after):
            if not await send(self._bot, chat_id, message, self._buttons):
                return sent, None
            await self._chat_ids.mark_delivered(cid, entry_id)
            sent, after = sent + 1, entry_id
        return sent, after
