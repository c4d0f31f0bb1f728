"""Handoff rules over a real redis-server: who is told what, timeouts, hours, ratings."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

from common.content import service_messages
from common.handoff_payload import HandoffRequest
from common.names import Reason, State
from common.payload import CANCEL, END, RATING
from delivery.outbox import Outbox
from handoff import keys
from handoff.presence import Presence
from handoff.service import HandoffService, Timing
from handoff.store import HandoffStore, now_ms
from tests.handoff.conftest import ALWAYS, ANNE, BRAM, hours_from, make_service

HISTORY: list[Any] = [
    ("user", "mijn dochter van 9 wil niet naar school"),
    ("bot", "Wat lastig."),
    ("user", "ik wil een medewerker"),
    ("bot", "Ik geef je vraag door aan een medewerker."),
]
REQUEST = HandoffRequest(
    Reason.ASK_HUMAN,
    context={"child_age": "9", "municipality": "haarlem", "topic": "schoolweigering"},
)


async def online(service: HandoffService, *names: str) -> None:
    for name in names:
        await service.heartbeat(name)


async def texts(redis: Redis, cid: str) -> list[str]:
    """What the user's outbox holds (the channels read it; the service only writes it)."""
    return [m["text"] for _, m in await Outbox(redis, 3600).read(cid)]


async def test_queued_with_position_summary_and_copied_transcript(service: HandoffService) -> None:
    await online(service, "anne")
    (reply,) = await service.begin("c1", "widget", REQUEST, HISTORY)
    assert "nummer 1" in reply["text"]
    assert reply["custom"]["handoff"] == {"event": "queue", "position": 1, "estimate_minutes": None}
    assert {"title": "Stoppen met wachten", "payload": CANCEL} in reply["buttons"]

    (waiting,) = await service.queue()
    summary = waiting.summary
    assert (summary["child_age"], summary["municipality"], summary["channel"]) == (
        "9",
        "haarlem",
        "widget",
    )
    assert summary["theme"] and summary["advised"] == ["Wat lastig."]
    roles = [e.role for e in await service.transcript(waiting.hid)]
    assert roles == ["user", "bot", "user", "bot"]  # the whole chat, for the transcript


async def test_messages_while_waiting_go_to_the_transcript(service: HandoffService) -> None:
    await online(service, "anne")
    await service.begin("c1", "api", REQUEST, [])
    conv = await service.conversation("c1")
    (ack,) = await service.user_message("c1", conv, "ben je er al?")
    assert "nummer 1" in ack["text"]
    assert conv.hid is not None
    assert [e.text for e in await service.transcript(conv.hid)] == ["ben je er al?"]


async def test_claim_send_close_and_rating(service: HandoffService, redis: Redis) -> None:
    await online(service, "anne")
    await service.begin("c1", "api", REQUEST, [])
    conv = await service.conversation("c1")
    assert conv.hid and await service.claim(conv.hid, ANNE)
    assert not await service.claim(conv.hid, BRAM)
    assert await service.send(conv.hid, ANNE, "Hoi, ik ben Anne.") is not None
    assert await service.send(conv.hid, BRAM, "Ik ook!") is None  # not Bram's conversation

    assert await service.close(conv.hid, ANNE, {"topic": "school_leren", "outcome": "advies"})
    said = await texts(redis, "c1")
    assert said[0].startswith("Anne van het CJG is er nu")
    assert said[1] == "Hoi, ik ben Anne."
    assert "afgesloten" in said[2] and "tevreden" in said[3]

    thanks, enough = await service.control("c1", await service.conversation("c1"), f"{RATING}4")
    assert "Dank" in thanks["text"]
    assert enough["text"].startswith("Heb je hier genoeg aan")  # the next question, after it
    record = await service.record(conv.hid)
    assert (
        record is not None
        and record.rating == 4
        and record.registration
        == {
            "topic": "school_leren",
            "outcome": "advies",
        }
    )
    # a second rating for the same chat is not counted twice
    (again,) = await service.control("c1", await service.conversation("c1"), f"{RATING}1")
    assert "knop" in again["text"]


async def test_cancel_while_waiting_and_others_move_up(
    service: HandoffService, redis: Redis
) -> None:
    await online(service, "anne")
    await service.begin("first", "api", REQUEST, [])
    await service.begin("second", "api", REQUEST, [])
    (bye,) = await service.control("first", await service.conversation("first"), CANCEL)
    assert bye["custom"]["handoff"]["event"] == "cancelled"
    assert (await service.conversation("first")).state == State.BOT
    assert any("nu nummer 1" in t for t in await texts(redis, "second"))


async def test_the_user_can_end_the_chat_with_staff(service: HandoffService) -> None:
    await online(service, "anne")
    await service.begin("c1", "api", REQUEST, [])
    conv = await service.conversation("c1")
    assert conv.hid and await service.claim(conv.hid, ANNE)
    (ended,) = await service.control("c1", await service.conversation("c1"), END)
    assert "beëindigd" in ended["text"]
    assert (await service.conversation("c1")).state == State.BOT


async def test_a_silent_claim_goes_back_to_the_front_with_a_note(redis: Redis) -> None:
    service = make_service(redis, silent_seconds=0.2)
    await online(service, "anne")
    await service.begin("c1", "api", REQUEST, [])
    await service.begin("c2", "api", REQUEST, [])
    conv = await service.conversation("c1")
    assert conv.hid and await service.claim(conv.hid, ANNE)
    assert await service.sweep() == 0
    await asyncio.sleep(0.3)
    await online(service, "anne")  # Anne is connected, but said nothing
    assert await service.sweep() == 1
    assert (await service.queue())[0].hid == conv.hid
    assert "verbroken" in (await texts(redis, "c1"))[-1]


