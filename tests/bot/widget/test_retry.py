"""A widget message that got no answer (Rasa unreachable, Redis away) is sent again by the widget
itself, and shown and answered once: the protocol with a python-socketio client, and the widget
in Chromium against the whole stack with Rasa cut off and back.

Rasa is the real one, behind a switch: a TCP forwarder on a port of its own that can stop
listening (connections are refused, as when Rasa is down) and start again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestServer
from aiohttp.web import Application
from playwright.async_api import Browser, expect
from redis.asyncio import Redis

from bot import Settings, create_app
from bot.app_keys import CORE, TEXTS
from bot.pseudonym import pseudonymise
from bot.widget.channel import CHANNEL
from common.content import service_messages
from common.names import State
from handoff.web_keys import HANDOFF
from tests.bot.widget.socket_client import RasaSocketClient
from tests.bot.widget.test_widget_browser import WIDGET_DB, Widget
from tests.browser import Service, make_service
from tests.conftest import RasaStack, RedisServer, free_port
from tests.handoff.conftest import ALWAYS, content_copy

pytestmark = pytest.mark.rasa
ServerFactory = Callable[[Application], Awaitable[TestServer]]
QUESTION = "mijn zoon van 4 wil niet slapen"


class RasaSwitch:
    """A TCP forwarder to the real Rasa. Down: nothing listens on its port (refused, as when
    Rasa is down) and open connections are cut."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)

    async def down(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._open):
            writer.close()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            far_reader, far_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        self._open |= {writer, far_writer}

        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(copy(reader, far_writer), copy(far_reader, writer))
        self._open -= {writer, far_writer}


@pytest.fixture
async def switch(rasa_stack: RasaStack) -> AsyncIterator[RasaSwitch]:
    switch = RasaSwitch(rasa_stack.url)
    await switch.up()
    yield switch
    await switch.down()


async def user_texts(redis: Redis, cid: str) -> list[str]:
    """The user's messages in Rasa's tracker of this conversation (database 0)."""
    raw = await redis.get(f"rasa:tracker:{cid}")
    events = json.loads(raw)["events"] if raw else []
    return [e["text"] for e in events if e.get("event") == "user"]


async def retrying(client: RasaSocketClient, message: str) -> Any:
    """A message as the widget sends it: with ``cjg_retry``, waiting for the acknowledgement."""
    data = {"message": message, "session_id": client.session_id, "cjg_retry": True}
    return await client.sio.call("user_uttered", data, timeout=30)


# --- the protocol ------------------------------------------------------------------------------


