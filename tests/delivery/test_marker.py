"""One read-marker model (delivery/marker.py), on the session's redis-server (database 33)."""

from __future__ import annotations

from redis.asyncio import Redis

from delivery.marker import START, HeldMarker, Reader, StoredMarker
from delivery.outbox import Outbox


async def test_a_held_marker_reads_only_what_came_after_it(redis: Redis) -> None:
    outbox = Outbox(redis, 60)
    first, second = await outbox.push_all("c1", [{"text": "een"}, {"text": "twee"}])
    marker = HeldMarker()
    reader = Reader(outbox, "c1", marker)
    assert [d.id for d in await reader.unread()] == [first, second]
    await reader.delivered(first)
    assert marker.after == first  # the API answers it as ``next``
    assert [d.id for d in await reader.unread()] == [second]
    assert await reader.waiting()
    await reader.delivered(second)
    assert not await reader.waiting()
    assert await outbox.read("c1") != []  # reading drops nothing


async def test_a_client_held_marker_starts_where_the_client_says(redis: Redis) -> None:
    outbox = Outbox(redis, 60)
    first, second = await outbox.push_all("c1", [{"text": "een"}, {"text": "twee"}])
    found = await Reader(outbox, "c1", HeldMarker(first)).unread()
    assert [d.reply["text"] for d in found] == ["twee"]
    assert await Reader(outbox, "c1", HeldMarker(second)).unread() == []


async def test_acknowledged_replies_leave_the_outbox(redis: Redis) -> None:
    """Dropped as Redis trims (whole nodes of the stream, ``XTRIM MINID ~``): never one after
    the acknowledged id."""
    outbox = Outbox(redis, 60)
    ids = await outbox.push_all("c1", [{"text": str(n)} for n in range(250)])
    await Reader(outbox, "c1", HeldMarker()).acknowledged(ids[199])
    left = [d.id for d in await Reader(outbox, "c1", HeldMarker()).unread(count=300)]
    assert left[-50:] == ids[200:]
    assert len(left) < 200


async def test_a_stored_marker_is_kept_for_any_instance(redis: Redis) -> None:
    outbox = Outbox(redis, 60)
    first, second = await outbox.push_all("c1", [{"text": "een"}, {"text": "twee"}])
    one = Reader(outbox, "c1", StoredMarker(redis, "marker:c1", 30))
    assert await one.marker.get() == START
    await one.delivered(first)
    assert await redis.get("marker:c1") == first
    assert 0 < await redis.ttl("marker:c1") <= 30
    other = Reader(outbox, "c1", StoredMarker(redis, "marker:c1", 30))  # another instance
    assert [d.id for d in await other.unread(count=5)] == [second]
    await other.delivered(second)
    assert not await other.waiting()


async def test_a_stored_marker_is_read_once_per_reader(redis: Redis) -> None:
    """One round of sends reads the mark once: what it set itself is what it goes on from."""
    marker = StoredMarker(redis, "marker:c2", 30)
    assert await marker.get() == START
    await redis.set("marker:c2", "5-0")  # another instance, after this one began
    assert await marker.get() == START
    assert await StoredMarker(redis, "marker:c2", 30).get() == "5-0"
