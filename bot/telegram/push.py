"""Pushes what waits in a Telegram user's outbox (staff replies, queue news, answers to a left
message) to their chat, as soon as it arrives.

``deliver`` listens to the instance's ``OutboxWatcher``, so every instance hears the outbox news.
A Redis lock per conversation and a read marker in Redis (delivery/marker.py) make sure each
message is sent once, whichever instance sends it: a message is sent only by the lock's holder,
the mark is recorded
right after each send (before the next one and before the lock goes), and the holder renews the
lock while it sends, so a long flood wait (``retry_after``) cannot let it expire and a second
instance send the same message. What is left is documented in docs/API.md: a message may come
twice only when the holder cannot reach Redis for longer than the lock lasts.

A user who blocked the bot (403 Forbidden) gets nothing more: that chat's pending messages are
marked undeliverable (skipped), so neither its queue nor the start-up catch-up is held up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, RedisError
from telegram.error import TelegramError

from bot.telegram.chat_ids import CHAT_KEY_PREFIX, ChatIds
from bot.telegram.handlers import Sent, send
from bot.telegram.render import Buttons
from delivery.marker import Reader
from delivery.outbox import Outbox

log = logging.getLogger(__name__)
LOCK_SECONDS = 30  # renewed every third of it while sending


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
        outbox news is not kept, so at start every Telegram conversation is checked once.
        One chat that fails does not stop the others."""
        sent = 0
        async for key in self._redis.scan_iter(match=f"{CHAT_KEY_PREFIX}*", count=500):
            try:
                sent += await self.deliver(str(key).removeprefix(CHAT_KEY_PREFIX))
            except TelegramError as exc:  # the next outbox news for that chat tries again
                log.warning("Telegram catch-up of one chat failed (%s)", type(exc).__name__)
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
            reader = Reader(self._outbox, cid, self._chat_ids.marker(cid))
            renewing = asyncio.create_task(_renew(lock))
            try:
                done, whole = await self._send_pending(reader, chat_id, lock)
            finally:
                renewing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewing
                with contextlib.suppress(LockError):  # lost: the sends stopped before that
                    await lock.release()
            sent += done
            if not whole:
                return sent  # a failed send waits for the next news; nothing is skipped
            if not await reader.waiting():
                return sent

    async def _send_pending(self, reader: Reader, chat_id: int, lock: Lock) -> tuple[int, bool]:
        """How many were sent, and whether all that waited went (False when a send failed)."""
        sent = 0
        for entry_id, message in await reader.unread():
            if not await lock.owned():  # the lock was lost: its new holder sends from here
                return sent, False
            result = await send(self._bot, chat_id, message, self._buttons)
            if result == Sent.FAILED:
                return sent, False
            if result == Sent.BLOCKED:
                skipped = await reader.unread()
                await reader.delivered(skipped[-1].id if skipped else entry_id)
                log.warning(
                    "Telegram chat blocked the bot; %d message(s) marked undeliverable",
                    len(skipped),
                )
                return sent, True
            await reader.delivered(entry_id)
            sent += 1
        return sent, True


async def _renew(lock: Lock) -> None:
    """Keeps the push lock while its holder sends (a flood wait can last minutes)."""
    while True:
        await asyncio.sleep(LOCK_SECONDS / 3)
        try:
            await lock.reacquire()
        except (LockError, RedisError) as exc:  # the holder checks ownership before each send
            log.warning("Telegram push lock could not be renewed (%s)", type(exc).__name__)
            return