async def test_a_disconnected_staff_member_loses_the_claim(redis: Redis) -> None:
    service = make_service(redis, presence_s=0.2)
    await online(service, "anne")
    await service.begin("c1", "api", REQUEST, [])
    conv = await service.conversation("c1")
    assert conv.hid and await service.claim(conv.hid, ANNE)
    await asyncio.sleep(0.3)  # no heartbeat from Anne's console
    assert await service.sweep() == 1
    assert (await service.conversation("c1")).state == State.WAITING


async def test_outside_hours_a_message_is_left_and_answered(redis: Redis) -> None:
    service = make_service(redis, open_hours=False)
    await online(service, "anne")
    (offer,) = await service.begin("c1", "telegram", REQUEST, HISTORY)
    assert "gesloten" in offer["text"] and "vanaf" in offer["text"]
    conv = await service.conversation("c1")
    assert conv.state == State.LEAVING_MESSAGE
    (kept,) = await service.leave_message("c1", "telegram", "Kunnen jullie me terugbellen?")
    assert "bewaard" in kept["text"]
    assert (await service.conversation("c1")).state == State.BOT

    (left,) = await service.left_messages()
    assert left.summary["child_age"] == "9"  # the summary survives the wait
    assert await service.answer_message(left.hid, ANNE, "Ja hoor, morgen om 10 uur.")
    assert not await service.answer_message(left.hid, BRAM, "Ik ook")
    assert (await texts(redis, "c1"))[-1] == (
        "Antwoord van Anne (CJG) op je bericht: Ja hoor, morgen om 10 uur."
    )


async def test_with_nobody_online_a_message_can_be_left(service: HandoffService) -> None:
    (offer,) = await service.begin("c1", "api", REQUEST, [])
    assert "geen medewerker vrij" in offer["text"]
    (back,) = await service.control("c1", await service.conversation("c1"), CANCEL)
    assert "geen bericht" in back["text"]
    assert (await service.conversation("c1")).state == State.BOT


async def test_wait_estimate_follows_handling_time(
    service: HandoffService, store: HandoffStore
) -> None:
    await online(service, "anne")
    await service.begin("done", "api", REQUEST, [])
    conv = await service.conversation("done")
    assert conv.hid and await service.claim(conv.hid, ANNE)
    await store.set_fields(conv.hid, {"claimed_at": "0"})  # handled for a long time
    await service.close(conv.hid, ANNE, {"topic": "anders", "outcome": "advies"})
    (reply,) = await service.begin("next", "api", REQUEST, [])
    assert reply["custom"]["handoff"]["estimate_minutes"] > 0
    assert "ongeveer" in reply["text"]


async def test_the_retention_purge_deletes_what_is_older_than_the_retention_time(
    redis: Redis,
) -> None:
    service = make_service(redis)  # retention: one hour
    await service.heartbeat("anne")
    hids = []
    for cid in ("purge-old", "purge-new"):
        await service.begin(cid, "api", HandoffRequest(Reason.ASK_HUMAN), [("user", "hallo")])
        hid = (await service.conversation(cid)).hid
        assert hid and await service.claim(hid, ANNE)
        assert await service.close(hid, ANNE, {"topic": "anders"})
        hids.append(hid)
    old, new = hids
    two_hours_ago = now_ms() - 2 * 3600 * 1000
    await redis.zadd(keys.CLOSED, {old: two_hours_ago})  # as if it closed long ago

    assert await service.purge() == 1
    assert await service.record(old) is None and not await service.transcript(old)
    assert [h.hid for h in await service.history()] == [new]
    assert await service.record(new) is not None


async def test_what_a_waiting_user_adds_is_capped_and_the_user_is_told(redis: Redis) -> None:
    capped = HandoffService(
        redis,
        service_messages(),
        Presence(redis, 45),
        lambda: hours_from(ALWAYS),
        Timing(600, 3600, waiting_max_messages=3, waiting_max_bytes=100),
    )
    await online(capped, "anne")
    await capped.begin("c1", "api", REQUEST, HISTORY)
    conv = await capped.conversation("c1")
    assert conv.hid is not None
    for text in ("een", "twee", "drie"):
        (ack,) = await capped.user_message("c1", conv, text)
        assert "nummer 1" in ack["text"]
    (full,) = await capped.user_message("c1", conv, "vier")
    assert full["text"].startswith("Je bericht is niet meer toegevoegd")
    assert full["custom"] == {"service": "waiting_full"}
    said = [e.text for e in await capped.transcript(conv.hid)]
    assert said == [text for _, text in HISTORY] + ["een", "twee", "drie"]  # nothing else

    # A claim starts afresh; the cap is for waiting only. Bytes count too (UTF-8).
    assert await capped.claim(conv.hid, ANNE)
    assert await capped.release(conv.hid, ANNE)
    conv = await capped.conversation("c1")
    (ack,) = await capped.user_message("c1", conv, "é" * 50)  # 100 bytes: just fits
    assert "nummer 1" in ack["text"]
    (full,) = await capped.user_message("c1", conv, "x")
    assert full["custom"] == {"service": "waiting_full"}
