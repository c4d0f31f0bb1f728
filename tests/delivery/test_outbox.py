"""The user's outbox (delivery/outbox.py), on the session's redis-server (database 33)."""

from __future__ import annotations

import asyncio
import uuid

from redis.asyncio import Redis

from delivery import keys
from delivery.outbox import OUTBOX_MAX, Outbox


async def test_replies_are_read_in_order_after_an_id(redis: Redis) -> None:
    outbox = Outbox(redis, 60)
    first, second = await outbox.push_all("c1", [{"text": "een"}, {"text": "twee"}])
    third = await outbox.push("c1", {"text": "drie"})
    found = await outbox.read("c1")
    assert [d.id for d in found] == [first, second, third]
    assert [d.reply["text"] for d in found] == ["een", "twee", "drie"]
    assert all(isinstance(d.reply["at"], int) for d in found)
    assert [d.reply["text"] for d in await outbox.read("c1", first)] == ["twee", "drie"]
    assert await outbox.read("c1", third) == []
    assert await outbox.read("c2") == []  # one stream per conversation
    assert 0 < await redis.ttl(keys.outbox("c1")) <= 60


async def test_a_mark_is_set_with_the_replies_in_one_transaction(redis: Redis) -> None:
    outbox = Outbox(redis, 60)
    await outbox.push_all("c1", [{"text": "een"}], also_set=("mark", "kept", 30))
    assert await redis.get("mark") == "kept"
    assert 0 < await redis.ttl("mark") <= 30
    assert await outbox.push_all("c1", [], also_set=("only", "1", 30)) == []  # no replies: mark
    assert await redis.get("only") == "1"
    assert await outbox.push_all("c1", []) == []


async def test_news_is_published_for_every_write(redis: Redis) -> None:
    """Pub/sub is the server's, not the database's: other tests' news is left aside."""
    outbox = Outbox(redis, 60)
    one, two, three = (f"news-{uuid.uuid4().hex}" for _ in range(3))
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(keys.OUTBOX_NEWS)
        await outbox.push(one, {"text": "een"})
        await outbox.push_many([(two, {"text": "plek 1"}), (three, {"text": "plek 2"})])
        heard: list[str] = []
        deadline = asyncio.get_running_loop().time() + 5
        while len(heard) < 3 and asyncio.get_running_loop().time() < deadline:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
            if message is not None and message["data"] in (one, two, three):
                heard.append(message["data"])
    assert heard == [one, two, three]
    assert [d.reply["text"] for d in await outbox.read(three)] == ["plek 2"]


async def test_an_outbox_keeps_about_its_newest_replies(redis: Redis) -> None:
    outbox = Outbox(redis, 60)
    await outbox.push_all("c1", [{"text": str(n)} for n in range(OUTBOX_MAX * 2)])
    kept = await redis.xlen(keys.outbox("c1"))
    assert OUTBOX_MAX <= kept < OUTBOX_MAX * 2  # trimmed (approximately, as Redis does)
    newest = await outbox.read("c1", "0", count=OUTBOX_MAX * 2)
    assert newest[-1].reply["text"] == str(OUTBOX_MAX * 2 - 1)
