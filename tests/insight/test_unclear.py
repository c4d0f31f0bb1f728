"""The improvement loop's store: redacted on the way in, marked, exported once, purged."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from insight.unclear import MARKS, STREAM, Mark, UnclearQuestions, parse_mark


async def test_questions_are_redacted_marked_and_purged(redis: Redis) -> None:
    unclear = UnclearQuestions(redis, retention_seconds=0)
    await unclear.add("Mijn buurman Piet de Vries belt 06-12345678 over xyz", "fallback", "faq")
    (item,) = await unclear.items()
    assert "Piet" not in item["text"] and "12345678" not in item["text"]
    assert item["guess"] == "faq" and item["mark"] is None
    assert item["at"].endswith(":00")  # the time, to the hour

    assert await unclear.mark(item["id"], Mark("ignore"))
    assert not await unclear.mark("1-0", Mark("ignore"))  # no such question
    assert not await unclear.mark("../../etc", Mark("ignore"))
    assert (await unclear.items())[0]["mark"] == {"as": "ignore"}

    await asyncio.sleep(0.01)
    await unclear.purge()  # retention 0: everything is older than that
    assert await redis.xlen(STREAM) == 0 and not await redis.exists(MARKS)


def test_marks_must_be_complete() -> None:
    intents = {"opvoedvraag/slapen"}
    assert parse_mark({"as": "example", "intent": "opvoedvraag/slapen"}, intents) == Mark(
        "example", intent="opvoedvraag/slapen"
    )
    assert parse_mark({"as": "example", "intent": "greet"}, intents) is None
    assert parse_mark({"as": "topic", "note": "  zakgeld voor 18+  "}, intents) == Mark(
        "topic", note="zakgeld voor 18+"
    )
    assert parse_mark({"as": "delete"}, intents) is None
