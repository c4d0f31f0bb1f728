"""/u and /je in Telegram through the local fake Bot API, with the real Rasa stack (Redis db 21,
shared with tests/bot/test_address.py: each test module empties it first)."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request

from bot import Settings, create_app
from bot.app_keys import CORE, REDIS
from common.address import outside_quotes, to_u
from common.content import service_messages
from handoff import keys
from tests.bot.conftest import ClientFactory
from tests.bot.telegram.fake_bot_api import FakeBotApi
from tests.bot.telegram.test_telegram import TOKEN, ServerFactory
from tests.conftest import RedisServer
from tests.handoff.conftest import ALWAYS, content_copy
from tests.redis_db import fresh_db

Client = TestClient[Request, Application]
JE = re.compile(r"\b(je|jij|jou|jouw)\b", re.IGNORECASE)
DB = 21


@pytest.fixture
async def client(
    aiohttp_server: ServerFactory,  # first: the fake API must outlive the service
    aiohttp_client: ClientFactory,
    settings: Settings,
    redis_server: RedisServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[Client, FakeBotApi]]:
    monkeypatch.setenv("CJG_CONTENT_DIR", str(content_copy(tmp_path, ALWAYS)))
    api = FakeBotApi()
    server = await aiohttp_server(api.app)
    polling = dataclasses.replace(
        settings,
        redis_url=redis_server.url(DB),
        telegram_token=TOKEN,
        telegram_api_url=str(server.make_url("/bot")),
    )
    async with fresh_db(redis_server, DB):
        yield await aiohttp_client(create_app(polling)), api


async def said(api: FakeBotApi, text: str, timeout: float = 30) -> int:
    """Waits until the bot sends exactly ``text`` after everything it sent before; how many
    messages it had sent then."""
    before = len(api.sent())

    async def arrived() -> None:
        async with api.changed:
            await api.changed.wait_for(lambda: text in [m["text"] for m in api.sent()[before:]])

    await asyncio.wait_for(arrived(), timeout)
    return len(api.sent())


async def answer_to(api: FakeBotApi, question: str) -> str:
    """The assistant's whole answer (several messages) to one question."""
    before = len(api.sent())
    api.message(question)
    await api.wait_for("sendMessage", before + 1)
    while True:  # until quiet: the parts of one answer come together
        count = len(api.sent())
        await asyncio.sleep(1.0)
        if len(api.sent()) == count:
            return "\n".join(str(m["text"]) for m in api.sent()[before:])


async def test_u_and_je_switch_the_answers_and_the_commands_own_texts(
    client: tuple[Client, FakeBotApi],
) -> None:
    """/help, /stop and /wissen answer without the core: they follow the choice all the same."""
    app_client, api = client
    texts = service_messages()
    cid = app_client.app[CORE].conversation_id("telegram", str(api.user_id))
    help_je, help_u = texts.get("telegram_help"), to_u(texts.get("telegram_help"))
    assert help_u != help_je and "uw vraag" in help_u and "/u of /je" in help_u

    api.message("/u")
    await said(api, to_u(texts.get("address_u")))
    assert await app_client.app[REDIS].hget(keys.conversation(cid), "address") == "u"
    answer = await answer_to(api, "mijn baby huilt heel veel, wat kan ik doen?")
    assert not JE.search(outside_quotes(answer)) and re.search(r"\b(u|uw)\b", answer)

    api.message("/help")
    await said(api, help_u)
    api.message("/stop")
    await said(api, to_u(texts.get("conversation_stopped")))

    api.message("/je")
    await said(api, texts.get("address_je"))
    api.message("/help")
    await said(api, help_je)

    api.message("/u")
    await said(api, to_u(texts.get("address_u")))
    api.message("/wissen")  # erases the choice too, but says so in the form chosen
    await said(api, to_u(texts.get("conversation_erased")))
    assert to_u(texts.get("conversation_erased")).startswith("Uw gesprek")
    assert not await app_client.app[REDIS].exists(keys.conversation(cid))
    api.message("/help")
    await said(api, help_je)  # a new conversation starts with the setting ("je")