async def test_rasa_unreachable_the_widget_is_told_to_retry_and_its_retry_is_answered_once(
    aiohttp_server: ServerFactory,
    settings: Settings,
    switch: RasaSwitch,
    redis_server: RedisServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CJG_CONTENT_DIR", str(content_copy(tmp_path, ALWAYS)))
    server = await aiohttp_server(
        create_app(Settings(**{**settings.__dict__, "rasa_url": switch.url}))
    )
    texts = server.app[TEXTS]
    widget = RasaSocketClient(str(server.make_url("/")))
    plain = RasaSocketClient(str(server.make_url("/")))
    rasa_db = Redis.from_url(redis_server.url(0), decode_responses=True)
    try:
        await widget.connect()
        await plain.connect(last_id=None)  # a Rasa client: no extensions
        await switch.down()

        ack = await retrying(widget, QUESTION)
        assert ack == {
            "ok": False,
            "error": "assistant_unavailable",
            "message": texts.get("assistant_unavailable"),  # if it gives up
            "retry_after": 10,
            "notice": texts.get("retrying"),  # "Dat lukte even niet. Ik probeer het opnieuw…"
        }
        assert await widget.quiet()  # no bot message for it: the widget keeps the message

        # A client that does not retry by itself reads why, as before.
        await plain.say(QUESTION)
        told = [await plain.next("bot_uttered")]
        await plain.quiet()
        told += plain.drain("bot_uttered")  # Rasa's shape: the text, split at blank lines
        assert "\n\n".join(m["text"] for m in told) == texts.get("assistant_unavailable")

        await switch.up()
        assert await retrying(widget, QUESTION) == {"ok": True}
        answers = widget.drain("bot_uttered")
        assert answers and len({m["id"] for m in answers}) == len(answers)
        assert "niet bereikbaar" not in json.dumps(answers)
        assert await widget.quiet(seconds=1)  # nothing more, nothing twice
        cid = server.app[CORE].conversation_id(CHANNEL, widget.session_id or "")
        assert await user_texts(rasa_db, cid) == [QUESTION]  # Rasa got it once
    finally:
        await widget.close()
        await plain.close()
        await rasa_db.aclose()


async def test_with_redis_away_the_crisis_card_comes_at_once_and_the_retry_counts_once(
    aiohttp_server: ServerFactory,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CJG_CONTENT_DIR", str(content_copy(tmp_path, ALWAYS)))
    redis = RedisServer(tmp_path / "redis")
    redis.directory.mkdir()
    redis.start()
    clients: list[RasaSocketClient] = []
    try:
        own = Settings(
            **{**settings.__dict__, "redis_url": redis.url(), "rasa_tracker_redis_url": redis.url()}
        )
        server = await aiohttp_server(create_app(own))
        handoff = server.app[HANDOFF]
        await handoff.heartbeat("anne")  # someone online: an urgent place in the queue
        widget, plain = (RasaSocketClient(str(server.make_url("/"))) for _ in range(2))
        clients += [widget, plain]
        await widget.connect()
        await plain.connect(last_id=None)
        crisis = "ik denk aan zelfmoord"
        redis.stop()

        ack = await retrying(widget, crisis)
        card = await widget.next("bot_uttered")  # at once, before the acknowledgement
        assert "113" in card["text"] and "contacts" in card["custom"]["crisis"]
        assert "id" not in card  # not from the outbox: Redis is away
        assert ack["ok"] is False and ack["error"] == "storage_unavailable"
        assert ack["retry_after"] == 60 and ack["notice"]
        assert await widget.quiet()

        await plain.say(crisis)  # a Rasa client: the card, and why nothing else happens
        said = [await plain.next("bot_uttered")]
        await plain.quiet()
        said += plain.drain("bot_uttered")  # Rasa's shape: texts split at blank lines
        shown = "\n\n".join(m.get("text", "") for m in said)
        assert "113" in shown  # the crisis card first ...
        assert shown.endswith(server.app[TEXTS].get("storage_unavailable"))  # ... then why

        redis.start()  # back, with its data
        for _ in range(50):  # the pool notices the restart at its first use
            answer = await retrying(widget, crisis)
            if answer["ok"]:
                break
            widget.drain("bot_uttered")
            await asyncio.sleep(0.1)
        assert answer == {"ok": True}
        cid = server.app[CORE].conversation_id(CHANNEL, widget.session_id or "")
        conversation = await handoff.conversation(cid)
        assert conversation.state == State.WAITING and await handoff.is_urgent(conversation)
        assert conversation.hid is not None
        said_to_staff = [e.text for e in await handoff.transcript(conversation.hid)]
        assert said_to_staff.count(crisis) == 1  # once, however often it was sent
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()
        redis.stop()


# --- the widget in Chromium --------------------------------------------------------------------


@pytest.fixture
async def service(
    redis_server: RedisServer, rasa_stack: RasaStack, switch: RasaSwitch, tmp_path: Path
) -> AsyncIterator[Service]:
    """The service as its own process, on the widget browser tests' database, with Rasa behind
    the switch (which runs in this event loop: the service is started from a thread)."""
    service = make_service(
        redis_server,
        rasa_stack,
        tmp_path,
        WIDGET_DB,
        staff=(),
        extra_env={"CJG_RASA_URL": switch.url},
    )
    try:
        await asyncio.to_thread(service.start)
        yield service
    finally:  # also when it did not come up: no service is left running
        await asyncio.to_thread(service.stop)


async def test_the_widget_retries_by_itself_and_shows_the_answer_once(
    service: Service, browser: Browser, switch: RasaSwitch, redis_server: RedisServer
) -> None:
    page = await browser.new_page()
    await page.clock.install()  # the retry waits (2, 4, 8, 16 s) are skipped where it helps
    widget = Widget(page)
    await widget.open(service.url)
    notice = service_messages().get("retrying")
    unavailable = service_messages().get("assistant_unavailable")
    connection = widget("#cjg-connection")
    rasa_db = Redis.from_url(redis_server.url(0), decode_responses=True)
    cid = pseudonymise(service.env["CJG_PSEUDONYM_SECRET"], CHANNEL, await widget.session_id())
    bots = widget('.cjg-msg[data-from="bot"]')

    # Rasa down: the widget says it tries again, and does when Rasa is back.
    await switch.down()
    before = await bots.count()
    await widget.send(QUESTION)
    await expect(connection).to_have_text(notice, timeout=10000)
    await switch.up()
    await widget.answered(before)
    await expect(connection).to_be_hidden(timeout=10000)
    await expect(widget.said(QUESTION)).to_have_count(1)  # one bubble
    texts = await widget("#cjg-log .cjg-text").all_inner_texts()
    assert unavailable not in texts
    assert len(texts) == len(set(texts))  # every answer once
    assert await user_texts(rasa_db, cid) == ["/greet", QUESTION]  # Rasa got it once

    # Rasa stays down: after the last try the user reads why and has the text back to send.
    await switch.down()
    second = "en hij wil ook niet eten"
    await widget.send(second)
    await expect(connection).to_have_text(notice, timeout=10000)
    for wait in (2000, 4000, 8000, 16000):
        await page.clock.fast_forward(wait)
        await page.wait_for_timeout(1000)  # the try and its refusal, in real time
    await expect(widget.said(unavailable)).to_have_count(1, timeout=10000)
    await expect(widget.said(second)).to_have_count(0)  # no bubble for what was not sent
    await expect(widget("#cjg-input")).to_have_value(second)
    await expect(connection).to_be_hidden()

    await switch.up()
    before = await bots.count()
    await widget("#cjg-input").press("Enter")
    await widget.answered(before)
    await expect(widget.said(second)).to_have_count(1)
    assert await user_texts(rasa_db, cid) == ["/greet", QUESTION, second]
    await rasa_db.aclose()
