"""Wakes long-polls and sockets when an outbox gets a message, on any instance."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError, RedisError

from delivery import keys

Listener = Callable[[str], Coroutine[Any, Any, object]]
SignalListener = Callable[[str, dict[str, Any]], Coroutine[Any, Any, object]]


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
