"""The "Heb je hier genoeg aan?" question (handoff/enough.py) over a real redis-server: when it
is asked, that one answer counts, and what comes with it. The whole path through Rasa, the
figures and the report is in tests/insight/test_enough.py."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from base.registrar import Fact, Registrar, open_record
from common.handoff_payload import HandoffRequest
from common.names import Reason
from common.payload import ENOUGH
from handoff.enough import CRISIS, EnoughQuestion, asks_after, enough_texts

TOPIC = [Fact("outcome", "topic_answered")]
ANSWER: list[dict[str, Any]] = [
    {
        "text": "Zo kun je het slapen makkelijker maken.",
        "buttons": [
            {"title": "Praat met een medewerker", "payload": "/ask_human"},
            {"title": "Lees meer", "payload": "https://www.cjgkennemerland.nl"},
        ],
    }
]


def question(redis: Redis) -> EnoughQuestion:
    return EnoughQuestion(redis, Registrar(redis), retention_seconds=3600)


async def test_asked_once_after_a_sure_answer_with_its_buttons_kept(redis: Redis) -> None:
    enough = question(redis)
    asked = await enough.after_bot("c1", TOPIC, ANSWER)
    assert asked is not None and asked["text"] == enough_texts().question
    payloads = [b["payload"] for b in asked["buttons"]]
    assert payloads == [f"{ENOUGH}ja", f"{ENOUGH}beetje", f"{ENOUGH}nee", "/ask_human"]
    assert await enough.after_bot("c1", TOPIC, ANSWER) is None  # once per conversation


async def test_not_asked_when_unsure_handing_off_or_after_a_crisis_card(redis: Redis) -> None:
    enough = question(redis)
    unsure = [{"text": "Ging het over iets anders?", "buttons": [{"payload": "/opvoedvraag{}"}]}]
    request = HandoffRequest(Reason.ASK_HUMAN)
    handoff = [{"text": "Ik zoek een medewerker.", "custom": request.to_custom()}]
    assert await enough.after_bot("c1", TOPIC, unsure) is None
    assert await enough.after_bot("c1", TOPIC, handoff) is None
    assert await enough.after_bot("c1", [Fact("outcome", "fallback")], ANSWER) is None
    await redis.hset(open_record("c2"), CRISIS, "1")
    assert await enough.after_bot("c2", TOPIC, ANSWER) is None


def test_divorce_offers_count_as_an_answer_other_offers_do_not() -> None:
    shown = Fact("outcome", "offers_shown")
    assert asks_after([shown, Fact("offer_theme", "scheiden")])
    assert not asks_after([shown, Fact("offer_theme", "opvoeden")])
    assert asks_after([Fact("outcome", "divorce_info")])


async def test_one_answer_counts_and_not_enough_gets_a_person_one_tap_away(redis: Redis) -> None:
    enough, texts = question(redis), enough_texts()
    assert await enough.after_bot("c1", TOPIC, ANSWER) is not None
    thanks = await enough.answer("c1", f"{ENOUGH}nee")
    assert thanks["text"] == texts.thanks["nee"]
    assert thanks["buttons"] == [{"title": texts.person_button, "payload": "/ask_human"}]
    again = await enough.answer("c1", f"{ENOUGH}ja")
    assert (again["text"], again["custom"]) == (texts.already, {"feedback": "enough_already"})


async def test_after_a_staff_chat_the_question_waits_for_the_rating(redis: Redis) -> None:
    enough = question(redis)
    assert await enough.after_rating("c1") == []
    await enough.wait_after_rating("c1")
    assert await enough.after_rating("c1") == [enough.message()]
    thanks = await enough.answer("c1", f"{ENOUGH}ja")
    assert "buttons" not in thanks  # enough: no person offered
    assert await enough.after_rating("c1") == []  # answered: not asked again
