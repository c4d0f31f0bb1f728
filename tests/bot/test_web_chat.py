"""POST /api/chat against the real trained model, Rasa server, action server and Redis."""

from __future__ import annotations

import json
import os
from typing import cast

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request

from bot import Settings, create_app
from common.handoff_payload import HandoffRequest
from handoff.requests import STREAM
from tests.bot.conftest import ClientFactory
from tests.conftest import RasaStack

Client = TestClient[Request, Application]


async def chat(client: Client, sender: str, message: str) -> list[dict[str, object]]:
    response = await client.post("/api/chat", json={"sender": sender, "message": message})
    assert response.status == 200
    body = await response.json()
    assert isinstance(body, list)
    return body


async def test_hallo_gets_a_dutch_welcome_in_rest_format(client: Client) -> None:
    (welcome,) = await chat(client, "parent-1", "hallo")

    assert welcome["recipient_id"] == "parent-1"
    text = str(welcome["text"])
    assert "CJG" in text and "opvoeden" in text
    assert "geen diagnose" in text  # says what it cannot do
    assert "Privacy" in text  # and the one-line privacy note
    assert {"title": "Ik wil een medewerker spreken", "payload": "/ask_human"} in welcome["buttons"]  # type: ignore[operator]


async def test_a_button_payload_sent_back_as_message_works(client: Client) -> None:
    replies = await chat(client, "parent-2", "/ask_human")

    assert "medewerker" in str(replies[0]["text"])
    assert any("custom" in r for r in replies)


async def test_ask_human_is_recognised_and_recorded_without_text_or_raw_id(
    client: Client, settings: Settings
) -> None:
    replies = await chat(client, "parent-3", "ik wil graag met een medewerker praten")

    requests = [HandoffRequest.from_custom(r.get("custom")) for r in replies]
    request = next(r for r in requests if r is not None)
    assert request.reason == "ask_human"
    redis = aioredis.Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        entries = cast(list[tuple[str, dict[str, str]]], await redis.xrange(STREAM))
        stored = json.dumps([fields for _, fields in entries])
        keys = cast(list[str], await redis.keys("*"))
    finally:
        await redis.aclose()
    assert '"reason": "ask_human"' in stored
    assert "parent-3" not in stored and "medewerker praten" not in stored
    assert not any("parent-3" in k for k in keys)  # Rasa's tracker key is a pseudonym too


async def test_html_is_passed_on_as_plain_text_not_markup(client: Client) -> None:
    replies = await chat(client, "parent-4", "<img src=x onerror=alert(1)>")

    assert replies and all("<img" not in str(r.get("text", "")) for r in replies)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{}", "invalid_sender"),
        (b'{"sender": "a"}', "missing_message"),
        (b'{"message": "hallo"}', "invalid_sender"),
        (b"dit is geen json", "invalid_json"),
        (b"[1, 2]", "invalid_json"),
        (os.urandom(512), "invalid_json"),
        (json.dumps({"sender": "a", "message": "x" * 100_000}).encode(), "message_too_long"),
        (json.dumps({"sender": "a" * 65, "message": "hallo"}).encode(), "invalid_sender"),
        (json.dumps({"sender": 42, "message": "hallo"}).encode(), "invalid_sender"),
        (json.dumps({"sender": {"x": 1}, "message": "hallo"}).encode(), "invalid_sender"),
        (json.dumps({"sender": "a", "message": "   \u0000\u0007  "}).encode(), "empty_message"),
        (json.dumps({"sender": "a", "message": 12}).encode(), "missing_message"),
    ],
)
async def test_bad_input_gets_a_400_with_a_json_error(
    client: Client, body: bytes, error: str
) -> None:
    response = await client.post("/api/chat", data=body)

    assert response.status == 400
    payload = await response.json()
    assert payload["error"] == error
    assert payload["message"]  # a Dutch sentence a widget can show


async def test_a_huge_body_gets_413_json(client: Client) -> None:
    response = await client.post("/api/chat", data=b"x" * (300 * 1024))

    assert response.status == 413
    assert (await response.json())["error"] == "body_too_large"


async def test_unknown_paths_get_json_errors(client: Client) -> None:
    response = await client.get("/api/nope")
    assert response.status == 404
    assert (await response.json())["error"] == "not_found"
    response = await client.get("/api/chat")
    assert response.status == 405


async def test_rasa_down_gives_the_friendly_dutch_message(
    aiohttp_client: ClientFactory, settings: Settings, closed_port_url: str
) -> None:
    down = Settings(**{**settings.__dict__, "rasa_url": closed_port_url})
    client = await aiohttp_client(create_app(down))

    (reply,) = await chat(client, "parent-5", "hallo")

    assert str(reply["text"]).startswith("Ik ben even niet bereikbaar")
    assert reply["custom"] == {"service": "assistant_unavailable"}


async def test_rasa_too_slow_gives_the_friendly_message_within_the_timeout(
    aiohttp_client: ClientFactory, settings: Settings, rasa_stack: RasaStack
) -> None:
    impatient = Settings(**{**settings.__dict__, "rasa_timeout": 1.0})
    client = await aiohttp_client(create_app(impatient))
    rasa_stack.pause()
    try:
        (reply,) = await chat(client, "parent-6", "hallo")
    finally:
        rasa_stack.resume()

    assert reply["custom"] == {"service": "assistant_unavailable"}


async def test_rasa_webhook_and_api_refuse_callers_without_the_token(
    client: Client, rasa_stack: RasaStack
) -> None:
    session = client.session
    hook = f"{rasa_stack.url}/webhooks/cjg/webhook"
    async with session.post(hook, json={"sender": "x", "message": "hallo"}) as response:
        assert response.status == 401
    wrong = {"Authorization": "Bearer wrong"}
    async with session.post(hook, json={"sender": "x", "message": "hallo"}, headers=wrong) as r:
        assert r.status == 401
    async with session.get(f"{rasa_stack.url}/status") as response:
        assert response.status == 401


async def test_a_flood_gets_a_friendly_429_but_a_cry_for_help_still_gets_the_card(
    aiohttp_client: ClientFactory, settings: Settings
) -> None:
    own_db = settings.redis_url.rsplit("/", 1)[0] + "/7"  # its urgent handoff queues apart
    strict = Settings(
        **{**settings.__dict__, "redis_url": own_db, "rate_per_sender": 3, "rate_per_address": 6}
    )
    client = await aiohttp_client(create_app(strict))
    for _ in range(3):
        await chat(client, "flood-1", "/greet")
    flooded = await client.post("/api/chat", json={"sender": "flood-1", "message": "hallo"})
    assert flooded.status == 429
    body = await flooded.json()
    assert body["error"] == "rate_limited" and "Wacht even" in body["message"]
    crisis = await chat(client, "flood-1", "ik denk aan zelfmoord")
    assert "crisis" in dict(crisis[0]["custom"])  # type: ignore[call-overload]
    await chat(client, "flood-2", "/greet")  # another sender from the same address ...
    await chat(client, "flood-3", "/greet")
    too_many = await client.post("/api/chat", json={"sender": "flood-4", "message": "hallo"})
    assert too_many.status == 429  # ... until the address itself is over its limit
