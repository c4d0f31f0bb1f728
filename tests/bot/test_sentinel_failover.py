"""The Redis master dies (SIGKILL) while users and staff write; Sentinel promotes the replica and
the service follows it. Real processes: a master, a replica and three sentinels
(cluster/sentinel.py) and the service (``python -m bot``) with ``CJG_REDIS_SENTINELS``.

What must hold: every message the service acknowledged (HTTP 200) is in the handoff's transcript
exactly once, and every acknowledged staff message in the user's outbox exactly once; a message
sent during the failover is acknowledged or refused (503), never acknowledged and lost; the
staff console works on after the failover. Rasa is not needed: a crisis message starts the
(urgent) handoff without it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from redis.asyncio.sentinel import SentinelConnectionPool

from base.client_redis import RedisTarget, aclose_redis, redis_client, socketio_manager
from cluster.sentinel import SentinelCluster
from handoff.replication import NotReplicated, wait_for_replicas
from staff.accounts import Accounts
from tests.servers import ROOT, free_port

pytestmark = pytest.mark.cluster

DB = 26  # this module's database (the cluster is its own, but keep to the numbering)
PASSWORD = "correct horse battery staple"
CRISIS = "ik denk aan zelfmoord"
DAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
ALWAYS = {day: ["00:00", "23:59:59"] for day in DAYS}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelCluster]:
    cluster = SentinelCluster(tmp_path_factory.mktemp("sentinel"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def _content(directory: Path) -> Path:
    """content/ with the handoff open at all hours, so the test runs at night too."""
    target = directory / "content"
    shutil.copytree(ROOT / "content", target)
    path = target / "opening_hours.yml"
    spec = yaml.safe_load(path.read_text())
    spec["weekly"] = ALWAYS
    path.write_text(yaml.safe_dump(spec, allow_unicode=True))
    return target


@pytest.fixture
def service(cluster: SentinelCluster, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CJG_HOST": "127.0.0.1",
        "CJG_PORT": str(port),
        **cluster.env(DB),
        "CJG_RASA_URL": f"http://127.0.0.1:{free_port()}",  # nobody: not needed here
        "CJG_ACTION_SERVER_URL": f"http://127.0.0.1:{free_port()}",
        "RASA_TOKEN": secrets.token_hex(24),
        "CJG_PSEUDONYM_SECRET": secrets.token_hex(32),
        "CJG_CONTENT_DIR": str(_content(tmp_path)),
        "CJG_RATE_PER_SENDER": "100000",
        "CJG_RATE_PER_ADDRESS": "100000",
        "CJG_WAITING_MAX_MESSAGES": "100000",
        "CJG_WAITING_MAX_BYTES": "10000000",
    }
    log = (tmp_path / "service.log").open("ab")
    process = subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT, env=env, stdout=log,
                               stderr=log)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _redis_ok(url):
            assert process.poll() is None, (tmp_path / "service.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the service did not come up"
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(20)


def _redis_ok(url: str) -> bool:
    import json
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url + "/health", timeout=2) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:  # 503: Rasa is away on purpose
        body = exc.read()
    except OSError:
        return False
    return bool(json.loads(body)["components"]["redis"]["status"] == "ok")


@pytest.fixture
async def staff(service: str, cluster: SentinelCluster) -> AsyncIterator[aiohttp.ClientSession]:
    """A logged-in console (cookie and CSRF token), with an account made through Sentinel."""
    redis = redis_client(RedisTarget(**_target(cluster)))
    try:
        await redis.flushdb()  # each test starts afresh (the module shares one cluster)
        accounts = Accounts(redis)
        await accounts.add("anne", "Anne", PASSWORD)
        accounts.pool.close()
    finally:
        await aclose_redis(redis)
    session = aiohttp.ClientSession(service, cookie_jar=aiohttp.CookieJar(unsafe=True))
    login = await session.post("/staff/api/login", json={"username": "anne", "password": PASSWORD})
    assert login.status == 200
    session.headers["X-CSRF-Token"] = (await login.json())["csrf"]
    assert (await session.post("/staff/api/presence", json={"status": "online"})).status == 200
    yield session
    await session.close()


def _target(cluster: SentinelCluster) -> dict[str, Any]:
    return {
        "url": f"redis://:{cluster.password}@127.0.0.1:1/{DB}",
        "sentinels": tuple(("127.0.0.1", p) for p in cluster.sentinels),
    }


async def _crisis(user: aiohttp.ClientSession) -> str:
    """Starts an urgent handoff; returns the conversation token."""
    reply = await user.post("/api/chat", json={"message": CRISIS})
    assert reply.status == 200, await reply.text()
    token = reply.headers["X-CJG-Conversation"]
    user.headers["X-CJG-Conversation"] = token
    return token


async def _queue(staff: aiohttp.ClientSession) -> list[dict[str, Any]]:
    reply = await staff.get("/staff/api/queue")
    assert reply.status == 200
    body = await reply.json()
    return list(body["waiting"])


async def test_a_write_the_replica_does_not_confirm_is_not_acknowledged(
    cluster: SentinelCluster, service: str, staff: aiohttp.ClientSession
) -> None:
    """The replica is frozen: the master takes the message, but the replica that Sentinel would
    promote does not have it, so the service must not say 200 (it says 503: try again)."""
    redis = redis_client(RedisTarget(**_target(cluster)))
    user = aiohttp.ClientSession(service)
    replica = cluster.processes["replica"]
    try:
        assert await wait_for_replicas(redis, 1, 1000) == 1
        first = await user.post("/api/chat", json={"message": CRISIS})
        assert first.status == 200
        user.headers["X-CJG-Conversation"] = first.headers["X-CJG-Conversation"]
        replica.send_signal(signal.SIGSTOP)
        try:
            with pytest.raises(NotReplicated):
                await wait_for_replicas(redis, 1, 300)
            assert (await user.get("/api/chat/updates")).status == 200  # reads go on
            frozen = await user.post("/api/chat", json={"message": "hoor je me?"})
            assert frozen.status == 503
            assert (await frozen.json())["error"] == "storage_unavailable"
        finally:
            replica.send_signal(signal.SIGCONT)
        statuses = []  # the replica catches up within a moment: then 200 again
        for attempt in range(20):
            again = await user.post("/api/chat", json={"message": f"hoor je me nu? {attempt}"})
            statuses.append(again.status)
            if again.status == 200:
                break
            await asyncio.sleep(0.25)
        assert statuses[-1] == 200, statuses
        queued = await _queue(staff)  # the user waits for staff: the messages went there
        assert [h["urgent"] for h in queued] == [True]
    finally:
        await user.close()
        await aclose_redis(redis)


async def test_master_killed_during_handoffs_loses_no_acknowledged_message(
    cluster: SentinelCluster, service: str, staff: aiohttp.ClientSession
) -> None:
    timeout = aiohttp.ClientTimeout(total=15)
    waiting_user = aiohttp.ClientSession(service, timeout=timeout)
    talking_user = aiohttp.ClientSession(service, timeout=timeout)
    manager = socketio_manager(RedisTarget(**_target(cluster)), "cjg:socketio")
    try:
        await _crisis(talking_user)
        (talking,) = await _queue(staff)
        assert (await staff.post(f"/staff/api/handoffs/{talking['hid']}/claim")).status == 200
        await _crisis(waiting_user)
        (waiting,) = await _queue(staff)  # the other one is claimed
        manager._redis_connect()  # the Socket.IO manager, built as the service builds it
        assert isinstance(manager.redis.connection_pool, SentinelConnectionPool)
        assert await manager.redis.publish("cjg:socketio", "{}") >= 0

        acked: dict[str, list[str]] = {"waiting": [], "user": [], "staff": []}
        refused: dict[str, list[str]] = {"waiting": [], "user": [], "staff": []}
        stop = asyncio.Event()

        async def flow(name: str, send: Any) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                text = f"{name} bericht {n}"
                try:
                    status = await send(text)
                except (aiohttp.ClientError, TimeoutError):
                    status = 0
                (acked if status == 200 else refused)[name].append(text)
                assert status in (0, 200, 503), f"{name}: {status}"
                await asyncio.sleep(0.02)

        async def as_waiting(text: str) -> int:
            async with waiting_user.post("/api/chat", json={"message": text}) as reply:
                return reply.status

        async def as_user(text: str) -> int:
            async with talking_user.post("/api/chat", json={"message": text}) as reply:
                return reply.status

        async def as_staff(text: str) -> int:
            path = f"/staff/api/handoffs/{talking['hid']}/messages"
            async with staff.post(path, json={"text": text}) as reply:
                return reply.status

        flows = [
            asyncio.create_task(flow("waiting", as_waiting)),
            asyncio.create_task(flow("user", as_user)),
            asyncio.create_task(flow("staff", as_staff)),
        ]
        await asyncio.sleep(1.5)
        before = {k: len(v) for k, v in acked.items()}
        old = cluster.master_port()
        killed_at = time.monotonic()
        await asyncio.to_thread(cluster.kill_master)
        new = await asyncio.to_thread(cluster.wait_for_failover, old)
        failover_seconds = time.monotonic() - killed_at
        at_failover = {k: len(v) for k, v in acked.items()}
        await asyncio.sleep(3)  # the service finds the new master and goes on
        stop.set()
        await asyncio.gather(*flows)
        assert new != old and failover_seconds < 20
        for name in acked:  # flowing before, and again after the failover
            assert before[name] > 0 and len(acked[name]) > at_failover[name], (name, acked, refused)

        # The staff console works on: the queue, a claim of the waiting chat, a reply.
        assert [h["hid"] for h in await _queue(staff)] == [waiting["hid"]]
        assert (await staff.post(f"/staff/api/handoffs/{waiting['hid']}/claim")).status == 200
        reply = await staff.post(
            f"/staff/api/handoffs/{waiting['hid']}/messages", json={"text": "na de failover"}
        )
        assert reply.status == 200
        # The Socket.IO manager publishes through the new master (it reconnects by itself).
        await manager._publish({"method": "emit", "event": "x", "data": {}})
        assert manager.redis.connection_pool.master_address == ("127.0.0.1", new)

        # Every acknowledged message is kept exactly once; a refused one at most once.
        for hid, names in ((talking["hid"], ("user", "staff")), (waiting["hid"], ("waiting",))):
            detail = await (await staff.get(f"/staff/api/handoffs/{hid}")).json()
            seen = Counter(entry["text"] for entry in detail["transcript"])
            for name in names:
                assert all(seen[text] == 1 for text in acked[name]), (name, acked[name], seen)
                assert all(seen[text] <= 1 for text in refused[name]), name
        outbox: Counter[str | None] = Counter()
        after = "0"
        while True:  # the outbox is read a page (100 messages) at a time
            page = await (
                await talking_user.get("/api/chat/updates", params={"after": after})
            ).json()
            if not page["messages"]:
                break
            outbox.update(m.get("text") for m in page["messages"])
            after = page["next"]
        assert all(outbox[text] == 1 for text in acked["staff"]), (acked["staff"], outbox)
        assert all(outbox[text] <= 1 for text in refused["staff"])
    finally:
        await waiting_user.close()
        await talking_user.close()
        if manager.redis is not None:
            await aclose_redis(manager.redis)
