"""The outbox pusher with real Redis and python-telegram-bot against the local fake Bot API."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestServer
from aiohttp.web import Application
from redis.asyncio import Redis
from telegram import Bot

from bot.telegram.chat_ids import ChatIds
from bot.telegram.push import Pusher
from bot.telegram.render import Buttons
from handoff.transcript import Outbox
from tests.bot.telegram.fake_bot_api import FakeBotApi
from tests.conftest import RedisServer
from tests.redis_db import fresh_db

TEST_DB = 10  # the pusher's own database: no running service scans it for chats
TOKEN = "123456:TEST-token"


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    async with fresh_db(redis_server, TEST_DB) as client:
        yield client


@pytest.fixture
async def api_and_pusher(
    aiohttp_server: Callable[[Application], Awaitable[TestServer]], redis: Redis
) -> AsyncIterator[tuple[FakeBotApi, Pusher, Outbox, str]]:
    api = FakeBotApi()
    server = await aiohttp_server(api.app)
    chat_ids = ChatIds(redis, "test-secret", 3600)
    cid = secrets.token_hex(8)
    await chat_ids.remember(cid, api.user_id)
    outbox = Outbox(redis, 3600)
    async with Bot(TOKEN, base_url=str(server.make_url("/bot"))) as bot:
        yield api, Pusher(redis, outbox, chat_ids, Buttons(redis), bot), outbox, cid


def texts(api: FakeBotApi) -> list[str]:
    return [str(m["text"]) for m in api.sent()]


async def test_each_message_is_sent_once_in_order(
    api_and_pusher: tuple[FakeBotApi, Pusher, Outbox, str],
) -> None:
    api, pusher, outbox, cid = api_and_pusher
    await outbox.push_all(cid, [{"text": "een"}, {"text": "twee"}])
    assert await pusher.deliver(cid) == 2
    assert await pusher.deliver(cid) == 0
    await outbox.push(cid, {"text": "drie"})
    assert await pusher.deliver(cid) == 1
    assert texts(api) == ["een", "twee", "drie"]


async def test_a_message_added_while_another_instance_sends_is_not_left_behind(
    api_and_pusher: tuple[FakeBotApi, Pusher, Outbox, str],
) -> None:
    """The race a CI run hit: the staff reply arrived while the "Anne is er nu" was being sent."""
    api, pusher, outbox, cid = api_and_pusher
    answer = api.hold("sendMessage")
    await outbox.push(cid, {"text": "Anne van het CJG is er nu."})
    first = asyncio.create_task(pusher.deliver(cid))
    await api.wait_for("sendMessage", 1)  # the first instance is sending, holding the lock
    await outbox.push(cid, {"text": "Hoi, ik ben Anne."})
    assert await pusher.deliver(cid) == 0  # the news for it finds the lock taken
    answer.set()
    assert await asyncio.wait_for(first, 10) == 2
    assert texts(api) == ["Anne van het CJG is er nu.", "Hoi, ik ben Anne."]


async def test_more_than_one_read_is_sent_in_one_go(
    api_and_pusher: tuple[FakeBotApi, Pusher, Outbox, str],
) -> None:
    api, pusher, outbox, cid = api_and_pusher
    await outbox.push_all(cid, [{"text": f"bericht {n}"} for n in range(120)])
    assert await pusher.deliver(cid) == 120
    assert texts(api) == [f"bericht {n}" for n in range(120)]


async def test_a_chat_without_telegram_gets_nothing(
    api_and_pusher: tuple[FakeBotApi, Pusher, Outbox, str],
) -> None:
    api, pusher, outbox, _ = api_and_pusher
    await outbox.push("widget-conversation", {"text": "voor de widget"})
    assert await pusher.deliver("widget-conversation") == 0
    assert api.sent() == []


async def test_erasing_the_chat_leaves_no_telegram_key_behind(
    api_and_pusher: tuple[FakeBotApi, Pusher, Outbox, str], redis: Redis
) -> None:
    _, pusher, outbox, cid = api_and_pusher
    await outbox.push(cid, {"text": "een"})
    assert await pusher.deliver(cid) == 1
    assert await redis.keys(f"cjg:tg:*{cid}")  # the chat id and how far it has been sent
    await ChatIds(redis, "test-secret", 3600).forget(cid)  # what /wissen does
    assert await redis.keys(f"cjg:tg:*{cid}") == []
