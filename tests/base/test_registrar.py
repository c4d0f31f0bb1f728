"""The registrar (base/registrar.py) on a real Redis: one count per conversation, derived
outcomes, the idle flush."""

from __future__ import annotations

from datetime import UTC, datetime

from redis.asyncio import Redis

from base.registrar import (
    HOUR_PREFIX,
    OPEN,
    Fact,
    Registrar,
    bucket,
    open_record,
    outcome,
)
from insight.figures import Query, figures


def today() -> Query:
    day = datetime.now(UTC).date()
    return Query(day, day)


async def counters(redis: Redis) -> dict[str, int]:
    found: dict[str, int] = {}
    async for key in redis.scan_iter(f"{HOUR_PREFIX}*"):
        for name, value in (await redis.hgetall(key)).items():
            found[str(name)] = found.get(str(name), 0) + int(value)
    return found


async def test_a_conversation_counts_once_with_everything_learned(redis: Redis) -> None:
    registrar = Registrar(redis, idle_seconds=0)
    await registrar.note("c1", "widget")
    await registrar.note("c1", "widget", [outcome("topic_answered"), Fact("topic", "slapen", True)])
    await registrar.note("c1", "widget", [Fact("municipality", "haarlem")])
    await registrar.note("c1", "widget", [outcome("topic_answered"), Fact("topic", "eten", True)])

    assert await registrar.flush_idle() == 1
    found = await counters(redis)
    assert found["widget|haarlem|conversations|all"] == 1
    assert found["widget|haarlem|topic|slapen"] == 1 and found["widget|haarlem|topic|eten"] == 1
    assert found["widget|haarlem|theme|opvoeden_jong"] == 1  # two topics of one theme
    assert found["widget|haarlem|outcome|bot_answered"] == 1
    assert found["widget|haarlem|anonymous|yes"] == 1
    assert not await redis.exists(open_record("c1")) and not await redis.zcard(OPEN)
    assert await registrar.flush_idle() == 0  # nothing is counted twice


async def test_a_conversation_with_staff_is_not_counted_until_it_is_over(redis: Redis) -> None:
    busy = {"c2": True}

    async def is_busy(cid: str) -> bool:
        return busy.get(cid, False)

    registrar = Registrar(redis, idle_seconds=0, busy=is_busy)
    await registrar.note("c2", "telegram", [outcome("handed_off")])
    assert await registrar.flush_idle() == 0
    await registrar.note_first("c2", Fact("wait_seconds", "95"))
    await registrar.note_first("c2", Fact("wait_seconds", "400"))  # a second pickup: first wins
    await registrar.note("c2", "telegram", [Fact("handle_seconds", "700"), Fact("rating", "4")])
    busy["c2"] = False
    assert await registrar.flush_idle() == 1

    found = await counters(redis)
    assert found["telegram|onbekend|wait|120"] == 1  # 95 s falls in the "up to 120 s" bucket
    assert found["telegram|onbekend|handle|900"] == 1
    assert found["telegram|onbekend|rating|4"] == 1
    assert "telegram|onbekend|outcome|bot_answered" not in found  # a person answered


async def test_a_late_rating_counts_without_a_second_conversation(redis: Redis) -> None:
    registrar = Registrar(redis, idle_seconds=0)
    await registrar.note("c3", "api", [outcome("handed_off")])
    await registrar.flush("c3")
    assert not await registrar.note_if_open("c3", [Fact("rating", "5")])
    figures_now = await figures(redis, today())
    assert figures_now["totals"]["conversations"] == 1
    assert figures_now["ratings"] == {
        "count": 1,
        "average": 5.0,
        "distribution": [{"score": n, "count": int(n == 5)} for n in range(1, 6)],
    }


async def test_derived_outcomes() -> None:
    def outcomes(record: dict[str, str]) -> set[str]:
        return {v for m, v in Registrar.metrics(record) if m == "outcome"}

    assert "divorce_info" in outcomes(
        {"topic:scheiding_vertellen": "x", "outcome:topic_answered": "x"}
    )
    assert "divorce_info" in outcomes({"offer_theme": "scheiden", "outcome:offers_shown": "x"})
    crisis = {"outcome:topic_answered": "x", "outcome:crisis_card": "x"}
    assert "bot_answered" not in outcomes(crisis)  # a person was needed
    assert "referred" in outcomes({"referral": "poh_jeugd", "outcome:handed_off": "x"})
    themes = {v for m, v in Registrar.metrics(crisis) if m == "theme"}
    assert themes == {"veiligheid"}
    assert ("anonymous", "yes") not in Registrar.metrics({"personal": "1"})


async def test_time_buckets_and_percentiles(redis: Redis) -> None:
    assert bucket(30, (30, 60)) == "30" and bucket(31, (30, 60)) == "60"
    assert bucket(61, (30, 60)) == ">60"
    registrar = Registrar(redis, idle_seconds=0)
    for n, wait in enumerate([10, 20, 50, 100, 4000]):
        await registrar.note(f"w{n}", "api", [outcome("handed_off")])
        await registrar.note_first(f"w{n}", Fact("wait_seconds", str(wait)))
    await registrar.flush_idle()
    waiting = (await figures(redis, today()))["waiting"]
    assert waiting["count"] == 5
    assert waiting["p50_seconds"] == 60  # the third of five is in the "up to 60 s" bucket
    assert waiting["p99_seconds"] == 3600  # the open-ended bucket reports its lower bound


async def test_a_mark_is_noted_once_and_not_after_what_forbids_it(redis: Redis) -> None:
    """What "Heb je hier genoeg aan?" (handoff/enough.py) relies on: asked once per
    conversation, and never after the crisis card."""
    registrar = Registrar(redis)
    await registrar.note("c1", "widget")
    assert await registrar.note_once("c1", "enough_asked", unless="outcome:crisis_card")
    assert not await registrar.note_once("c1", "enough_asked", unless="outcome:crisis_card")
    await registrar.note("c2", "widget", [outcome("crisis_card")])
    assert not await registrar.note_once("c2", "enough_asked", unless="outcome:crisis_card")
    assert await redis.hget(open_record("c2"), "enough_asked") is None
