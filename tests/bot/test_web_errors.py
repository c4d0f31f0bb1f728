"""When Redis refuses a write (out of memory under ``maxmemory`` + ``noeviction``), the service
answers politely: a Dutch text and, on the JSON API, 503 with Retry-After; never a 500.

Uses the real test Redis, made full for the length of the test and then restored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import cast

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot import Settings, create_app
from bot.app_keys import CORE, TEXTS
from bot.conversation import Incoming
from bot.text_input import StorageUnavailable
from common.handoff_payload import HandoffRequest
from handoff.web_keys import ACCOUNTS, HANDOFF
from tests.bot.conftest import ClientFactory
from tests.conftest import RedisServer, free_port
from tests.handoff.conftest import ALWAYS, content_copy
from tests.redis_db import fresh_db

Client = TestClient[Request, Application]
FULL_DB = 7  # shared with the flood tests; flushed before each test
PASSWORD = "een-lang-wachtwoord-123"


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    async with fresh_db(redis_server, FULL_DB) as client:
        yield client


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory,
    redis_server: RedisServer,
    redis: Redis,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Client:
    monkeypatch.setenv("CJG_CONTENT_DIR", str(content_copy(tmp_path, ALWAYS)))
    settings = Settings(
        redis_url=redis_server.url(FULL_DB),  # the fixture's URL
        rasa_url=f"http://127.0.0.1:{free_port()}",  # Redis is refused before Rasa is asked
        rasa_token="t" * 32,
        pseudonym_secret="s" * 32,
    )
    client = await aiohttp_client(create_app(settings))
    await client.app[ACCOUNTS].add("anne", "Anne", PASSWORD)
    return client


@asynccontextmanager
async def redis_full(redis: Redis) -> AsyncIterator[None]:
    """Redis at its ``maxmemory`` with ``noeviction``, as in production when it is full."""
    before = cast(dict[str, str], await redis.config_get("maxmemory*"))
    await redis.config_set("maxmemory-policy", "noeviction")
    await redis.config_set("maxmemory", 1)
    try:
        with pytest.raises(ResponseError, match="maxmemory"):  # OutOfMemoryError
            await redis.set("cjg:test:probe", "x")
        yield
    finally:
        await redis.config_set("maxmemory", before["maxmemory"])
        await redis.config_set("maxmemory-policy", before["maxmemory-policy"])


async def post_message(client: Client, sender: str, text: str) -> ClientResponse:
    """One message through the JSON API."""
    return await client.post("/api/chat", json={"sender": sender, "message": text})


async def test_a_full_redis_gets_a_polite_503_with_retry_after(
    client: Client, redis: Redis
) -> None:
    login = await client.post("/staff/api/login", json={"username": "anne", "password": PASSWORD})
    csrf = str((await login.json())["csrf"])
    service = client.app[HANDOFF]
    cid = client.app[CORE].conversation_id("api", "waiting-parent")
    await service.presence.heartbeat("anne")
    await service.begin(cid, "api", HandoffRequest("ask_human"), [])
    hid = (await service.conversation(cid)).hid
    claimed = await client.post(f"/staff/api/handoffs/{hid}/claim", headers={"X-CSRF-Token": csrf})
    assert claimed.status == 200
    polite = client.app[TEXTS].get("storage_unavailable")

    async with redis_full(redis):
        response = await post_message(client, "parent-1", "hallo")
        assert response.status == 503
        assert int(response.headers["Retry-After"]) > 0
        assert await response.json() == {"error": "storage_unavailable", "message": polite}

        # A cry for help still gets the crisis card, whatever Redis says.
        crisis = await post_message(client, "parent-2", "ik denk aan zelfmoord")
        assert crisis.status == 200
        card = (await crisis.json())[0]
        assert "contacts" in card["custom"]["crisis"]

        # Staff get the same instead of a 500.
        sent = await client.post(
            f"/staff/api/handoffs/{hid}/messages",
            json={"text": "Hoi, ik ben Anne."},
            headers={"X-CSRF-Token": csrf},
        )
        assert sent.status == 503 and sent.headers["Retry-After"]
        assert (await sent.json())["error"] == "storage_unavailable"

        # The widget and Telegram show the same text (they catch InputRejected).
        with pytest.raises(StorageUnavailable):
            await client.app[CORE].handle(Incoming("widget", "w-1", "hallo"))

    after = await post_message(client, "parent-1", "/cjg_cancel")  # Redis takes writes again
    assert after.status == 200
