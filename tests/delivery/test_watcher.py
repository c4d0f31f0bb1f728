"""The outbox watcher (delivery/watcher.py), on the session's redis-server (database 34):
waiters and listeners hear outbox news and passing signals published on any instance."""

from __future__ import annotations

import asyncio
import json
import uuid

from redis.asyncio import Redis

from delivery import keys
from delivery.outbox import Outbox
from delivery.watcher import OutboxWatcher


async def _started(watcher: OutboxWatcher, redis: Redis) -> None:
    """Returns once the watcher's subscription is in place (news before it would be missed)."""
    await watcher.start()
    for _ in range(100):
        counts = dict(await redis.pubsub_numsub(keys.OUTBOX_NEWS))
        if counts.get(keys.OUTBOX_NEWS):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the watcher did not subscribe within 5 s")


async def test_a_waiter_and_a_listener_hear_the_news(redis: Redis) -> None:
    watcher = OutboxWatcher(redis)
    heard: list[str] = []
    done = asyncio.Event()

    cid, other_cid = f"watched-{uuid.uuid4().hex}", f"other-{uuid.uuid4().hex}"

    async def listener(news_of: str) -> None:
        if news_of == cid:  # pub/sub is the server's: other tests' news is heard too
            heard.append(news_of)
            done.set()

    watcher.add_listener(listener)
    await _started(watcher, redis)
    try:
        async with watcher.news(cid) as news, watcher.news(other_cid) as other:
            await Outbox(redis, 60).push(cid, {"text": "Anne is er nu"})
            await asyncio.wait_for(news, 5)
            await asyncio.wait_for(done.wait(), 5)
            assert not other.done()  # another conversation's waiter sleeps on
        assert heard == [cid]
    finally:
        await watcher.stop()


async def test_a_signal_reaches_its_listeners_and_a_bad_one_is_ignored(redis: Redis) -> None:
    watcher = OutboxWatcher(redis)
    signals: asyncio.Queue[tuple[str, dict[str, object]]] = asyncio.Queue()

    cid = f"signalled-{uuid.uuid4().hex}"

    async def listener(signalled: str, signal: dict[str, object]) -> None:
        if signalled == cid:  # other tests' signals are heard too
            await signals.put((signalled, signal))

    watcher.add_signal_listener(listener)
    await _started(watcher, redis)
    try:
        await redis.publish(keys.USER_SIGNALS, "not json")
        await redis.publish(keys.USER_SIGNALS, json.dumps({"typing": "staff"}))  # no cid
        await redis.publish(keys.USER_SIGNALS, json.dumps({"cid": cid, "typing": "staff"}))
        assert await asyncio.wait_for(signals.get(), 5) == (cid, {"typing": "staff"})
        assert signals.empty()
    finally:
        await watcher.stop()


async def test_a_waiter_that_left_is_forgotten(redis: Redis) -> None:
    watcher = OutboxWatcher(redis)
    async with watcher.news("c1"):
        pass
    assert watcher._waiters == {}
