"""The state machine against a real redis-server: atomic transitions, fair order, races."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from common.names import State
from delivery.outbox import Outbox
from handoff import keys
from handoff.store import HandoffStore, StaffReply, now_ms
from handoff.transcript import Transcript
from tests.conftest import RedisServer


async def queued(store: HandoffStore, cid: str, urgent: bool = False) -> str:
    hid, created = await store.enqueue(cid, "api", reason="ask_human", urgent=urgent, summary={})
    assert created
    return hid


def reply(
    hid: str, staff: str, text: str, at: int, message: str, reply_id: str | None = None
) -> StaffReply:
    """A reply as the staff side sends it (the name shown is the username, capitalised)."""
    return StaffReply(
        hid=hid,
        staff=staff,
        name=staff.capitalize(),
        text=text,
        at=at,
        message=message,
        outbox_max=500,
        reply_id=reply_id,
    )


async def test_bot_waiting_with_staff_and_back_to_bot(store: HandoffStore) -> None:
    assert (await store.conversation("c1")).state == State.BOT
    hid = await queued(store, "c1")
    assert (await store.conversation("c1")).state == State.WAITING
    assert await store.position(hid) == 1

    assert await store.claim(hid, "anne")
    conv = await store.conversation("c1")
    assert (conv.state, conv.hid) == (State.WITH_STAFF, hid)
    assert await store.position(hid) is None

    assert await store.close(hid, "anne", {"registration": "{}"})
    assert (await store.conversation("c1")).state == State.BOT
    assert [h.hid for h in await store.history()] == [hid]


async def test_asking_twice_keeps_one_place_in_the_queue(store: HandoffStore) -> None:
    hid = await queued(store, "c1")
    again, created = await store.enqueue("c1", "api", reason="fallback", urgent=False, summary={})
    assert (again, created) == (hid, False)
    assert len(await store.queue()) == 1


async def test_urgent_first_then_first_come_first_served(store: HandoffStore) -> None:
    first = await queued(store, "a")
    second = await queued(store, "b")
    urgent = await queued(store, "c", urgent=True)
    assert [h.hid for h in await store.queue()] == [urgent, first, second]


async def test_a_safety_signal_moves_a_waiting_chat_among_the_urgent_ones(
    store: HandoffStore,
) -> None:
    urgent = await queued(store, "a", urgent=True)
    first = await queued(store, "b")
    second = await queued(store, "c")
    assert await store.escalate(second, "Gedachten aan zelfdoding")
    assert [h.hid for h in await store.queue()] == [urgent, second, first]
    escalated = await store.get(second)
    assert escalated is not None and escalated.urgent
    assert not await store.escalate(second, "Gedachten aan zelfdoding")  # one alarm per handoff
    assert [h.hid for h in await store.queue()] == [urgent, second, first]
    assert not await store.escalate("no-such-hid", "x")


async def test_twenty_staff_claiming_at_once_give_exactly_one_winner(store: HandoffStore) -> None:
    hid = await queued(store, "c1")
    results = await asyncio.gather(*(store.claim(hid, f"staff{i}") for i in range(20)))
    assert sum(results) == 1
    winner = f"staff{results.index(True)}"
    handoff = await store.get(hid)
    assert handoff is not None and handoff.staff == winner


async def test_cancel_racing_a_claim_has_exactly_one_outcome(store: HandoffStore) -> None:
    for round_ in range(30):
        cid = f"race{round_}"
        hid = await queued(store, cid)
        claimed, cancelled = await asyncio.gather(store.claim(hid, "anne"), store.cancel(cid, hid))
        assert claimed != cancelled
        state = (await store.conversation(cid)).state
        assert state == (State.WITH_STAFF if claimed else State.BOT)
        assert await store.position(hid) is None


async def test_release_returns_to_the_old_place(store: HandoffStore) -> None:
    first = await queued(store, "a")
    second = await queued(store, "b")
    assert await store.claim(first, "anne")
    third = await queued(store, "c")
    assert not await store.release(first, "bram")  # not Bram's to release
    assert await store.release(first, "anne")
    assert [h.hid for h in await store.queue()] == [first, second, third]
    handoff = await store.get(first)
    assert handoff is not None and handoff.staff is None and handoff.state == "waiting"


async def test_a_fresh_staff_reply_beats_the_silence_timeout(store: HandoffStore) -> None:
    hid = await queued(store, "c1")
    assert await store.claim(hid, "anne")
    stale_before = now_ms() - 1
    await asyncio.sleep(0.01)
    await store.touch(hid)  # Anne just typed
    assert not await store.release(hid, "anne", stale_before=stale_before)
    assert await store.release(hid, "anne", stale_before=now_ms() + 1)


async def test_the_relay_scripts_write_everything_or_nothing(
    store: HandoffStore, redis: Redis
) -> None:
    """A user's text and a staff reply are each one script: transcript, outbox and the staff
    feed's event (as ``events.publish`` would send it) together; a reply by someone who does
    not have the chat (any more) writes nothing at all."""
    hid = await queued(store, "c1")
    assert await store.claim(hid, "anne")
    await redis.set(keys.staff_typing("c1"), "1")
    feed = redis.pubsub(ignore_subscribe_messages=True)
    await feed.subscribe(keys.EVENTS)
    try:
        said = await store.say(hid, "user", "hallo / é", 1_796_000_000_123)
        replied = await store.reply(reply(hid, "anne", "dag", 1_796_000_000_456, '{"text": "dag"}'))
        assert await store.reply(reply(hid, "bram", "ik ook", now_ms(), "{}")) is None
        events: list[dict[str, Any]] = []
        deadline = asyncio.get_running_loop().time() + 10
        while len(events) < 2:  # None also for the subscription's own confirmation
            assert asyncio.get_running_loop().time() < deadline, f"events: {events}"
            message = await feed.get_message(ignore_subscribe_messages=True, timeout=1)
            if message is not None:
                events.append(json.loads(message["data"]))
    finally:
        await feed.aclose()  # type: ignore[no-untyped-call]
    assert replied is not None and replied[1] == "c1"
    assert events == [
        {"type": "message", "hid": hid, "state": "with_staff", "staff": "anne",
         "entry": {"id": said, "role": "user", "text": "hallo / é", "at": 1_796_000_000_123,
                   "staff": None}},
        {"type": "message", "hid": hid, "state": "with_staff", "staff": "anne",
         "entry": {"id": replied[0], "role": "staff", "text": "dag", "at": 1_796_000_000_456,
                   "staff": "Anne"}},
    ]  # fmt: skip
    transcript = await Transcript(redis, 3600).read(hid)
    assert [(e.role, e.text, e.staff) for e in transcript] == [
        ("user", "hallo / é", None),
        ("staff", "dag", "Anne"),
    ]
    outbox = await Outbox(redis, 3600).read("c1")
    assert [message for _, message in outbox] == [{"text": "dag", "at": 1_796_000_000_456}]
    assert not await redis.exists(keys.staff_typing("c1"))
    assert await redis.zscore(keys.CLAIMS, hid) == 1_796_000_000_456


async def test_a_reply_sent_again_with_its_id_is_kept_once(
    store: HandoffStore, redis: Redis
) -> None:
    """The console's answer was lost (a proxy restart) and it sends the reply again with the
    same id: one transcript entry, one message for the user, and the first entry's id."""
    hid = await queued(store, "c1")
    assert await store.claim(hid, "anne")
    first = await store.reply(reply(hid, "anne", "dag", 1, '{"text": "dag"}', "r-12345678"))
    again = await store.reply(reply(hid, "anne", "dag", 2, '{"text": "dag"}', "r-12345678"))
    other = await store.reply(reply(hid, "anne", "dag", 3, '{"text": "dag"}', "r-87654321"))
    assert first is not None and again is not None and other is not None
    assert (first[2], again[2], other[2]) == (False, True, False)
    assert again[0] == first[0] != other[0]
    assert [e.text for e in await Transcript(redis, 3600).read(hid)] == ["dag", "dag"]
    assert len(await Outbox(redis, 3600).read("c1")) == 2
    # Someone else's reply with the same id is their own (the id is per staff member).
    assert await store.reply(reply(hid, "bram", "x", 4, "{}", "r-12345678")) is None


