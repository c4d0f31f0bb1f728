"""The widget's own message ids (``cjg_mid``): the same message sent again, after a lost
acknowledgement or on another instance, is handled once; a message that was not kept is handled
when it comes again (issue #18). With staff, so no Rasa is needed; Redis database 25."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from aiohttp.web import Application
from redis.asyncio import Redis

from bot import Settings, create_app
from bot.pseudonym import pseudonymise
from bot.widget.channel import CHANNEL
from handoff import keys
from handoff.store import HandoffStore
from handoff.web_keys import HANDOFF
from tests.bot.widget.socket_client import RasaSocketClient
from tests.conftest import RedisServer, free_port
from tests.replicas import master_and_replica

ServerFactory = Callable[[Application], Awaitable[TestServer]]
DB = 25
SECRET = "message-ids-test-secret-of-32-chars!"


def settings_for(redis_server: RedisServer, **extra: Any) -> Settings:
    return Settings(
        redis_url=redis_server.url(DB),
        rasa_url=f"http://127.0.0.1:{free_port()}",  # with staff, Rasa is never asked
        rasa_token="message-ids-test-token",
        pseudonym_secret=SECRET,
        **extra,
    )


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url(DB), decode_responses=True)
    await client.flushdb()
    yield client
    await client.aclose()


async def with_staff(server: TestServer, redis: Redis) -> tuple[RasaSocketClient, str, str]:
    """A widget whose conversation Anne has: its client, pseudonym and handoff id."""
    client = RasaSocketClient(str(server.make_url("/")))
    session_id = await client.connect()
    cid = pseudonymise(SECRET, CHANNEL, session_id)
    handoff = server.app[HANDOFF]
    await handoff.heartbeat("anne")
    store = HandoffStore(redis, 3600)
    hid, _ = await store.enqueue(cid, CHANNEL, reason="ask_human", urgent=False, summary={})
    assert await store.claim(hid, "anne")
    return client, cid, hid


async def send(client: RasaSocketClient, message: str, mid: str) -> Any:
    data = {"message": message, "session_id": client.session_id, "cjg_retry": True, "cjg_mid": mid}
    return await client.sio.call("user_uttered", data, timeout=30)


async def test_the_same_message_id_is_handled_once(
    aiohttp_server: ServerFactory, redis_server: RedisServer, redis: Redis
) -> None:
    server = await aiohttp_server(create_app(settings_for(redis_server)))
    client, cid, hid = await with_staff(server, redis)
    try:
        mid = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
        assert await send(client, "Hoe laat kan ik bellen?", mid) == {"ok": True}
        # The acknowledgement was lost: the widget sends it again (here, a second socket of
        # the session, as after a reconnect to another instance).
        again = RasaSocketClient(str(server.make_url("/")))
        await again.connect(session_id=client.session_id)
        assert await send(again, "Hoe laat kan ik bellen?", mid) == {"ok": True}
        assert await send(client, "Hoe laat kan ik bellen?", mid) == {"ok": True}
        # The same words with a new id are a new message.
        assert await send(client, "Hoe laat kan ik bellen?", "f" * 32) == {"ok": True}
        said = [e.text for e in await server.app[HANDOFF].transcript(hid) if e.role == "user"]
        assert said == ["Hoe laat kan ik bellen?"] * 2
        assert await redis.get(keys.client_message(cid, mid)) == "kept"
        assert 0 < await redis.ttl(keys.client_message(cid, mid)) <= 3600
        await again.close()
    finally:
        await client.close()


async def test_a_message_still_being_answered_is_not_answered_twice(
    aiohttp_server: ServerFactory, redis_server: RedisServer, redis: Redis
) -> None:
    server = await aiohttp_server(create_app(settings_for(redis_server)))
    client, cid, hid = await with_staff(server, redis)
    try:
        mid = "0123456789abcdef0123456789abcdef"
        await redis.set(keys.client_message(cid, mid), "pending", ex=60)  # another instance
        answer = await send(client, "Is er iemand?", mid)
        assert answer["ok"] is False and answer["error"] == "in_progress"
        assert answer["retry_after"] > 0  # the widget asks again
        assert await server.app[HANDOFF].transcript(hid) == []
    finally:
        await client.close()


async def test_a_message_the_replica_did_not_confirm_is_kept_once_when_it_comes_again(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    """Not confirmed by the replica it must wait for (frozen): not acknowledged, so the widget
    sends it again; the retry after the replica caught up finds it kept and delivers it, so
    staff read it once (before, its id was freed and the retry wrote it a second time)."""
    async with master_and_replica(tmp_path) as (master_server, replica_server):
        settings = settings_for(master_server, redis_wait_replicas=1, redis_wait_timeout_ms=50)
        server = await aiohttp_server(create_app(settings))
        redis = Redis.from_url(master_server.url(DB), decode_responses=True)
        client, _, hid = await with_staff(server, redis)
        try:
            assert replica_server.process is not None
            replica_server.process.send_signal(signal.SIGSTOP)
            mid = "fedcba9876543210fedcba9876543210"
            try:
                answer = await send(client, "Komt dit aan?", mid)
            finally:
                replica_server.process.send_signal(signal.SIGCONT)
            assert answer["ok"] is False and answer["error"] == "storage_unavailable"
            assert answer["notice"]  # "Dat lukte even niet. Ik probeer het opnieuw…"
            for _ in range(40):  # the replica catches up within a moment
                again = await send(client, "Komt dit aan?", mid)
                if again == {"ok": True}:
                    break
                await asyncio.sleep(0.25)
            assert again == {"ok": True}
            said = [e.text for e in await server.app[HANDOFF].transcript(hid) if e.role == "user"]
            assert said == ["Komt dit aan?"]
        finally:
            await client.close()
            await redis.aclose()
