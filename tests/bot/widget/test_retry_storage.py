"""Redis away (down, or a failover in progress): a widget message is not acknowledged, the
parent sees that the widget tries again, and it keeps trying until Redis is back; then the
message arrives once and is answered once (issue #18, durability).

The service runs as its own process on a redis-server of this test's own, which the test stops
and starts again on the same files; Rasa is the session's real stack.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from redis.asyncio import Redis

from bot.pseudonym import pseudonymise
from bot.widget.channel import CHANNEL
from common.content import service_messages
from tests.bot.widget.test_widget_browser import Widget
from tests.browser import Service, make_service
from tests.conftest import RasaStack, RedisServer

pytestmark = pytest.mark.rasa
QUESTION = "mijn dochter van 6 wil niet naar school"


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.directory.mkdir()
    await asyncio.to_thread(server.start)
    yield server
    await asyncio.to_thread(server.stop)


@pytest.fixture
async def service(
    own_redis: RedisServer, rasa_stack: RasaStack, tmp_path: Path
) -> AsyncIterator[Service]:
    service = make_service(own_redis, rasa_stack, tmp_path, 0, staff=())
    try:
        await asyncio.to_thread(service.start)
        yield service
    finally:
        await asyncio.to_thread(service.stop)


async def test_with_redis_stopped_the_widget_keeps_trying_and_the_message_arrives_once(
    service: Service, browser: Browser, own_redis: RedisServer, redis_server: RedisServer
) -> None:
    page = await browser.new_page()
    await page.clock.install()  # the retry waits are skipped with the clock
    widget = Widget(page)
    await widget.open(service.url)
    notice = service_messages().get("retrying")
    connection = widget("#cjg-connection")
    bots = widget('.cjg-msg[data-from="bot"]')
    cid = pseudonymise(service.env["CJG_PSEUDONYM_SECRET"], CHANNEL, await widget.session_id())

    await asyncio.to_thread(own_redis.stop)
    before = await bots.count()
    await widget.send(QUESTION)
    await expect(connection).to_have_text(notice, timeout=10000)
    # The 30 s after which a message Rasa never answered is given up (the fifth try): this one is
    # still trying. (More at once would also run out the socket's ping timeout on this clock.)
    for wait in (2000, 4000, 8000, 16000):
        await page.clock.fast_forward(wait)
        await page.wait_for_timeout(1000)  # the try and its refusal, in real time
    await expect(connection).to_have_text(notice)
    await expect(widget.said(QUESTION)).to_have_count(1)  # the bubble stays, one bubble
    await expect(widget.said(service_messages().get("storage_unavailable"))).to_have_count(0)
    assert await bots.count() == before  # no answer yet: nothing was kept

    await asyncio.to_thread(own_redis.start)  # back, with its data
    for _ in range(5):  # the next try (every 16 s, or at a reconnect) finds it
        await page.clock.fast_forward(16000)
        await page.wait_for_timeout(1500)
        if await connection.is_hidden():
            break
    await widget.answered(before)
    await expect(connection).to_be_hidden(timeout=10000)
    await expect(widget.said(QUESTION)).to_have_count(1)
    texts = await widget("#cjg-log .cjg-text").all_inner_texts()
    assert len(texts) == len(set(texts))  # every answer once

    # Rasa has it once (its tracker is on the session's Redis, database 0).
    rasa_db = Redis.from_url(redis_server.url(0), decode_responses=True)
    try:
        raw = await rasa_db.get(f"rasa:tracker:{cid}")
        assert isinstance(raw, str)
        said = [e["text"] for e in json.loads(raw)["events"] if e.get("event") == "user"]
        assert said.count(QUESTION) == 1
    finally:
        await rasa_db.aclose()
