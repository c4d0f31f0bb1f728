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

from bot.telegram import push
from bot.telegram.chat_ids import ChatIds
from bot.telegram.push import Pusher
from bot.telegram.render import Buttons
from delivery.outbox import Outbox
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


async def test_a_blocked_chat_holds_up_neither_its_queue_nor_the_catch_up(
    api_and_pusher: tuple[FakeBotApi, Pusher, Outbox, str],
    redis: Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    api, pusher, outbox, cid = api_and_pusher
    chat_ids = ChatIds(redis, "test-secret", 3600)
    blocked_cid, blocked_chat = secrets.token_hex(8), api.user_id + 1
    await chat_ids.remember(blocked_cid, blocked_chat)
    api.block(blocked_chat)
    await outbox.push_all(blocked_cid, [{"text": "geheim 1"}, {"text": "geheim 2"}])
    await outbox.push(cid, {"text": "voor de ander"})

    assert await pusher.catch_up() == 1  # whichever chat comes first, the other gets its own
    assert texts(api) == ["voor de ander"]
    assert len(api.refused) == 1  # one try; the rest of that chat's messages are skipped
    last_id = (await outbox.read(blocked_cid))[-1][0]
    assert await chat_ids.marker(blocked_cid).get() == last_id  # marked undeliverable
    assert "blocked the bot; 2 message(s) marked undeliverable" in caplog.text
    assert "geheim" not in caplog.text  # never the text

    assert await pusher.catch_up() == 0  # nothing is tried again at the next start
    assert len(api.refused) == 1
    await outbox.push(blocked_cid, {"text": "geheim 3"})  # a new message gets one try
    assert await pusher.deliver(blocked_cid) == 0
    assert len(api.refused) == 2


async def test_a_flood_wait_longer_than_the_lock_still_sends_each_message_once(
    api_and_pusher: tuple[FakeBotApi, Pusher, Outbox, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lock lasts 1 s here and Telegram asks to wait 3 s: without renewal a second
    instance takes the expired lock and sends the message the first one sends again."""
    api, pusher, outbox, cid = api_and_pusher
    monkeypatch.setattr(push, "LOCK_SECONDS", 1)
    api.flood("sendMessage", times=1, retry_after=3)
    await outbox.push(cid, {"text": "Hoi, ik ben Anne."})
    first = asyncio.create_task(pusher.deliver(cid))
    await asyncio.sleep(1.6)  # the first instance waits out the flood limit
    second = await pusher.deliver(cid)  # another instance hears the news again
    assert await asyncio.wait_for(first, 10) + second == 1
    assert texts(api) == ["Hoi, ik ben Anne."]
