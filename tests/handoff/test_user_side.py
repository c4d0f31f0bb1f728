"""The user side of a handoff over a real redis-server (handoff/user_side.py): asking for a
person, writing while waiting, stopping, leaving a message outside hours or with nobody online,
and the cap on what a waiting user adds."""

from __future__ import annotations

from redis.asyncio import Redis

from common.content import service_messages
from common.names import State
from common.payload import CANCEL, END
from handoff.presence import Presence
from handoff.service import HandoffService, Timing
from tests.handoff.conftest import (
    ALWAYS,
    ANNE,
    BRAM,
    HISTORY,
    REQUEST,
    hours_from,
    make_service,
    online,
    texts,
)


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


async def test_the_user_can_end_the_chat_with_staff(service: HandoffService) -> None:
    await online(service, "anne")
    await service.begin("c1", "api", REQUEST, [])
    conv = await service.conversation("c1")
    assert conv.hid and await service.claim(conv.hid, ANNE)
    (ended,) = await service.control("c1", await service.conversation("c1"), END)
    assert "beëindigd" in ended["text"]
    assert (await service.conversation("c1")).state == State.BOT


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
