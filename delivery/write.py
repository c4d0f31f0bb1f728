"""The write path that acknowledges: a turn's replies written where the channel reads them, then
one confirmation that every write of the turn is durable (delivery/durability.py).

"Acknowledged" means "the replies are durably written", on every channel. The chat API and
Telegram return a turn's replies in their answer, so the turn's own writes (Rasa's tracker, the
handoff transcript) are all there is to confirm; the widget reads its replies from the
conversation's outbox, so they are written there first, with the widget's "handled" mark in the
same transaction. Either way one ``WAIT`` after the last write covers them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from delivery.durability import Durability
from delivery.outbox import Outbox
from delivery.reply import Reply


@dataclass(frozen=True)
class Keep:
    """Where a channel keeps a turn's replies until the user has them."""

    outbox: bool = False  # True: the channel reads them from the conversation's outbox
    mark: tuple[str, str, int] | None = None  # (key, value, seconds): set with the replies


RETURNED = Keep()  # returned in the channel's answer (the chat API, Telegram)


class NotWritten(RedisError):
    """The replies could not be written to the outbox (Redis away or full): nothing of them is
    kept, so the channel shows them another way (``replies``)."""

    def __init__(self, replies: Sequence[Reply]) -> None:
        super().__init__("the replies could not be written to the outbox")
        self.replies = list(replies)


class Delivery:
    """The outbox and its durability, for everything that writes a reply: the conversation core
    (a turn's replies), the handoff service (staff replies, queue news, the service's own)."""

    def __init__(self, redis: Redis, outbox: Outbox, durability: Durability | None = None) -> None:
        self.outbox = outbox
        self.durability = durability or Durability()
        self._redis = redis

    async def acknowledge(self, cid: str, replies: Sequence[Reply], keep: Keep = RETURNED) -> None:
        """Writes the turn's replies where the channel reads them, then confirms every write so
        far on the replicas the settings ask for. Raises ``NotWritten`` when the write fails,
        and ``NotReplicated`` (delivery/durability.py) when it is written but not confirmed."""
        if keep.outbox:
            try:
                await self.outbox.push_all(cid, replies, also_set=keep.mark)
            except RedisError as exc:
                raise NotWritten(replies) from exc
        await self.confirm()

    async def confirm(self) -> None:
        """Every write made before the call is on the replicas the settings ask for (a no-op
        without replicas); ``NotReplicated`` when they do not confirm in time."""
        await self.durability.confirm(self._redis)
