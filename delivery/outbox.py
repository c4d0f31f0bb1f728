"""The user's outbox: one Redis stream per conversation where every reply waits for its channel.

Staff messages, queue news, the answer to a left message and the widget's bot replies are
written here; channels read it after a read marker (delivery/marker.py), so a reconnect neither
loses nor repeats a message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from redis.asyncio import Redis

from delivery import keys

OUTBOX_MAX = 500  # per conversation; a client that is this far behind starts from the newest


class Delivered(NamedTuple):
    """A reply as it waits in the outbox: its stream id and the reply (with ``at``, in ms)."""

    id: str
    reply: dict[str, Any]


def encoded(message: Mapping[str, Any]) -> str:
    """An outbox message as it is kept (its ``m`` field)."""
    return json.dumps(message, ensure_ascii=False)


def _now_ms() -> int:
    return int(time.time() * 1000)


class Outbox:
    def __init__(self, redis: Redis, retention_seconds: int) -> None:
        self._redis = redis
        self._retention = retention_seconds

    @staticmethod
    def _add(pipe: Any, cid: str, message: Mapping[str, Any]) -> None:
        pipe.xadd(
            keys.outbox(cid),
            {"m": encoded(message), "at": _now_ms()},
            maxlen=OUTBOX_MAX,
            approximate=True,
        )

    async def push(self, cid: str, message: Mapping[str, Any]) -> str:
        """``message``: a reply (delivery/reply.py) or news with the same fields."""
        (entry_id,) = await self.push_all(cid, [message])
        return entry_id

    async def push_all(
        self,
        cid: str,
        messages: Sequence[Mapping[str, Any]],
        also_set: tuple[str, str, int] | None = None,
    ) -> list[str]:
        """One conversation's messages (a bot reply) in order, in one round trip; with
        ``also_set`` (key, value, seconds), that key is set in the same transaction (the widget's
        mark that a message was handled: stored with its replies or not at all)."""
        if not messages and also_set is None:
            return []
        async with self._redis.pipeline(transaction=True) as pipe:
            for message in messages:
                self._add(pipe, cid, message)
            if messages:
                pipe.expire(keys.outbox(cid), self._retention)
                pipe.publish(keys.OUTBOX_NEWS, cid)
            if also_set is not None:
                key, value, seconds = also_set
                pipe.set(key, value, ex=seconds)
            results = await pipe.execute()
        return [str(r) for r in results[: len(messages)]]

    async def push_many(self, messages: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """Several conversations' messages in one round trip (queue news)."""
        if not messages:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for cid, message in messages:
                self._add(pipe, cid, message)
                pipe.expire(keys.outbox(cid), self._retention)
                pipe.publish(keys.OUTBOX_NEWS, cid)
            await pipe.execute()

    async def forget_through(self, cid: str, entry_id: str) -> None:
        """Drops every message up to and including ``entry_id``: the client has it."""
        ms, _, seq = entry_id.partition("-")
        await self._redis.xtrim(keys.outbox(cid), minid=f"{ms}-{int(seq or 0) + 1}")

    async def read(self, cid: str, after: str = "0", count: int = 100) -> list[Delivered]:
        """Messages after ``after`` (never blocks; see ``OutboxWatcher`` for waiting)."""
        return self.parsed(await self._redis.xread({keys.outbox(cid): after}, count=count))

    @staticmethod
    def parsed(found: Any) -> list[Delivered]:
        """An ``XREAD`` reply of one outbox as (id, message) pairs."""
        if not found:
            return []
        (_, entries), *_ = found
        out: list[Delivered] = []
        for entry_id, fields in entries:
            message = json.loads(fields["m"])
            message["at"] = int(fields["at"])
            out.append(Delivered(str(entry_id), message))
        return out
