"""Routing by the conversation's state (bot/core/routing.py) and the assistant's turn
(bot/core/assistant.py): the service's own buttons and questions, staff while a person is
involved, Rasa otherwise; a failing Rasa leaves nothing kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.text_input import AssistantUnavailable
from common.address import Address
from common.handoff_payload import HandoffRequest
from common.names import Reason, State
from common.payload import CANCEL, ENOUGH
from common.registration import tag
from tests.bot.core.conftest import Core
from tests.conftest import RedisServer
from tests.redis_db import fresh_db

TEST_DB = 37  # this module's own database, flushed before each test
ASKED = HandoffRequest(Reason.ASK_HUMAN, context={"child_age": "4"}).to_custom()


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    async with fresh_db(redis_server, TEST_DB) as client:
        yield client


def events(replies: list[Any]) -> list[str]:
    return [m["custom"]["handoff"]["event"] for m in replies if "handoff" in m.get("custom", {})]


async def waiting(core: Core) -> str:
    """The parent asks for a person and waits in the queue; the handoff's id."""
    core.rasa.answer = [{"text": "Ik geef je door."}, {"custom": ASKED}]
    await core.say("ik wil iemand spreken")
    (queued,) = await core.handoff.queue()
    return queued.hid


async def test_in_the_bots_state_rasa_answers(core: Core) -> None:
    replies = await core.say("mijn zoon slaapt slecht")
    assert core.rasa.received == ["mijn zoon slaapt slecht"]
    assert [m.get("text") for m in replies] == ["Een antwoord."]


async def test_while_waiting_the_words_go_to_staff_never_to_rasa(core: Core) -> None:
    hid = await waiting(core)
    replies = await core.say("ben je er nog?")
    assert core.rasa.received == ["ik wil iemand spreken"]
    assert "ben je er nog?" in [e.text for e in await core.handoff.transcript(hid)]
    assert replies and replies[0]["recipient_id"] == "parent"  # the queue place, for this user


async def test_leaving_a_message_keeps_it_for_staff(core: Core, redis: Redis) -> None:
    await core.handoff.leave("anne")  # nobody online: a message may be left instead
    core.rasa.answer = [{"text": "Ik geef je door."}, {"custom": ASKED}]
    assert "leave_message" in events(await core.say("ik wil iemand spreken"))

    replies = await core.say("bel me morgen maar")
    assert events(replies) == ["message_left"]
    assert core.rasa.received == ["ik wil iemand spreken"]
    (left,) = await core.handoff.left_messages()
    assert "bel me morgen maar" in [e.text for e in await core.handoff.transcript(left.hid)]


async def test_the_stop_button_while_waiting_is_the_services_own(core: Core) -> None:
    await waiting(core)
    assert events(await core.say(CANCEL)) == ["cancelled"]
    assert (await core.handoff.conversation(core.cid())).state == State.BOT
    assert await core.handoff.queue() == []
    assert core.rasa.received == ["ik wil iemand spreken"]


async def test_the_answer_to_the_enough_question_is_the_services_own(core: Core) -> None:
    """ "Heb je hier genoeg aan?" follows a sure topic answer; its answer never goes to Rasa."""
    core.rasa.answer = [{"text": "Over slapen ..."}, {"custom": tag(outcome="topic_answered")}]
    await core.say("mijn zoon slaapt slecht")
    (thanks,) = await core.say(f"{ENOUGH}ja")
    assert thanks.get("custom") == {"feedback": "enough_thanks"}
    assert core.rasa.received == ["mijn zoon slaapt slecht"]


async def test_a_wish_for_u_is_kept_without_asking_rasa(core: Core) -> None:
    replies = await core.say("zeg maar u")
    assert replies[0].get("custom") == {"service": "address", "address": "u"}
    assert await core.core.address.form(core.cid()) == Address.U
    assert core.rasa.received == []


async def test_stopping_ends_the_wait_and_restarts_rasa(core: Core) -> None:
    await waiting(core)
    await core.core.stop("api", "parent")
    assert (await core.handoff.conversation(core.cid())).state == State.BOT
    assert await core.handoff.queue() == []
    assert core.rasa.received[-1] == "/restart"


async def test_a_failing_rasa_means_nothing_was_kept(core: Core) -> None:
    core.rasa.status = 500
    with pytest.raises(AssistantUnavailable):
        await core.say("mijn zoon slaapt slecht")
    assert await core.handoff.queue() == []


async def test_nothing_but_slashes_is_answered_without_rasa(core: Core) -> None:
    replies = await core.say("///")
    assert replies[0].get("custom") == {"service": "no_answer"}
    assert core.rasa.received == []
