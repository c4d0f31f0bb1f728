"""A callback request on Telegram: the same questions as in the widget (the flow is in the
conversation core), rendered as inline buttons; the number never reaches Rasa's tracker, and
/wissen erases the request."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application, Request

from bot import Settings, create_app
from bot.app_keys import CORE, REDIS
from common.payload import ASK_CALLBACK
from handoff.web_keys import CALLBACKS
from tests.bot.conftest import ClientFactory
from tests.bot.telegram.fake_bot_api import FakeBotApi
from tests.handoff.conftest import ALWAYS, content_copy

ServerFactory = Callable[[Application], Awaitable[TestServer]]
Client = TestClient[Request, Application]
TOKEN = "123456:TEST-token"
KEY = "0f" * 32


@pytest.fixture
async def client(
    aiohttp_server: ServerFactory,  # first: the fake API must outlive the service
    aiohttp_client: ClientFactory,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[Client, FakeBotApi]]:
    monkeypatch.setenv("CJG_CONTENT_DIR", str(content_copy(tmp_path, ALWAYS)))
    api = FakeBotApi()
    server = await aiohttp_server(api.app)
    polling = Settings(
        **{
            **settings.__dict__,
            "telegram_token": TOKEN,
            "telegram_api_url": str(server.make_url("/bot")),
            "callback_key": KEY,
        }
    )
    yield await aiohttp_client(create_app(polling)), api


def buttons(message: dict[str, object]) -> list[str]:
    markup = message.get("reply_markup")
    assert isinstance(markup, dict)
    return [str(b.get("callback_data")) for row in markup["inline_keyboard"] for b in row]


async def test_a_callback_request_on_telegram(client: tuple[Client, FakeBotApi]) -> None:
    app_client, api = client
    api.press(ASK_CALLBACK)
    consent = await api.wait_for_text("Je wilt graag teruggebeld worden")
    assert "/cjg_callback_yes" in buttons(consent)
    api.press("/cjg_callback_yes")
    await api.wait_for_text("Wat is je telefoonnummer?")
    api.message("+31 6 4732 9185")
    parts = await api.wait_for_text("Dank je. Wanneer komt het je het best uit")
    assert "/cjg_callback_any" in buttons(parts)
    api.press("/cjg_callback_any")
    done = await api.wait_for_text("Je terugbelverzoek staat klaar")
    assert "We proberen je " in str(done["text"])

    desk = app_client.app[CALLBACKS]
    (request,) = [c for c in await desk.listed() if c.channel == "telegram"]
    redis = app_client.app[REDIS]
    cid = app_client.app[CORE].conversation_id("telegram", str(api.user_id))
    tracker = str(await redis.get(f"rasa:tracker:{cid}"))
    assert "ask_human" in tracker and "4732" not in tracker  # Rasa saw the wish, not the number

    api.message("/wissen")
    await api.wait_for_text("Je gesprek is gewist")
    assert request.id not in [c.id for c in await desk.listed()]
    assert not await redis.exists(f"cjg:callback:{request.id}:number")
