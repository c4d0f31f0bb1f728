"""The checks every message passes first (bot/core/checks.py) and what a safety signal does
(bot/core/crisis.py): the crisis card before anything else, then an urgent handoff or, during
one, the chat flagged urgent; the rate limits refuse a flood before Rasa sees it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from base.registrar import open_record
from bot.conversation import Incoming
from bot.text_input import RateLimited
from common.handoff_payload import HandoffRequest
from common.names import Reason, State
from tests.bot.core.conftest import Core
from tests.conftest import RedisServer
from tests.redis_db import fresh_db

TEST_DB = 36  # this module's own database, flushed before each test
CRISIS = "ik wil zelfmoord plegen"  # content/safety.yml: suicide
ASKED = HandoffRequest(Reason.ASK_HUMAN, context={"child_age": "4"}).to_custom()


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    async with fresh_db(redis_server, TEST_DB) as client:
        yield client


def is_card(message: object) -> bool:
    return isinstance(message, dict) and "crisis" in (message.get("custom") or {})


async def test_a_crisis_phrase_gets_the_card_and_an_urgent_handoff_and_never_reaches_rasa(
    core: Core,
) -> None:
    replies = await core.say(CRISIS)
    assert is_card(replies[0])
    assert core.rasa.received == []
    (queued,) = await core.handoff.queue()
    assert queued.urgent and queued.reason == Reason.SAFETY
    assert [e.text for e in await core.handoff.transcript(queued.hid)] == [CRISIS]


async def test_a_buttons_payload_is_not_read_as_a_crisis(core: Core) -> None:
    """A payload is the assistant's own code (a topic may be named "zelfmoord"), not text."""
    payload = '/opvoedvraag{"topic": "zelfmoord"}'
    replies = await core.say(payload)
    assert not any(is_card(m) for m in replies)
    assert core.rasa.received == [payload]


async def test_a_crisis_during_a_handoff_flags_it_urgent_and_goes_to_staff(core: Core) -> None:
    core.rasa.answer = [{"text": "Ik geef je door."}, {"custom": ASKED}]
    await core.say("ik wil iemand spreken")
    (waiting,) = await core.handoff.queue()
    assert not waiting.urgent

    replies = await core.say(CRISIS)
    assert is_card(replies[0])
    (flagged,) = await core.handoff.queue()
    assert flagged.hid == waiting.hid and flagged.urgent  # the same chat, not a second one
    assert CRISIS in [e.text for e in await core.handoff.transcript(waiting.hid)]
    assert core.rasa.received == ["ik wil iemand spreken"]


async def test_past_the_rate_limit_a_message_is_refused_before_rasa(core: Core) -> None:
    tight = core.with_limits(per_sender=2)
    await tight.handle(Incoming("api", "parent", "eerste vraag"))
    await tight.handle(Incoming("api", "parent", "tweede vraag"))
    with pytest.raises(RateLimited):
        await tight.handle(Incoming("api", "parent", "derde vraag"))
    assert core.rasa.received == ["eerste vraag", "tweede vraag"]


async def test_past_the_rate_limit_a_crisis_still_gets_the_card(core: Core) -> None:
    """Safety first: the check runs before the limits."""
    tight = core.with_limits(per_sender=1)
    await tight.handle(Incoming("api", "parent", "eerste vraag"))
    replies = await tight.handle(Incoming("api", "parent", CRISIS))
    assert is_card(replies[0])


async def test_an_admitted_message_is_noted_for_the_figures(core: Core, redis: Redis) -> None:
    await core.say("mijn zoon slaapt slecht")
    assert await redis.hget(open_record(core.cid()), "channel") == "api"
    assert (await core.handoff.conversation(core.cid())).state == State.BOT
