"""Callback requests (handoff/callbacks.py) against a real Redis: the parent's questions, the
number encrypted at rest and gone after the call or its time, the staff side, the expectation
from the opening hours, and the conversation core keeping the number away from Rasa."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from base.registrar import Registrar
from bot.conversation import ConversationCore, Incoming
from common.content import service_messages, topics
from common.handoff_payload import HandoffRequest
from common.names import Reason, State
from common.payload import ASK_CALLBACK, CANCEL
from handoff import keys
from handoff.callbacks import (
    ANY,
    CHAT,
    YES,
    Callbacks,
    NumberCipher,
    Outcome,
    callback_texts,
    dayparts,
    expectation,
)
from handoff.presence import Presence
from handoff.service import HandoffService, Timing
from insight.figures import Query, figures
from tests.bot.core.conftest import make_core, rasa_app
from tests.conftest import RedisServer
from tests.handoff.conftest import ALWAYS, NEVER, hours_from, make_service
from tests.redis_db import fresh_db

TEST_DB = 16  # this module's own database, flushed before each test
NUMBER = "06-12345678"
DIGITS = "612345678"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
WEEKDAYS = {d: ["09:00", "17:00"] for d in ("maandag", "dinsdag", "woensdag", "donderdag")}
WEEKDAYS["vrijdag"] = ["09:00", "12:00"]  # no afternoon on Friday
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    async with fresh_db(redis_server, TEST_DB) as client:
        yield client


def make_callbacks(redis: Redis, number_seconds: int = 3600) -> Callbacks:
    hours = hours_from(ALWAYS)
    return Callbacks(
        redis,
        NumberCipher(secrets.token_hex(32)),
        lambda: hours,
        Registrar(redis),
        number_seconds,
        retention_seconds=7200,
    )


async def every_value(redis: Redis) -> str:
    """Every key and value in the database, as one text to search."""
    found = []
    async for key in redis.scan_iter(count=1000):
        kind = await redis.type(key)
        found.append(str(key))
        if kind == "string":
            found.append(str(await redis.get(key)))
        elif kind == "hash":
            found.append(json.dumps(await redis.hgetall(key)))
        elif kind == "set":
            found.append(json.dumps(sorted(await redis.smembers(key))))
        elif kind == "zset":
            found.append(json.dumps(await redis.zrange(key, 0, -1)))
        elif kind == "stream":
            found.append(json.dumps(await redis.xrange(key)))
        elif kind == "list":
            found.append(json.dumps(await redis.lrange(key, 0, -1)))
    return "\n".join(found)


async def request_one(callbacks: Callbacks, cid: str = "cid-1", number: str = NUMBER) -> str:
    """The whole parent's side; the new request's id (beside any already waiting)."""
    before = {c.id for c in await callbacks.listed()}
    await callbacks.begin(
        cid, "widget", HandoffRequest(Reason.CALLBACK, context={"child_age": "4"})
    )
    await callbacks.user_message(cid, YES)
    await callbacks.user_message(cid, number)
    await callbacks.user_message(cid, f"/cjg_callback_{ANY}")
    (found,) = {c.id for c in await callbacks.listed()} - before
    return found


# --- the parent's side -----------------------------------------------------------------------


async def test_consent_comes_first_then_the_number_then_a_part_of_the_day(redis: Redis) -> None:
    callbacks = make_callbacks(redis)
    texts = callback_texts()
    wish = HandoffRequest(Reason.CALLBACK, context={"topic": "slapen"})
    started = await callbacks.begin("cid-1", "widget", wish)
    assert started.chat is None
    (consent,) = started.messages
    assert "Mag ik je telefoonnummer doorgeven aan een medewerker?" in consent["text"]
    assert [b["payload"] for b in consent["buttons"]] == [YES, CHAT, CANCEL]
    assert await redis.hget(keys.conversation("cid-1"), "state") == State.CALLBACK

    asked = await callbacks.user_message("cid-1", "ja")
    assert asked is not None and asked.messages[0]["text"] == texts.say("ask_number")
    wrong = await callbacks.user_message("cid-1", "0900 1234567")
    assert wrong is not None and wrong.messages[0]["text"] == texts.say("invalid_number")
    assert wrong.messages[0]["buttons"] == [{"title": "Stoppen", "payload": CANCEL}]  # a way out
    parts = await callbacks.user_message("cid-1", NUMBER)
    assert parts is not None
    titles = [b["title"] for b in parts.messages[0]["buttons"]]
    assert titles == ["'s Ochtends", "'s Middags", "Maakt niet uit", "Stoppen"]
    assert await callbacks.listed() == []  # nothing for staff before the last answer

    done = await callbacks.user_message("cid-1", "/cjg_callback_middag")
    assert done is not None and "We proberen je " in done.messages[0]["text"]
    assert await redis.hget(keys.conversation("cid-1"), "state") == State.BOT
    (queued,) = await callbacks.listed()
    assert queued.daypart == "'s Middags" and queued.state == "waiting" and queued.number_kept
    assert queued.summary["theme"] == topics()["slapen"].title  # as on a chat's card
    assert queued.summary["child_age"] is None  # not known here
    assert not await redis.exists(keys.callback_pending("cid-1"))


async def test_the_number_is_encrypted_at_rest_and_bound_to_its_request(redis: Redis) -> None:
    callbacks = make_callbacks(redis)
    await callbacks.begin("cid-1", "widget", HandoffRequest(Reason.CALLBACK))
    await callbacks.user_message("cid-1", YES)
    await callbacks.user_message("cid-1", NUMBER)
    while_asking = await every_value(redis)
    assert DIGITS not in while_asking and "1234" not in while_asking
    await callbacks.user_message("cid-1", f"/cjg_callback_{ANY}")
    (queued,) = await callbacks.listed()
    raw = await redis.get(keys.callback_number(queued.id))
    assert raw and DIGITS not in raw and "1234" not in raw
    assert DIGITS not in await every_value(redis)
    # A sealed number copied to another request does not open there.
    await redis.set(keys.callback_number("other"), raw)
    await redis.hset(keys.callback("other"), mapping={"state": "claimed", "staff": "anne"})
    assert await callbacks.number("other", "anne") is None


async def test_choosing_to_chat_or_stopping_keeps_no_number(redis: Redis) -> None:
    callbacks = make_callbacks(redis)
    request = HandoffRequest(Reason.CALLBACK, context={"municipality": "haarlem"})
    await callbacks.begin("cid-1", "widget", request)
    chat = await callbacks.user_message("cid-1", CHAT)
    assert chat is not None and chat.chat is not None
    assert chat.chat.reason == "ask_human" and chat.chat.context == {"municipality": "haarlem"}

    await callbacks.begin("cid-2", "widget", request)
    await callbacks.user_message("cid-2", YES)
    await callbacks.user_message("cid-2", NUMBER)
    stopped = await callbacks.user_message("cid-2", CANCEL)
    assert stopped is not None and stopped.messages[0]["text"] == callback_texts().say("stopped")
    assert await redis.hget(keys.conversation("cid-2"), "state") == State.BOT
    assert await callbacks.listed() == []
    assert not await redis.exists(keys.callback_pending("cid-2"))


async def test_youths_are_never_asked_for_a_number(redis: Redis) -> None:
    callbacks = make_callbacks(redis)
    youth = HandoffRequest(Reason.CALLBACK, context={"user_type": "youth"})
    turn = await callbacks.begin("cid-y", "widget", youth)
    (told,) = turn.messages
    assert "0800-0432" in told["text"] and "anoniem" in told["text"]  # the Kindertelefoon
    assert "buttons" not in told
    assert turn.chat is not None and turn.chat.reason == "ask_human"  # the anonymous chat
    assert await redis.hget(keys.conversation("cid-y"), "state") != State.CALLBACK
    assert not await redis.exists(keys.callback_pending("cid-y"))


async def test_without_a_key_the_wish_becomes_a_chat(redis: Redis) -> None:
    hours = hours_from(ALWAYS)
    off = Callbacks(redis, None, lambda: hours, Registrar(redis), 3600, 7200)
    turn = await off.begin("cid-1", "widget", HandoffRequest(Reason.CALLBACK))
    assert turn.chat is not None and turn.chat.reason == "callback"
    assert turn.messages[0]["text"] == callback_texts().say("unavailable")


# --- expiry, the staff side and the figures --------------------------------------------------


async def test_the_number_expires_after_the_configured_time(redis: Redis) -> None:
    callbacks = make_callbacks(redis, number_seconds=1)
    cbid = await request_one(callbacks)
    assert 0 < await redis.pttl(keys.callback_number(cbid)) <= 1000
    await asyncio.sleep(1.2)
    (queued,) = await callbacks.listed()
    assert queued.number_kept is False  # staff see that it expired
    assert await callbacks.claim(cbid, "anne")
    assert await callbacks.number(cbid, "anne") is None
    assert DIGITS not in await every_value(redis)


async def test_only_the_claimer_sees_the_number_and_reached_deletes_it(redis: Redis) -> None:
    callbacks = make_callbacks(redis)
    cbid = await request_one(callbacks)
    assert await callbacks.number(cbid, "anne") is None  # not claimed yet
    assert await callbacks.claim(cbid, "anne")
    assert not await callbacks.claim(cbid, "bram")  # one winner
    assert await callbacks.number(cbid, "bram") is None
    assert await callbacks.number(cbid, "anne") == "06 1234 5678"
    assert not await callbacks.register(cbid, "bram", Outcome.REACHED)

    assert await callbacks.register(cbid, "anne", Outcome.REACHED)
    assert await callbacks.listed() == []
    assert DIGITS not in await every_value(redis)
    assert not await redis.exists(keys.callback(cbid), keys.callback_number(cbid))
    assert not await callbacks.claim(cbid, "bram")  # gone: nothing is made up again
    assert not await redis.exists(keys.callback(cbid))
    today = datetime.now().date()
    found = await figures(redis, Query(today, today))
    assert found["totals"]["callbacks"] == 1
    assert found["callbacks"] == [{"id": "reached", "label": "Bereikt", "count": 1}]


async def test_try_again_keeps_it_queued_with_its_number(redis: Redis) -> None:
    callbacks = make_callbacks(redis)
    cbid = await request_one(callbacks)
    assert await callbacks.claim(cbid, "anne")
    assert await callbacks.register(cbid, "anne", Outcome.RETRY)
    (queued,) = await callbacks.listed()
    assert (queued.state, queued.staff, queued.attempts) == ("waiting", None, 1)
    assert queued.number_kept
    assert await callbacks.claim(cbid, "bram")
    assert await callbacks.number(cbid, "bram") == "06 1234 5678"
    today = datetime.now().date()
    found = await figures(redis, Query(today, today))
    assert found["totals"]["callbacks"] == 0  # not done yet
    assert found["callbacks"] == [{"id": "retry", "label": "Later opnieuw proberen", "count": 1}]


async def test_a_callbacks_outcome_is_counted_for_its_municipality(redis: Redis) -> None:
    """The figures filtered by municipality show callbacks too (they used to say "onbekend")."""
    callbacks = make_callbacks(redis)
    await callbacks.begin(
        "cid-z", "widget", HandoffRequest(Reason.CALLBACK, context={"municipality": "zandvoort"})
    )
    for answer in (YES, NUMBER, f"/cjg_callback_{ANY}"):
        await callbacks.user_message("cid-z", answer)
    (request,) = await callbacks.listed()
    assert await callbacks.claim(request.id, "anne")
    assert await callbacks.register(request.id, "anne", Outcome.REACHED)
    today = datetime.now().date()
    for place, count in (("zandvoort", 1), ("haarlem", 0)):
        found = await figures(redis, Query(today, today, municipality=place))
        assert found["totals"]["callbacks"] == count, place


async def test_logging_out_puts_the_claimed_requests_back_untried(redis: Redis) -> None:
    callbacks = make_callbacks(redis)
    first = await request_one(callbacks, "cid-a")
    second = await request_one(callbacks, "cid-b")
    assert await callbacks.claim(first, "anne") and await callbacks.claim(second, "bram")
    assert await callbacks.release_claims("anne") == 1  # bram's claim stays his
    listed = {c.id: c for c in await callbacks.listed()}
    assert (listed[first].state, listed[first].staff, listed[first].attempts) == (
        "waiting", None, 0)  # fmt: skip
    assert (listed[second].state, listed[second].staff) == ("claimed", "bram")
    assert await callbacks.release_claims("anne") == 0
    assert await callbacks.claim(first, "bram")  # a colleague can call now
    assert await callbacks.number(first, "bram") == "06 1234 5678"


async def test_erasing_the_conversation_erases_its_requests(redis: Redis) -> None:
    callbacks = make_callbacks(redis)
    cbid = await request_one(callbacks, "cid-e")
    await callbacks.erase("cid-e")
    assert await callbacks.listed() == []
    assert not await redis.exists(keys.callback(cbid), keys.callback_number(cbid))
    assert [k async for k in redis.scan_iter(match="cjg:*callback*")] == []


# --- the expectation from the opening hours --------------------------------------------------


@pytest.mark.parametrize(
    ("now", "choice", "told"),
    [
        ("2026-12-01 10:30", "middag", "vandaag tussen 13 en 17 uur"),  # a Tuesday morning
        ("2026-12-01 10:30", "ochtend", "vandaag vóór 12 uur"),
        ("2026-12-01 10:30", ANY, "vandaag vóór 17 uur"),
        ("2026-12-01 18:00", "ochtend", "morgen tussen 9 en 12 uur"),
        ("2026-12-01 18:00", ANY, "morgen vanaf 9 uur"),
        ("2026-12-01 16:40", ANY, "morgen vanaf 9 uur"),  # too little time left today
        ("2026-12-01 16:25", ANY, "vandaag vóór 17 uur"),
        ("2026-12-04 10:00", "middag", "maandag tussen 13 en 17 uur"),  # no Friday afternoon
        ("2026-12-05 11:00", ANY, "maandag vanaf 9 uur"),  # Saturday
    ],
)
def test_the_expectation_is_an_honest_window_from_the_opening_hours(
    now: str, choice: str, told: str
) -> None:
    hours = hours_from(WEEKDAYS)
    at = datetime.fromisoformat(now).replace(tzinfo=AMSTERDAM)
    assert expectation(callback_texts(), hours, choice, at) == told


def test_parts_of_the_day_follow_the_opening_hours() -> None:
    texts = callback_texts()
    at = datetime(2026, 12, 1, 10, tzinfo=AMSTERDAM)
    assert dayparts(texts, hours_from(WEEKDAYS), at) == ["ochtend", "middag"]
    mornings = {d: ["08:30", "12:30"] for d in ("maandag", "woensdag")}
    assert dayparts(texts, hours_from(mornings), at) == ["ochtend"]


# --- the conversation core: the number never reaches Rasa ------------------------------------


class RecordingRasa:
    """A stand-in for Rasa's HTTP API that keeps every message it is sent and answers as the
    assistant does: a handoff request, with reason callback for a callback wish."""

    def __init__(self) -> None:
        self.received: list[str] = []

    def app(self) -> web.Application:
        return rasa_app(self._message, self._tracker)

    async def _message(self, request: web.Request) -> web.Response:
        body = await request.json()
        said = body["message"]
        self.received.append(said)
        reason = "callback" if "bel" in said or said == ASK_CALLBACK else "ask_human"
        asked = HandoffRequest(reason, context={"child_age": "4"}).to_custom()  # type: ignore[arg-type]
        return web.json_response([{"recipient_id": body["sender"], "custom": asked}])

    async def _tracker(self, request: web.Request) -> web.Response:
        return web.json_response({"events": []})


@pytest.fixture
async def core(
    aiohttp_server: ServerFactory, redis: Redis
) -> AsyncIterator[tuple[RecordingRasa, ConversationCore]]:
    handoff = make_service(redis)
    await handoff.heartbeat("anne")
    async for made in core_with(aiohttp_server, redis, handoff):
        yield made


async def core_with(
    aiohttp_server: ServerFactory, redis: Redis, handoff: HandoffService
) -> AsyncIterator[tuple[RecordingRasa, ConversationCore]]:
    rasa = RecordingRasa()
    server = await aiohttp_server(rasa.app())
    async with aiohttp.ClientSession() as http:
        yield (
            rasa,
            make_core(
                str(server.make_url("")).rstrip("/"),
                http,
                redis,
                handoff,
                callbacks=make_callbacks(redis),
            ),
        )


async def test_a_crisis_message_during_the_questions_goes_to_staff_at_once(
    core: tuple[RecordingRasa, ConversationCore], redis: Redis
) -> None:
    """Safety first in every state: the callback questions stop and the number is dropped."""
    _, conversation = core
    await conversation.handle(Incoming("api", "parent-4", "bel me terug"))
    await conversation.handle(Incoming("api", "parent-4", YES))
    replies = await conversation.handle(Incoming("api", "parent-4", "ik denk aan zelfmoord"))
    assert "crisis" in json.dumps([r.get("custom") for r in replies])  # the card
    cid = conversation.conversation_id("api", "parent-4")
    assert await redis.hget(keys.conversation(cid), "state") == State.WAITING
    assert not await redis.exists(keys.callback_pending(cid))
    (queued,) = await conversation.handoff.queue()
    assert queued.urgent


async def test_the_core_asks_the_questions_and_rasa_never_sees_the_number(
    core: tuple[RecordingRasa, ConversationCore], redis: Redis
) -> None:
    rasa, conversation = core

    async def say(text: str) -> list[str]:
        replies = await conversation.handle(Incoming("api", "parent-1", text))
        return [str(r["text"]) for r in replies if r.get("text")]

    (consent,) = await say("Kunt u mij terugbellen op 06-12345678?")
    assert rasa.received == ["Kunt u mij terugbellen op [telefoonnummer]?"]
    assert "Mag ik je telefoonnummer doorgeven" in consent
    await say("ja")
    await say("0612345678")
    (done,) = await say("maakt niet uit")
    assert "We proberen je " in done
    assert len(rasa.received) == 1  # the answers stayed in the service
    (queued,) = await conversation.callbacks.listed()  # type: ignore[union-attr]
    assert queued.summary["child_age"] == "4"  # the assistant's context, for staff
    assert queued.summary["recent_intents"] == []
    assert DIGITS not in await every_value(redis)
    assert await redis.zcard(keys.QUEUE) == 0  # no chat handoff was started

    # The next message is the assistant's again.
    await say("hoe laat gaat een kind van 4 naar bed?")
    assert rasa.received[-1] == "hoe laat gaat een kind van 4 naar bed?"


async def test_liever_chatten_starts_a_chat_handoff(
    core: tuple[RecordingRasa, ConversationCore], redis: Redis
) -> None:
    _, conversation = core
    await conversation.handle(Incoming("api", "parent-2", "bel me terug"))
    replies = await conversation.handle(Incoming("api", "parent-2", CHAT))
    cid = conversation.conversation_id("api", "parent-2")
    assert await redis.hget(keys.conversation(cid), "state") == State.WAITING
    assert any((r.get("custom") or {}).get("handoff", {}).get("event") == "queue" for r in replies)


async def test_outside_opening_hours_a_callback_is_offered_beside_a_message(
    aiohttp_server: ServerFactory, redis: Redis
) -> None:
    closed = hours_from(NEVER)
    handoff = HandoffService(
        redis,
        service_messages(),
        Presence(redis, 45),
        lambda: closed,
        Timing(silent_seconds=600, retention_seconds=3600),
        callback_button="Bel me liever terug",
    )
    async for rasa, conversation in core_with(aiohttp_server, redis, handoff):
        replies = await conversation.handle(Incoming("api", "parent-3", "ik wil een medewerker"))
        offer = next(r for r in replies if r.get("buttons"))
        assert {"title": "Bel me liever terug", "payload": ASK_CALLBACK} in offer["buttons"]
        cid = conversation.conversation_id("api", "parent-3")
        assert await redis.hget(keys.conversation(cid), "state") == State.LEAVING_MESSAGE

        replies = await conversation.handle(Incoming("api", "parent-3", ASK_CALLBACK))
        assert rasa.received[-1] == ASK_CALLBACK  # the assistant decides (a youth gets a chat)
        assert "Mag ik je telefoonnummer doorgeven" in str(replies[-1]["text"])
        assert await redis.hget(keys.conversation(cid), "state") == State.CALLBACK
        assert await redis.zcard(keys.LEFT) == 0  # the click was not kept as a message


async def test_a_waiting_parent_can_ask_for_a_callback_instead(
    aiohttp_server: ServerFactory, redis: Redis
) -> None:
    always = hours_from(ALWAYS)
    handoff = HandoffService(
        redis,
        service_messages(),
        Presence(redis, 45),
        lambda: always,
        Timing(silent_seconds=600, retention_seconds=3600),
        callback_button="Bel me liever terug",
    )
    await handoff.heartbeat("anne")
    async for _, conversation in core_with(aiohttp_server, redis, handoff):
        replies = await conversation.handle(Incoming("api", "parent-5", "ik wil een medewerker"))
        queued = next(r for r in replies if r.get("buttons"))
        assert {"title": "Bel me liever terug", "payload": ASK_CALLBACK} in queued["buttons"]
        assert await redis.zcard(keys.QUEUE) == 1

        replies = await conversation.handle(Incoming("api", "parent-5", ASK_CALLBACK))
        assert "Mag ik je telefoonnummer doorgeven" in str(replies[-1]["text"])
        assert await redis.zcard(keys.QUEUE) == 0  # out of the chat queue
        cid = conversation.conversation_id("api", "parent-5")
        assert await redis.hget(keys.conversation(cid), "state") == State.CALLBACK
        outcomes = await redis.hkeys(f"cjg:insight:open:{cid}")
        assert "outcome:abandoned" not in outcomes  # switching is not giving up
