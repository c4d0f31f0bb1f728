"""The Telegram channel against a local fake Bot API, with the real Rasa stack and Redis."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application, Request
from redis.asyncio import Redis

from bot import Settings, create_app
from bot.app_keys import CORE, REDIS
from bot.pseudonym import pseudonymise
from bot.telegram.chat_ids import ChatIds
from handoff.transcript import Outbox
from handoff.web_keys import HANDOFF
from staff.accounts import Account
from tests.bot.conftest import ClientFactory
from tests.bot.telegram.fake_bot_api import FakeBotApi
from tests.handoff.conftest import ALWAYS, content_copy

ServerFactory = Callable[[Application], Awaitable[TestServer]]
Client = TestClient[Request, Application]
TOKEN = "123456:TEST-token"


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
        }
    )
    yield await aiohttp_client(create_app(polling)), api


def webhook_settings(settings: Settings, api_url: str, secret: str) -> Settings:
    return Settings(
        **{
            **settings.__dict__,
            "telegram_token": TOKEN,
            "telegram_api_url": api_url,
            "telegram_mode": "webhook",
            "telegram_webhook_url": "https://cjg.example/telegram/webhook",
            "telegram_webhook_secret": secret,
        }
    )


async def last_texts(api: FakeBotApi, count: int) -> list[str]:
    return [str(m["text"]) for m in await api.wait_for("sendMessage", count)]


async def test_start_welcomes_with_privacy_and_an_inline_keyboard(
    client: tuple[Client, FakeBotApi],
) -> None:
    _, api = client
    api.message("/start")
    (welcome,) = await api.wait_for("sendMessage", 1)
    assert "Privacy" in welcome["text"] and int(welcome["chat_id"]) == api.user_id
    keyboard = welcome["reply_markup"]["inline_keyboard"]
    assert ["/ask_human"] in [[b.get("callback_data") for b in row] for row in keyboard]
    assert "parse_mode" not in welcome  # plain text: nothing a user typed becomes markup


async def test_a_question_is_answered_and_stickers_get_a_friendly_reply(
    client: tuple[Client, FakeBotApi],
) -> None:
    app_client, api = client
    api.sticker()
    (reply,) = await api.wait_for("sendMessage", 1)
    assert reply["text"] == "Ik kan alleen tekst lezen. Wil je je vraag typen?"
    api.message("mijn peuter van 3 wil niet slapen")
    texts = await last_texts(api, 2)
    assert len(texts[1]) > 40
    # Rasa has the update's id, so an update delivered again is kept once (issue #18).
    cid = app_client.app[CORE].conversation_id("telegram", str(api.user_id))
    events = json.loads(await app_client.app[REDIS].get(f"rasa:tracker:{cid}") or "{}")["events"]
    said = [(e["text"], e["message_id"]) for e in events if e["event"] == "user"]
    assert said == [("mijn peuter van 3 wil niet slapen", "tg-2")]


async def test_buttons_are_answered_and_staff_replies_are_pushed(
    client: tuple[Client, FakeBotApi],
) -> None:
    app_client, api = client
    service = app_client.app[HANDOFF]
    await service.heartbeat("anne")
    api.press("/ask_human")
    sent = await api.wait_for("sendMessage", 2)
    assert api.sent("answerCallbackQuery")  # the button's spinner stops
    assert any("wachtrij" in m["text"] for m in sent)

    cid = app_client.app[CORE].conversation_id("telegram", str(api.user_id))
    hid = (await service.conversation(cid)).hid
    assert hid and await service.claim(hid, Account("anne", "Anne", "staff"))
    assert await service.send(hid, Account("anne", "Anne", "staff"), "Hoi, ik ben Anne.")
    texts = await last_texts(api, len(sent) + 2)
    assert texts[-2].startswith("Anne van het CJG is er nu")
    assert texts[-1] == "Hoi, ik ben Anne."  # pushed exactly once, in order
    await asyncio.sleep(0.5)
    assert len(api.sent()) == len(sent) + 2
    assert await service.close(hid, Account("anne", "Anne", "staff"), {"topic": "anders"})


async def test_the_raw_telegram_id_is_never_stored_and_wissen_erases(
    client: tuple[Client, FakeBotApi],
) -> None:
    app_client, api = client
    api.message("hallo")
    api.message("mijn zoon van 8 wil niet naar school")
    await api.wait_for("sendMessage", 2)
    redis = app_client.app[REDIS]
    keys = [str(k) for k in await redis.keys("*")]
    assert not any(str(api.user_id) in k for k in keys)
    for key in keys:
        if await redis.type(key) == "string":
            assert str(api.user_id) not in str(await redis.get(key))

    cid = app_client.app[CORE].conversation_id("telegram", str(api.user_id))
    assert await redis.exists(f"rasa:tracker:{cid}", f"cjg:tg:chat:{cid}") == 2
    api.message("/wissen")
    await api.wait_for_text("Je gesprek is gewist")
    assert await redis.exists(f"rasa:tracker:{cid}", f"cjg:tg:chat:{cid}") == 0


async def test_an_expired_long_button_gets_a_friendly_reply(
    client: tuple[Client, FakeBotApi],
) -> None:
    _, api = client
    api.press("t:bestaat-niet")
    (reply,) = await api.wait_for("sendMessage", 1)
    assert "knop" in reply["text"]


async def test_flood_limits_are_waited_out_and_nothing_is_lost(
    client: tuple[Client, FakeBotApi],
) -> None:
    _, api = client
    api.flood("sendMessage", times=2, retry_after=1)
    started = time.monotonic()
    api.message("/start")
    (welcome,) = await api.wait_for("sendMessage", 1)
    assert api.rejected == 2  # Telegram said "too many requests" twice ...
    assert time.monotonic() - started >= 2  # ... and the bot waited as told each time
    assert "Privacy" in welcome["text"]


async def test_webhook_mode_registers_the_secret_and_checks_it(
    aiohttp_server: ServerFactory,
    aiohttp_client: ClientFactory,
    settings: Settings,
) -> None:
    api = FakeBotApi()
    server = await aiohttp_server(api.app)
    secret = "webhook-secret-0123456789"
    webhook = webhook_settings(settings, str(server.make_url("/bot")), secret)
    client = await aiohttp_client(create_app(webhook))
    (registered,) = api.sent("setWebhook")
    assert registered["secret_token"] == secret
    assert registered["url"] == "https://cjg.example/telegram/webhook"

    update = api.update_json("hallo")
    wrong = await client.post("/telegram/webhook", json=update)
    assert wrong.status == 403
    right = await client.post(
        "/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
    )
    assert right.status == 200
    (welcome,) = await api.wait_for("sendMessage", 1)
    assert "CJG" in welcome["text"]


async def test_the_webhook_path_takes_no_updates_in_polling_mode(
    client: tuple[Client, FakeBotApi],
) -> None:
    """In polling mode no webhook secret is set: an open path would take anyone's made-up
    update as Telegram's, in any user's name (their /wissen, their messages to staff)."""
    service, api = client
    forged = await service.post("/telegram/webhook", json=api.update_json("/wissen"))
    assert forged.status == 404
    api.message("/help")  # the real updates still come in by polling
    (reply,) = await api.wait_for("sendMessage", 1)
    assert "/wissen" in reply["text"]
    assert len(api.sent()) == 1  # the forged /wissen did nothing


async def test_webhook_mode_answers_buttons_and_pushes_staff_replies(
    aiohttp_server: ServerFactory,
    aiohttp_client: ClientFactory,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CJG_CONTENT_DIR", str(content_copy(tmp_path, ALWAYS)))
    api = FakeBotApi()
    server = await aiohttp_server(api.app)
    secret = "webhook-secret-0123456789"
    webhook = webhook_settings(settings, str(server.make_url("/bot")), secret)
    client = await aiohttp_client(create_app(webhook))
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret}

    async def post(update: dict[str, Any]) -> None:
        response = await client.post("/telegram/webhook", json=update, headers=headers)
        assert response.status == 200

    await post(api.update_json("/start"))
    assert "Privacy" in (await api.wait_for("sendMessage", 1))[0]["text"]
    await post(api.update_json("mijn peuter van 3 wil niet slapen"))
    assert len((await api.wait_for("sendMessage", 2))[1]["text"]) > 40

    service = client.app[HANDOFF]
    await service.heartbeat("anne")
    await post(api.press_json("/ask_human"))
    await api.wait_for_text("Je staat in de wachtrij")
    assert api.sent("answerCallbackQuery")
    cid = client.app[CORE].conversation_id("telegram", str(api.user_id))
    hid = (await service.conversation(cid)).hid
    assert hid and await service.claim(hid, Account("anne", "Anne", "staff"))
    assert await service.send(hid, Account("anne", "Anne", "staff"), "Hoi, ik ben Anne.")
    pushed = await api.wait_for_text("Hoi, ik ben Anne.")
    assert int(pushed["chat_id"]) == api.user_id
    assert await service.close(hid, Account("anne", "Anne", "staff"), {"topic": "anders"})


async def test_a_staff_reply_sent_while_the_service_was_down_arrives_at_start(
    aiohttp_server: ServerFactory,
    aiohttp_client: ClientFactory,
    settings: Settings,
) -> None:
    api = FakeBotApi()
    server = await aiohttp_server(api.app)
    api_url = str(server.make_url("/bot"))
    polling = Settings(
        **{**settings.__dict__, "telegram_token": TOKEN, "telegram_api_url": api_url}
    )
    app = create_app(polling)
    async with Redis.from_url(settings.redis_url, decode_responses=True) as redis:
        cid = pseudonymise(settings.pseudonym_secret, "telegram", str(api.user_id))
        await ChatIds(redis, settings.pseudonym_secret, 3600).remember(cid, api.user_id)
        outbox = Outbox(redis, 3600)
        await outbox.push(cid, {"text": "Antwoord op je bericht van gisteren."})
        await aiohttp_client(app)  # the service starts; nobody announces the message again
        pushed = await api.wait_for_text("Antwoord op je bericht van gisteren.")
        assert int(pushed["chat_id"]) == api.user_id


async def test_without_a_token_telegram_is_off(
    aiohttp_client: ClientFactory, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    client = await aiohttp_client(create_app(settings))
    assert "Telegram is off: CJG_TELEGRAM_TOKEN is not set" in caplog.text
    assert (await client.post("/telegram/webhook", json={})).status == 404


async def test_stop_ends_a_waiting_handoff(client: tuple[Client, FakeBotApi]) -> None:
    app_client, api = client
    service = app_client.app[HANDOFF]
    await service.heartbeat("anne")
    api.press("/ask_human")
    await api.wait_for_text("Je staat in de wachtrij")
    api.message("/stop")
    await api.wait_for_text("Het gesprek is beëindigd")
    cid = app_client.app[CORE].conversation_id("telegram", str(api.user_id))
    assert (await service.conversation(cid)).state == "bot"


async def test_an_unreachable_telegram_leaves_the_web_chat_running(
    aiohttp_client: ClientFactory,
    settings: Settings,
    closed_port_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    unreachable = Settings(
        **{**settings.__dict__, "telegram_token": TOKEN, "telegram_api_url": closed_port_url}
    )
    client = await aiohttp_client(create_app(unreachable))
    assert "Telegram could not start (NetworkError)" in caplog.text
    response = await client.post("/api/chat", json={"message": "hallo"})
    assert response.status == 200


async def test_in_a_group_the_bot_only_says_it_works_in_a_private_chat(
    client: tuple[Client, FakeBotApi],
) -> None:
    """No conversation in a group: a handoff's replies (and later staff's) would be read by
    everyone in it, and the group would be remembered as the parent's chat."""
    app_client, api = client
    service = app_client.app[HANDOFF]
    await service.heartbeat("anne")
    api.group_message("/start")
    api.group_message("ik wil een medewerker spreken", chat_type="supergroup")
    api.message("/help")  # updates are handled in order: once this is answered, so are those
    (private,) = await api.wait_for("sendMessage", 1)
    assert private["text"].startswith("Ik ben de digitale assistent")

    note = "Ik werk alleen in een privégesprek."
    assert [str(m["text"])[: len(note)] for m in api.to_group()] == [note, note]
    cid = app_client.app[CORE].conversation_id("telegram", str(api.user_id))
    assert (await service.conversation(cid)).state == "bot"  # no handoff was started
    assert not await app_client.app[REDIS].exists(f"cjg:tg:chat:{cid}", f"rasa:tracker:{cid}")
