"""What "accepted" means: an acknowledged message survives a crash (handoff/durability.py).

These tests start Redis servers of their own (they kill one, and make another a replica), so
the session's Redis is only read (its config). Database 25 of it is this module's.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from aiohttp.web import Request
from redis.asyncio import Redis

from bot import Settings, create_app
from bot.config import ConfigError
from bot.credentials import api_tokens
from bot.pseudonym import pseudonymise
from bot.web_chat import TOKEN_HEADER
from common.content import service_messages
from handoff import keys
from handoff.durability import Durability, NotReplicated
from handoff.presence import Presence
from handoff.service import HandoffService, Timing
from handoff.store import HandoffStore
from handoff.transcript import Outbox, Transcript
from staff.accounts import Account, Accounts
from tests.conftest import ROOT, RedisServer, _http_ok, wait_until
from tests.replicas import master_and_replica
from tests.servers import STACK_APPENDFSYNC, Service, free_port

DB = 25
PASSWORD = "duurzaam-wachtwoord-lang"
ANNE = Account("anne", "Anne", "staff")


def _service(redis: Redis, durability: Durability | None = None) -> HandoffService:
    return HandoffService(
        redis, service_messages(), Presence(redis, 600), lambda: None,  # type: ignore[arg-type,return-value]
        Timing(silent_seconds=3600, retention_seconds=3600), durability=durability,
    )  # fmt: skip


async def test_the_stack_redis_fsyncs_every_write(redis_server: RedisServer) -> None:
    """With ``everysec`` a crash of the machine loses up to a second of acknowledged messages;
    a SIGKILL of Redis alone would not show it, so the configuration itself is checked: the
    one scripts/prepare-env writes for the stack, and the one the tests and benchmarks run."""
    prepare = (ROOT / "scripts" / "prepare-env").read_text()
    assert re.findall(r"^appendfsync (.+)$", prepare, re.MULTILINE) == ["$REDIS_APPENDFSYNC"]
    assert re.search(r"^appendonly yes$", prepare, re.MULTILINE)
    defaults = (ROOT / "defaults.env").read_text()
    assert re.findall(r"^REDIS_APPENDFSYNC=(.*)$", defaults, re.MULTILINE) == ["always"]
    assert STACK_APPENDFSYNC == "always"
    client = Redis.from_url(redis_server.url(DB), decode_responses=True)
    try:
        assert await client.config_get("appendfsync") == {"appendfsync": "always"}
        assert await client.config_get("appendonly") == {"appendonly": "yes"}
    finally:
        await client.aclose()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.directory.mkdir()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def service_alone(own_redis: RedisServer, tmp_path: Path) -> Iterator[tuple[Service, str]]:
    """The messaging service on ``own_redis``, without Rasa (with staff, none is asked), and
    its pseudonym secret."""
    secret = secrets.token_hex(32)
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CJG_HOST": "127.0.0.1",
        "CJG_PORT": str(port),
        **own_redis.env(),
        "CJG_RASA_URL": f"http://127.0.0.1:{free_port()}",
        "RASA_TOKEN": "durability-test-token",
        "CJG_PSEUDONYM_SECRET": secret,
        "CJG_CONTENT_DIR": str(ROOT / "content"),
        "CJG_RATE_PER_SENDER": "1000000",
        "CJG_RATE_PER_ADDRESS": "1000000",
    }
    service = Service(f"http://127.0.0.1:{port}", env, tmp_path / "service.log")
    with service.log.open("ab") as log:  # not Service.start: /health is 503 without Rasa
        service.process = subprocess.Popen(
            [sys.executable, "-m", "bot"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    wait_until(lambda: _http_ok(service.url + "/api/openapi.json"), 60, "service", service.process)
    yield service, secret
    service.stop()


async def test_acknowledged_messages_survive_a_sigkill_of_redis(
    own_redis: RedisServer, service_alone: tuple[Service, str]
) -> None:
    """Parents write through the API and a staff member answers through the staff API, all at
    once; Redis is killed (SIGKILL, no chance to save) right after the last acknowledgement
    and started again on its files: every acknowledged message is there, exactly once."""
    process, secret = service_alone
    redis = Redis.from_url(own_redis.url(), decode_responses=True)
    await Accounts(redis).add("anne", "Anne", PASSWORD)
    service, store = _service(redis), HandoffStore(redis, 3600)
    await service.heartbeat("anne")
    issued = api_tokens(redis, 3600)
    conversations: list[tuple[str, str, str]] = []  # token, cid, hid
    for _ in range(4):
        token = issued.new()
        cid = pseudonymise(secret, "api", token)
        await issued.issue(token, cid)
        hid, _ = await store.enqueue(cid, "api", reason="ask_human", urgent=False, summary={})
        conversations.append((token, cid, hid))
    await redis.aclose()

    user_acked: dict[str, list[str]] = {hid: [] for _, _, hid in conversations}
    staff_acked: dict[str, list[str]] = {hid: [] for _, _, hid in conversations}
    try:
        jar = aiohttp.CookieJar(unsafe=True)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(cookie_jar=jar, timeout=timeout) as http:
            async with http.post(
                process.url + "/staff/api/login", json={"username": "anne", "password": PASSWORD}
            ) as response:
                assert response.status == 200
                csrf = {"X-CSRF-Token": (await response.json())["csrf"]}
            for _, _, hid in conversations:
                async with http.post(
                    f"{process.url}/staff/api/handoffs/{hid}/claim", headers=csrf
                ) as response:
                    assert response.status == 200

            async def parent(token: str, hid: str) -> None:
                for n in range(15):
                    text = f"vraag van ouder {hid[:4]} nummer {n}"
                    async with http.post(
                        process.url + "/api/chat",
                        json={"message": text},
                        headers={TOKEN_HEADER: token},
                    ) as response:
                        assert response.status == 200, await response.text()
                        assert await response.json() == []
                    user_acked[hid].append(text)

            async def staff(hid: str) -> None:
                for n in range(15):
                    text = f"antwoord van Anne {hid[:4]} nummer {n}"
                    async with http.post(
                        f"{process.url}/staff/api/handoffs/{hid}/messages",
                        json={"text": text},
                        headers=csrf,
                    ) as response:
                        assert response.status == 200, await response.text()
                    staff_acked[hid].append(text)

            await asyncio.gather(
                *(parent(token, hid) for token, _, hid in conversations),
                *(staff(hid) for _, _, hid in conversations),
            )
            assert own_redis.process is not None
            own_redis.process.send_signal(signal.SIGKILL)  # right after the last "200"
            own_redis.process.wait(10)
    finally:
        process.stop()  # before Redis is back: nothing it does afterwards can count

    own_redis.start()  # the same port, password and files
    redis = Redis.from_url(own_redis.url(), decode_responses=True)
    try:
        transcript, outbox = Transcript(redis, 3600), Outbox(redis, 3600)
        for _, cid, hid in conversations:
            entries = await transcript.read(hid)
            said = [e.text for e in entries if e.role == "user"]
            answered = [e.text for e in entries if e.role == "staff"]
            assert said == user_acked[hid]  # all of them, each once, in order
            assert answered == staff_acked[hid]
            delivered = [m["text"] for _, m in await outbox.read(cid, count=1000)]
            assert [t for t in delivered if t.startswith("antwoord")] == staff_acked[hid]
        assert sum(len(v) for v in user_acked.values()) == 60
    finally:
        await redis.aclose()


@pytest.fixture
async def replicated(tmp_path: Path) -> AsyncIterator[tuple[Redis, RedisServer]]:
    """A master and one replica (tests/replicas.py): a client of the master, the replica."""
    async with master_and_replica(tmp_path) as (master_server, replica_server):
        master = Redis.from_url(master_server.url(DB), decode_responses=True)
        try:
            yield master, replica_server
        finally:
            await master.aclose()


async def test_without_replicas_nothing_is_waited_for(redis_server: RedisServer) -> None:
    client = Redis.from_url(redis_server.url(DB), decode_responses=True)
    try:
        await client.flushdb()
        await Durability(replicas=0).confirm(client)
        assert await client.exists(keys.REPLICATION_MARK) == 0  # not even the probe write
    finally:
        await client.aclose()


async def test_a_staff_reply_waits_for_the_replica(
    replicated: tuple[Redis, RedisServer],
) -> None:
    """With a replica required, a staff reply returns once the replica has it; with the
    replica frozen, the reply fails (a RedisError: the console gets a 503, not "sent")."""
    master, replica_server = replicated
    service = _service(master, Durability(replicas=1, timeout_ms=2000))  # a busy machine is slow
    store = HandoffStore(master, 3600)
    await service.heartbeat("anne")
    hid, _ = await store.enqueue("cid-replica", "api", reason="ask_human", urgent=False, summary={})
    assert await store.claim(hid, "anne")

    assert await service.send(hid, ANNE, "Hallo, ik ben Anne.") is not None
    replica = Redis.from_url(replica_server.url(DB), decode_responses=True)
    try:
        # WAIT returned: the replica has the transcript entry already, without any polling.
        assert await replica.xlen(keys.transcript(hid)) == await master.xlen(keys.transcript(hid))
    finally:
        await replica.aclose()

    assert replica_server.process is not None
    replica_server.process.send_signal(signal.SIGSTOP)
    started = asyncio.get_running_loop().time()
    with pytest.raises(NotReplicated):
        await service.send(hid, ANNE, "Dit bericht bevestigt de replica niet.")
    assert asyncio.get_running_loop().time() - started < 6  # bounded by timeout_ms


async def test_a_message_the_replicas_do_not_confirm_is_not_acknowledged(
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient[Request, web.Application]]],
    tmp_path: Path,
) -> None:
    """A service that must wait for one replica, whose replica is frozen: the parent's message
    to staff is not acknowledged (503 storage_unavailable with Retry-After, the Dutch "probeer
    het zo nog eens"), so the client sends it again."""
    async with master_and_replica(tmp_path) as (master_server, replica_server):
        settings = Settings(
            redis_url=master_server.url(DB),
            rasa_url=f"http://127.0.0.1:{free_port()}",  # with staff, Rasa is never asked
            rasa_token="durability-test-token",
            pseudonym_secret="durability-pseudonym-secret-32-chars!",
            redis_wait_replicas=1,
            redis_wait_timeout_ms=100,
        )
        client = await aiohttp_client(create_app(settings))
        redis = Redis.from_url(master_server.url(DB), decode_responses=True)
        try:
            issued = api_tokens(redis, 3600)
            token = issued.new()
            cid = pseudonymise(settings.pseudonym_secret, "api", token)
            await issued.issue(token, cid)
            store = HandoffStore(redis, 3600)
            hid, _ = await store.enqueue(cid, "api", reason="ask_human", urgent=False, summary={})
            assert await store.claim(hid, "anne")
            assert replica_server.process is not None
            replica_server.process.send_signal(signal.SIGSTOP)

            response = await client.post(
                "/api/chat", json={"message": "Is dit bewaard?"}, headers={TOKEN_HEADER: token}
            )
            assert response.status == 503
            body = await response.json()
            assert body["error"] == "storage_unavailable"
            assert body["message"] == service_messages().get("storage_unavailable")
            assert int(response.headers["Retry-After"]) == settings.retry_after_storage
        finally:
            await redis.aclose()


def test_the_replica_settings() -> None:
    env = {"CJG_PSEUDONYM_SECRET": "x" * 32, "RASA_TOKEN": "t"}
    assert Settings.from_env(env).redis_wait_replicas == 0  # no replicas: nothing to wait for
    settings = Settings.from_env(
        {**env, "CJG_REDIS_WAIT_REPLICAS": "1", "CJG_REDIS_WAIT_TIMEOUT_MS": "250"}
    )
    assert (settings.redis_wait_replicas, settings.redis_wait_timeout_ms) == (1, 250)
    for bad in ("-1", "een", "1.5"):
        with pytest.raises(ConfigError, match="CJG_REDIS_WAIT_REPLICAS"):
            Settings.from_env({**env, "CJG_REDIS_WAIT_REPLICAS": bad})
