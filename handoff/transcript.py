"""Two Redis streams per conversation: the handoff transcript (for staff) and the user's outbox.

The outbox holds what reaches the user outside a direct reply: staff messages, queue news, the
answer to a left message. Clients read it after the last id they saw, so a reconnect neither
loses nor repeats a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import asdict, dataclass
from typing import Any, Literal, cast

from redis.asyncio import Redis
from redis.exceptions import ConnectionError, RedisError

from base.redact import redact
from handoff import keys
from handoff.store import now_ms

Listener = Callable[[str], Coroutine[Any, Any, object]]
SignalListener = Callable[[str, dict[str, Any]], Coroutine[Any, Any, object]]

Role = Literal["user", "bot", "staff", "note", "system"]
OUTBOX_MAX = 500  # per conversation; a client that is this far behind starts from the newest


@dataclass(frozen=True)
class Entry:
    id: str
    role: Role
    text: str
    at: int
    staff: str | None = None  # the staff member's first name, for staff messages and notes

    def public(self) -> dict[str, Any]:
        return asdict(self)


class Transcript:
    def __init__(self, redis: Redis, retention_seconds: int) -> None:
        self._redis = redis
        self._retention = retention_seconds

    async def append(self, hid: str, role: Role, text: str, staff: str | None = None) -> Entry:
        at = now_ms()
        fields = {"role": role, "text": text, "at": at}
        if staff:
            fields["staff"] = staff
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(keys.transcript(hid), fields)  # type: ignore[arg-type]
            pipe.expire(keys.transcript(hid), self._retention)
            entry_id, _ = await pipe.execute()
        return Entry(str(entry_id), role, text, at, staff)

    async def append_many(self, hid: str, entries: list[tuple[Role, str]]) -> None:
        if not entries:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            for role, text in entries:
                pipe.xadd(keys.transcript(hid), {"role": role, "text": text, "at": now_ms()})
            pipe.expire(keys.transcript(hid), self._retention)
            await pipe.execute()

    async def read(self, hid: str) -> list[Entry]:
        raw = cast(list[tuple[str, dict[str, str]]], await self._redis.xrange(keys.transcript(hid)))
        return [
            Entry(
                entry_id,
                cast(Role, f["role"]),
                f["text"],
                int(f["at"]),
                f.get("staff"),
            )
            for entry_id, f in raw
        ]

    async def redact(self, hid: str) -> dict[str, int]:
        """Rewrites the transcript with personal data replaced (same ids, same order); how
        many entries changed, per role. Run when the handoff ends."""
        entries = await self.read(hid)
        personal = [e for e in entries if e.role in ("user", "staff", "note")]
        cleaned = await redact([e.text for e in personal])
        changed = {e.id: c for e, c in zip(personal, cleaned, strict=True) if c != e.text}
        roles = Counter[str](e.role for e in personal if e.id in changed)
        if not changed:
            return {}
        name = keys.transcript(hid)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(name)
            for e in entries:
                fields: dict[str, str | int] = {
                    "role": e.role,
                    "text": changed.get(e.id, e.text),
                    "at": e.at,
                }
                if e.staff:
                    fields["staff"] = e.staff
                pipe.xadd(name, fields, id=e.id)  # type: ignore[arg-type]
            pipe.expire(name, self._retention)
            await pipe.execute()
        return dict(roles)


def encoded(message: dict[str, Any]) -> str:
    """An outbox message as it is kept (its ``m`` field)."""
    return json.dumps(message, ensure_ascii=False)


class Outbox:
    def __init__(self, redis: Redis, retention_seconds: int) -> None:
        self._redis = redis
        self._retention = retention_seconds

    @staticmethod
    def _add(pipe: Any, cid: str, message: dict[str, Any]) -> None:
        pipe.xadd(
            keys.outbox(cid),
            {"m": encoded(message), "at": now_ms()},
            maxlen=OUTBOX_MAX,
            approximate=True,
        )

    async def push(self, cid: str, message: dict[str, Any]) -> str:
        """``message`` is a bot message without recipient (text, buttons, custom)."""
        (entry_id,) = await self.push_all(cid, [message])
        return entry_id

    async def push_all(
        self,
        cid: str,
        messages: list[dict[str, Any]],
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

    async def push_many(self, messages: list[tuple[str, dict[str, Any]]]) -> None:
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

    async def read(
        self, cid: str, after: str = "0", count: int = 100
    ) -> list[tuple[str, dict[str, Any]]]:
        """Messages after ``after`` (never blocks; see ``OutboxWatcher`` for waiting)."""
        return self.parsed(await self._redis.xread({keys.outbox(cid): after}, count=count))

    @staticmethod
    def parsed(found: Any) -> list[tuple[str, dict[str, Any]]]:
        """An ``XREAD`` reply of one outbox as (id, message) pairs."""
        if not found:
            return []
        (_, entries), *_ = found
        out: list[tuple[str, dict[str, Any]]] = []
        for entry_id, fields in entries:
            message = json.loads(fields["m"])
            message["at"] = int(fields["at"])
            out.append((str(entry_id), message))
        return out


class OutboxWatcher:
    """Wakes long-polls and sockets when an outbox gets a message, on any instance.

    One Redis pub/sub connection per service instance, however many users wait. The waiters
    are only wake-up calls: the messages themselves stay in Redis, so nothing is lost when an
    instance stops.
    """

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}
        self._listeners: list[Listener] = []
        self._signal_listeners: list[SignalListener] = []
        self._running: set[asyncio.Task[object]] = set()
        self._task: asyncio.Task[None] | None = None

    def add_listener(self, listener: Listener) -> None:
        """``listener(cid)`` runs (as its own task) for every outbox news, e.g. Telegram push."""
        self._listeners.append(listener)

    def add_signal_listener(self, listener: SignalListener) -> None:
        """``listener(cid, signal)`` runs for passing news that is not kept (staff typing)."""
        self._signal_listeners.append(listener)

    async def start(self) -> None:
        """Starts listening; works while Redis is still down (it keeps trying)."""
        self._task = asyncio.create_task(self._listen())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        subscribed = False
        try:
            while True:
                try:
                    if not subscribed:
                        await pubsub.subscribe(keys.OUTBOX_NEWS, keys.USER_SIGNALS)
                        subscribed = True
                        self._wake_all()  # something may have arrived while we were away
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                except (ConnectionError, RedisError, OSError):  # Redis away: try again soon
                    subscribed = False
                    await asyncio.sleep(1)
                    continue
                if message is None or message.get("type") != "message":
                    continue
                if message.get("channel") == keys.USER_SIGNALS:
                    self._signal(str(message["data"]))
                    continue
                self._wake(str(message["data"]))
                for listener in self._listeners:
                    self._run(listener(str(message["data"])))
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _run(self, job: Coroutine[Any, Any, object]) -> None:
        task = asyncio.create_task(job)
        self._running.add(task)  # keep a reference until it is done
        task.add_done_callback(self._running.discard)

    def _signal(self, raw: str) -> None:
        try:
            signal = json.loads(raw)
            cid = str(signal.pop("cid"))
        except (ValueError, KeyError, TypeError, AttributeError):
            return
        for listener in self._signal_listeners:
            self._run(listener(cid, signal))

    def _wake(self, cid: str) -> None:
        for future in self._waiters.pop(cid, set()):
            if not future.done():
                future.set_result(None)

    def _wake_all(self) -> None:
        for cid in list(self._waiters):
            self._wake(cid)

    @contextlib.asynccontextmanager
    async def news(self, cid: str) -> AsyncIterator[asyncio.Future[None]]:
        """A future that completes at the next message for ``cid``. Enter it *before* reading
        the outbox, so a message that arrives in between is not missed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(cid, set()).add(future)
        try:
            yield future
        finally:
            waiting = self._waiters.get(cid)
            if waiting is not None:
                waiting.discard(future)
                if not waiting:
                    del self._waiters[cid]
