"""The staff side of a handoff over a real redis-server (handoff/staff_side.py): claim, reply,
note, transfer, release and close, and who may do each."""

from __future__ import annotations

from redis.asyncio import Redis

from common.names import State
from common.payload import RATING
from handoff.service import HandoffService
from tests.handoff.conftest import ANNE, BRAM, REQUEST, online, texts


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


async def test_a_note_stays_internal_and_a_transfer_and_release_need_the_owner(
    service: HandoffService, redis: Redis
) -> None:
    """A note is in the transcript for colleagues, never in the user's outbox; only the one
    who has the chat can pass it on or put it back, and the user is told each time; released,
    the chat is first in the queue again (its old place)."""
    await online(service, "anne", "bram")
    await service.begin("c1", "api", REQUEST, [])
    await service.begin("c2", "api", REQUEST, [])
    hid = (await service.conversation("c1")).hid
    assert hid and await service.claim(hid, ANNE)
    note = await service.note(hid, ANNE, "Belt morgen zelf terug.")
    assert note is not None and (note.role, note.staff) == ("note", "Anne")
    assert "Belt morgen zelf terug." not in await texts(redis, "c1")

    assert not await service.transfer(hid, BRAM, ANNE)  # not Bram's to pass on
    assert await service.transfer(hid, ANNE, BRAM)
    record = await service.record(hid)
    assert record is not None and record.staff == "bram"
    assert (await texts(redis, "c1"))[-1].startswith("Je gesprek gaat verder met Bram")

    assert not await service.release(hid, ANNE)  # Anne has it no longer
    assert await service.release(hid, BRAM)
    assert (await service.conversation("c1")).state == State.WAITING
    assert (await service.queue())[0].hid == hid
    assert "wachtrij als nummer 1" in (await texts(redis, "c1"))[-1]
    said = [(e.role, e.text) for e in await service.transcript(hid)]
    assert ("note", "Belt morgen zelf terug.") in said
    assert ("system", "Overgedragen aan Bram.") in said
