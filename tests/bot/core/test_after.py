"""What the assistant's answer sets off (bot/core/after.py, bot/core/handoffs.py): youth mode,
the crisis intent, registration for the figures, unclear questions, "Heb je hier genoeg aan?",
counted offer links and a handoff request. Each is taken out of Rasa's replies or added to them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from base.registrar import open_record
from common.address import YOUTH_MARK
from common.handoff_payload import HandoffRequest
from common.names import Reason
from common.offers import catalogue
from common.payload import ENOUGH
from common.registration import tag
from common.safety import nlu_signal_payload
from insight.unclear import UnclearQuestions
from tests.bot.core.conftest import PUBLIC_URL, Core
from tests.conftest import RedisServer
from tests.redis_db import fresh_db

TEST_DB = 38  # this module's own database, flushed before each test


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    async with fresh_db(redis_server, TEST_DB) as client:
        yield client


async def test_a_registration_note_is_counted_and_not_shown(core: Core, redis: Redis) -> None:
    note = tag(outcome="faq_answered", user_type="parent")
    core.rasa.answer = [{"text": "Het CJG is er voor ouders."}, {"custom": note}]
    replies = await core.say("wat is het cjg?")
    assert [m.get("text") for m in replies] == ["Het CJG is er voor ouders."]
    record = await redis.hgetall(open_record(core.cid()))
    assert "outcome:faq_answered" in record and record["user_type"] == "parent"


async def test_a_sure_topic_answer_is_followed_by_the_enough_question(core: Core) -> None:
    note = tag(outcome="topic_answered", topic="slapen")
    core.rasa.answer = [{"text": "Over slapen ..."}, {"custom": note}]
    replies = await core.say("mijn zoon slaapt slecht")
    assert replies[0].get("text") == "Over slapen ..."
    assert any(b["payload"].startswith(ENOUGH) for b in replies[-1].get("buttons", []))


async def test_a_question_the_bot_did_not_understand_is_kept_redacted(
    core: Core, redis: Redis
) -> None:
    core.rasa.answer = [{"text": "Dat snap ik niet."}, {"custom": tag(outcome="not_understood")}]
    await core.say("Jan Jansen vraagt iets over de blokfluit")
    (item,) = await UnclearQuestions(redis, 3600).items()
    assert item["kind"] == "fallback" and "blokfluit" in item["text"]
    assert "Jansen" not in item["text"]


async def test_an_empty_answer_still_gets_a_reply_and_is_kept_as_unclear(
    core: Core, redis: Redis
) -> None:
    core.rasa.answer = []  # Rasa had nothing to say (the action server answers: no health URL)
    replies = await core.say("0")
    assert [m.get("custom") for m in replies] == [{"service": "no_answer"}]
    (item,) = await UnclearQuestions(redis, 3600).items()
    assert item["text"] == "0"


async def test_the_crisis_intent_gets_the_card_and_an_urgent_handoff(core: Core) -> None:
    core.rasa.answer = [{"custom": nlu_signal_payload(0.97)}]
    replies = await core.say("het gaat echt niet meer thuis")
    assert "crisis" in replies[0].get("custom", {})
    (queued,) = await core.handoff.queue()
    assert queued.urgent and queued.reason == Reason.SAFETY


async def test_a_youth_is_noted_and_the_mark_is_not_shown(core: Core) -> None:
    core.rasa.answer = [{"text": "Hoi! Fijn dat je er bent."}, {"custom": YOUTH_MARK}]
    replies = await core.say("ik ben 14")
    assert [m.get("text") for m in replies] == ["Hoi! Fijn dat je er bent."]
    assert await core.core.address.is_youth(core.cid())


async def test_an_offers_link_goes_through_the_counting_redirect(core: Core) -> None:
    offer = catalogue().offers[0]
    more = {"title": "Meer weten", "payload": offer.link}
    core.rasa.answer = [{"text": offer.title, "buttons": [more]}, {"custom": {"offer": offer.id}}]
    (shown,) = await core.say("welke cursussen zijn er?")
    assert shown["buttons"][0]["payload"] == f"{PUBLIC_URL}/go/{offer.id}?via=api"


async def test_a_handoff_request_queues_the_conversation_with_rasas_history(core: Core) -> None:
    asked = HandoffRequest(Reason.ASK_HUMAN, context={"child_age": "4"}).to_custom()
    core.rasa.answer = [{"text": "Ik geef je door."}, {"custom": asked}]
    replies = await core.say("ik wil iemand spreken")
    assert replies[0].get("text") == "Ik geef je door."
    assert "handoff" in replies[-1].get("custom", {})  # the queue place, from the service
    (queued,) = await core.handoff.queue()
    assert queued.reason == Reason.ASK_HUMAN
    said = [e.text for e in await core.handoff.transcript(queued.hid)]
    assert said == ["ik wil iemand spreken"]  # the bot's part of the chat, from Rasa's tracker