async def test_transfer_needs_the_current_owner(store: HandoffStore) -> None:
    hid = await queued(store, "c1")
    assert await store.claim(hid, "anne")
    assert not await store.transfer(hid, "bram", "carla")
    assert await store.transfer(hid, "anne", "bram")
    assert not await store.close(hid, "anne")
    assert await store.close(hid, "bram")


async def test_the_user_can_end_a_chat_with_staff(store: HandoffStore) -> None:
    hid = await queued(store, "c1")
    assert await store.claim(hid, "anne")
    assert await store.close(hid, None, {"closed_by": "user"})
    assert (await store.conversation("c1")).state == State.BOT


async def test_a_left_message_is_answered_once(store: HandoffStore) -> None:
    hid = await store.leave_message("c1", "telegram", {"reason": "left_message"})
    assert [h.hid for h in await store.left_messages()] == [hid]
    results = await asyncio.gather(
        store.answer_message(hid, "anne"), store.answer_message(hid, "bram")
    )
    assert sorted(results) == [False, True]
    assert await store.left_messages() == []


async def test_everything_has_a_retention_time(store: HandoffStore, redis: Redis) -> None:
    hid = await queued(store, "c1")
    assert 0 < await redis.ttl(f"cjg:handoff:{hid}") <= 3600
    assert 0 < await redis.ttl("cjg:conv:c1") <= 3600


async def test_a_redis_restart_loses_no_waiting_conversation(tmp_path: Path) -> None:
    """AOF on: a waiting conversation and its messages survive a restart of redis-server."""
    server = RedisServer(tmp_path)
    server.start()
    try:
        redis = Redis.from_url(server.url(), decode_responses=True)
        store = HandoffStore(redis, retention_seconds=3600)
        hid = await queued(store, "c1", urgent=True)
        transcript = Transcript(redis, 3600)
        await transcript.append(hid, "user", "is er iemand?")
        await redis.aclose()
        server.stop()  # SIGTERM: Redis writes its append-only file and stops
        server.start()
        redis = Redis.from_url(server.url(), decode_responses=True)
        store = HandoffStore(redis, retention_seconds=3600)
        assert [h.hid for h in await store.queue()] == [hid]
        assert (await store.conversation("c1")).state == State.WAITING
        assert [e.text for e in await Transcript(redis, 3600).read(hid)] == ["is er iemand?"]
        assert await store.claim(hid, "anne")
        await redis.aclose()
    finally:
        server.stop()


async def test_erase_deletes_every_handoff_of_the_conversation(
    store: HandoffStore, redis: Redis
) -> None:
    hid = await queued(store, "c1")
    assert await store.claim(hid, "anne")
    assert await store.close(hid, "anne")
    left = await store.leave_message("c1", "api", {})
    other = await queued(store, "c2")
    assert await store.erase("c1") == 2
    assert not await redis.exists(f"cjg:handoff:{hid}", f"cjg:handoff:{left}", "cjg:conv:c1")
    assert [h.hid for h in await store.history()] == []
    assert [h.hid for h in await store.queue()] == [other]  # other people's chats stay
