"""When Redis refuses a write (out of memory under ``maxmemory`` + ``noeviction``) or is away,
the service answers politely: a Dutch text and, on the JSON API, 503 with Retry-After; never a
500. A crisis message reads the card all the same, and a message that got 503 was not kept, so
sending it again adds it once.

Uses the real test Redis, made full for the length of a test and then restored, and a
redis-server of its own that is stopped and started again.
"""

from __future__ import annotations

import asyncio
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
from bot.app_keys import API_TOKENS, CORE, REDIS, TEXTS
from bot.conversation import Incoming
from bot.text_input import StorageUnavailable
from bot.web_chat import TOKEN_HEADER
from common.handoff_payload import HandoffRequest
from common.names import Reason, State
from handoff.requests import STREAM as REQUESTS
from handoff.service import HandoffService
from handoff.web_keys import HANDOFF
from staff.web_keys import ACCOUNTS
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


async def post_message(client: Client, text: str, token: str | None = None) -> ClientResponse:
    """One message through the JSON API: in the token's conversation, or a new one."""
    headers = {TOKEN_HEADER: token} if token else {}
    return await client.post("/api/chat", json={"message": text}, headers=headers)


async def new_token(client: Client) -> tuple[str, str]:
    """A conversation token the server issued, and its conversation's pseudonym."""
    tokens = client.app[API_TOKENS]
    token = tokens.new()
    cid = client.app[CORE].conversation_id("api", token)
    await tokens.issue(token, cid)
    return token, cid


async def user_lines(service: HandoffService, cid: str) -> list[str]:
    hid = (await service.conversation(cid)).hid
    assert hid is not None
    return [e.text for e in await service.transcript(hid) if e.role == "user"]


async def test_a_full_redis_gets_a_polite_503_with_retry_after(
    client: Client, redis: Redis
) -> None:
    login = await client.post("/staff/api/login", json={"username": "anne", "password": PASSWORD})
    csrf = str((await login.json())["csrf"])
    service = client.app[HANDOFF]
    cid = client.app[CORE].conversation_id("api", "waiting-parent")
    await service.heartbeat("anne")
    await service.begin(cid, "api", HandoffRequest(Reason.ASK_HUMAN), [])
    hid = (await service.conversation(cid)).hid
    claimed = await client.post(f"/staff/api/handoffs/{hid}/claim", headers={"X-CSRF-Token": csrf})
    assert claimed.status == 200
    polite = client.app[TEXTS].get("storage_unavailable")
    waiting, waiting_cid = await new_token(client)  # a user waiting for staff
    await service.begin(waiting_cid, "api", HandoffRequest(Reason.ASK_HUMAN), [])

    async with redis_full(redis):
        response = await post_message(client, "hallo")
        assert response.status == 503
        assert response.headers["Retry-After"] == "60"  # CJG_RETRY_AFTER_STORAGE
        assert await response.json() == {"error": "storage_unavailable", "message": polite}

        # A cry for help still gets the crisis card, whatever Redis says: in the 503, since
        # no urgent handoff could be kept (the client sends it again).
        crisis = await post_message(client, "ik denk aan zelfmoord")
        assert crisis.status == 503 and crisis.headers["Retry-After"] == "60"
        body = await crisis.json()
        assert body["error"] == "storage_unavailable" and body["message"] == polite
        assert "contacts" in body["crisis"]["custom"]["crisis"]
        assert "recipient_id" not in body["crisis"]  # never the token

        # A message for staff that got 503 is not in the transcript ...
        kept = await post_message(client, "mijn vraag voor de medewerker", waiting)
        assert kept.status == 503
        assert await user_lines(service, waiting_cid) == []

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

    after = await post_message(client, "/cjg_cancel")  # Redis takes writes again
    assert after.status == 200
    # ... and sent again, it is there once.
    again = await post_message(client, "mijn vraag voor de medewerker", waiting)
    assert again.status == 200
    assert await user_lines(service, waiting_cid) == ["mijn vraag voor de medewerker"]


async def test_with_redis_away_a_crisis_message_reads_the_card_and_its_retry_counts_once(
    aiohttp_client: ClientFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CJG_CONTENT_DIR", str(content_copy(tmp_path, ALWAYS)))
    server = RedisServer(tmp_path / "redis")
    server.directory.mkdir()
    server.start()
    try:
        settings = Settings(
            redis_url=server.url(),
            rasa_tracker_redis_url=server.url(),
            rasa_url=f"http://127.0.0.1:{free_port()}",  # the crisis path does not need Rasa
            rasa_token="t" * 32,
            pseudonym_secret="s" * 32,
        )
        client = await aiohttp_client(create_app(settings))
        service = client.app[HANDOFF]
        await service.heartbeat("anne")  # someone online: an urgent place in the queue
        token, cid = await new_token(client)
        server.stop()

        for presented in (token, None):  # the token cannot even be checked; a new conversation
            response = await post_message(client, "ik denk aan zelfmoord", presented)
            assert response.status == 503, presented
            assert response.headers["Retry-After"] == "60"
            body = await response.json()
            assert body["error"] == "storage_unavailable"
            assert "113" in body["crisis"]["text"]
            assert TOKEN_HEADER not in response.headers
        plain = await post_message(client, "hallo", token)
        assert plain.status == 503 and "crisis" not in await plain.json()

        server.start()  # back, with its data
        for _ in range(50):  # the pool notices the restart at its first use
            retried = await post_message(client, "ik denk aan zelfmoord", token)
            if retried.status != 503:
                break
            await asyncio.sleep(0.1)
        assert retried.status == 200
        replies = await retried.json()
        assert "contacts" in replies[0]["custom"]["crisis"]
        conversation = await service.conversation(cid)
        assert conversation.state == State.WAITING and await service.is_urgent(conversation)
        assert await user_lines(service, cid) == ["ik denk aan zelfmoord"]  # once
        assert await client.app[REDIS].xlen(REQUESTS) == 1  # one urgent handoff
    finally:
        server.stop()
