"""The conversation core against a real Redis and a slow stand-in for Rasa's HTTP API.

The stand-in does what Rasa does with a message: it holds Rasa's lock for the conversation
while it "thinks", saves the tracker at the end of its turn, and answers (here: a request for a
person, so the turn goes on to start a handoff). The tests hold it in the middle of a turn.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from bot.conversation import ConversationCore, Incoming
from bot.rasa_tracker import RASA_LOCK_KEY, RASA_TRACKER_KEY
from common.handoff_payload import HandoffRequest
from common.names import Reason
from handoff import keys
from handoff.requests import STREAM
from tests.bot.core.conftest import make_core, rasa_app
from tests.conftest import RedisServer
from tests.handoff.conftest import make_service
from tests.redis_db import fresh_db

TEST_DB = 13  # this module's own database, flushed before each test
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


@dataclass
class SlowRasa:
    """Rasa's webhook and tracker endpoints; each message waits until ``go`` is set."""

    redis: Redis
    thinking: asyncio.Event = field(default_factory=asyncio.Event)
    go: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        return rasa_app(self._message, self._tracker)

    async def _message(self, request: web.Request) -> web.Response:
        body = await request.json()
        sender, text = body["sender"], body["message"]
        await self.redis.set(RASA_LOCK_KEY.format(sender), "ticket")  # Rasa's lock store
        self.thinking.set()
        await self.go.wait()
        events = [{"event": "user", "text": text}, {"event": "bot", "text": "Ik geef je door."}]
        await self.redis.set(RASA_TRACKER_KEY.format(sender), json.dumps({"events": events}))
        await self.redis.delete(RASA_LOCK_KEY.format(sender))
        asked = HandoffRequest(
            Reason.ASK_HUMAN, context={"child_age": "4", "municipality": "Haarlem"}
        ).to_custom()
        return web.json_response(
            [
                {"recipient_id": sender, "text": "Ik geef je vraag door."},
                {"recipient_id": sender, "custom": asked},
            ]
        )

    async def _tracker(self, request: web.Request) -> web.Response:
        raw = await self.redis.get(RASA_TRACKER_KEY.format(request.match_info["sender"]))
        return web.json_response(json.loads(raw) if raw else {"events": []})


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    async with fresh_db(redis_server, TEST_DB) as client:
        yield client


@pytest.fixture
async def rasa_and_core(
    aiohttp_server: ServerFactory, redis: Redis
) -> AsyncIterator[tuple[SlowRasa, ConversationCore]]:
    rasa = SlowRasa(redis)
    server = await aiohttp_server(rasa.app())
    handoff = make_service(redis)
    await handoff.heartbeat("anne")  # staff online: a request is queued
    async with aiohttp.ClientSession() as http:
        core = make_core(str(server.make_url("")).rstrip("/"), http, redis, handoff)
        yield rasa, core


async def keys_naming(redis: Redis, cid: str) -> list[str]:
    """Every key in the database whose name holds the pseudonym."""
    return [str(k) async for k in redis.scan_iter(match=f"*{cid}*", count=1000)]


async def stream_entries_of(redis: Redis, cid: str) -> list[Any]:
    entries = cast(list[tuple[str, dict[str, str]]], await redis.xrange(STREAM))
    return [e for e in entries if cid in json.dumps(e)]


async def test_a_turn_and_an_erase_of_the_same_conversation_leave_nothing_behind(
    rasa_and_core: tuple[SlowRasa, ConversationCore], redis: Redis
) -> None:
    rasa, core = rasa_and_core
    cid = core.conversation_id("api", "parent-erase")
    turn = asyncio.create_task(core.handle(Incoming("api", "parent-erase", "ik wil iemand")))
    await asyncio.wait_for(rasa.thinking.wait(), 10)  # Rasa is working on the message
    erase = asyncio.create_task(core.forget("api", "parent-erase"))
    await asyncio.sleep(0.3)  # the erase has begun: it waits for the turn
    assert not erase.done()
    rasa.go.set()
    replies = await asyncio.wait_for(turn, 20)
    await asyncio.wait_for(erase, 20)

    assert replies == []  # the late turn's reply is dropped
    assert await keys_naming(redis, cid) == []  # no tracker, state, outbox, handoff index ...
    assert await stream_entries_of(redis, cid) == []
    assert await redis.zcard(keys.QUEUE) == 0  # no handoff was started for staff
    records = "cjg:handoff:" + "?" * 16  # a handoff's record (a hid is 16 hex digits)
    assert [k async for k in redis.scan_iter(match=records)] == []


async def test_a_turn_after_an_erase_is_answered_as_usual(
    rasa_and_core: tuple[SlowRasa, ConversationCore], redis: Redis
) -> None:
    """The erase mark stops only turns that were in flight: the user may start afresh."""
    rasa, core = rasa_and_core
    await core.forget("api", "parent-new")
    rasa.go.set()
    replies = await core.handle(Incoming("api", "parent-new", "ik wil iemand"))
    assert replies[0].get("text") == "Ik geef je vraag door."
    cid = core.conversation_id("api", "parent-new")
    assert await redis.exists(RASA_TRACKER_KEY.format(cid))
    assert len(await stream_entries_of(redis, cid)) == 1
    assert await redis.zcard(keys.QUEUE) == 1


async def test_erasing_deletes_the_conversations_handoff_requests_only(
    rasa_and_core: tuple[SlowRasa, ConversationCore], redis: Redis
) -> None:
    rasa, core = rasa_and_core
    rasa.go.set()
    await core.handle(Incoming("api", "parent-a", "ik wil iemand"))
    await core.handle(Incoming("api", "parent-b", "ik wil iemand"))
    a, b = core.conversation_id("api", "parent-a"), core.conversation_id("api", "parent-b")
    assert len(await stream_entries_of(redis, a)) == 1

    await core.forget("api", "parent-a")
    assert await stream_entries_of(redis, a) == []
    assert len(await stream_entries_of(redis, b)) == 1  # someone else's stays
    assert await keys_naming(redis, a) == []
