"""How far a user has read: one read-marker model for every channel.

A channel reads what waits in the conversation's outbox after its marker (the id of the last
reply it delivered) and moves the marker on as it delivers, so a reconnect neither loses nor
repeats a reply. Only where the marker is kept differs:

- the chat API's client holds it: its ``after``, answered with ``next`` (:class:`HeldMarker`);
- a widget socket holds it in memory (:class:`HeldMarker`), set from the widget's ``last_id``
  when it comes back; the widget also acknowledges each reply, which drops it from the outbox
  (:meth:`Reader.acknowledged`);
- Telegram keeps it in Redis (:class:`StoredMarker`), because whichever instance hears the
  outbox news next sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from delivery.outbox import Delivered, Outbox

START = "0-0"  # before the first reply
READ_BATCH = 100  # replies read at once


class Marker(Protocol):
    """Where one reader keeps the id of the last reply it delivered."""

    async def get(self) -> str: ...

    async def set(self, entry_id: str) -> None: ...


@dataclass
class HeldMarker:
    """Held by the reader itself: the chat API's client (its ``after``), a widget socket."""

    after: str = START

    async def get(self) -> str:
        return self.after

    async def set(self, entry_id: str) -> None:
        self.after = entry_id


class StoredMarker:
    """Kept in Redis under ``key`` for ``seconds`` (the conversation's retention), so that any
    instance can carry on. Read once, then remembered: one reader, one round of sends."""

    def __init__(self, redis: Redis, key: str, seconds: int) -> None:
        self._redis, self._key, self._seconds = redis, key, seconds
        self._after: str | None = None

    async def get(self) -> str:
        if self._after is None:
            self._after = str(await self._redis.get(self._key) or START)
        return self._after

    async def set(self, entry_id: str) -> None:
        await self._redis.set(self._key, entry_id, ex=self._seconds)
        self._after = entry_id


class Reader:
    """What waits for one conversation after a marker; each delivered reply moves it on."""

    def __init__(self, outbox: Outbox, cid: str, marker: Marker) -> None:
        self._outbox, self.cid, self.marker = outbox, cid, marker

    async def unread(self, count: int = READ_BATCH) -> list[Delivered]:
        """The replies after the marker, oldest first (at most ``count``); never blocks (the
        outbox's watcher says when to look again)."""
        return await self._outbox.read(self.cid, await self.marker.get(), count)

    async def waiting(self) -> bool:
        """Whether anything waits after the marker."""
        return bool(await self.unread(count=1))

    async def delivered(self, entry_id: str) -> None:
        """The reply ``entry_id`` (and all before it) reached the user's channel."""
        await self.marker.set(entry_id)

    async def acknowledged(self, entry_id: str) -> None:
        """The client says it has ``entry_id`` (and all before it): the outbox drops them."""
        await self._outbox.forget_through(self.cid, entry_id)
