"""Several Rasa replicas, fast: the rendezvous hash, the failover order and the health marks,
against small stand-ins for Rasa's HTTP API (tests/bot/test_rasa_failover.py kills a real one).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application, Request

from bot import Settings, create_app
from bot.app_keys import RASA
from bot.client_rasa import RasaClient, RasaUnavailable
from bot.config import ConfigError
from bot.rasa_replicas import ReplicaHealth, rendezvous_order, replica_identity
from tests.bot.conftest import SECRET
from tests.conftest import RedisServer, free_port

TEST_DB = 30  # this module's own database
ServerFactory = Callable[..., Awaitable[TestServer]]  # (app, port=...)
ClientFactory = Callable[[Application], Awaitable[TestClient[Request, Application]]]
KEYS = [f"conversation-{n}" for n in range(20000)]
GOOD = {"RASA_TOKEN": "t", "CJG_PSEUDONYM_SECRET": "s" * 32}


def replicas(n: int) -> list[str]:
    return [f"http://10.0.0.{i}:5005" for i in range(1, n + 1)]


def pinned(key: str, urls: list[str]) -> str:
    return urls[rendezvous_order(key, urls)[0]]


# --- the hash --------------------------------------------------------------------------------


def test_the_order_is_stable_and_the_same_in_every_process() -> None:
    urls = replicas(3)
    order = rendezvous_order("abc", urls)
    assert sorted(order) == [0, 1, 2]
    assert all(rendezvous_order("abc", urls) == order for _ in range(10))
    # Recorded once: a salted or changed hash would move every conversation at a restart.
    assert [rendezvous_order(k, urls) for k in ("abc", "def", "ghi")] == [
        [1, 0, 2],
        [2, 1, 0],
        [0, 2, 1],
    ]


@pytest.mark.parametrize("n", [2, 3, 4])
def test_conversations_spread_evenly(n: int) -> None:
    counts = Counter(pinned(key, replicas(n)) for key in KEYS)
    assert len(counts) == n
    for count in counts.values():
        assert abs(count / len(KEYS) - 1 / n) < 0.02, counts


@pytest.mark.parametrize("n", [2, 3])
def test_adding_a_replica_moves_only_its_share_and_only_to_it(n: int) -> None:
    before, after = replicas(n), replicas(n + 1)
    moved = [key for key in KEYS if pinned(key, before) != pinned(key, after)]
    assert all(pinned(key, after) == after[-1] for key in moved)
    assert abs(len(moved) / len(KEYS) - 1 / (n + 1)) < 0.02


def test_removing_a_replica_moves_only_its_conversations() -> None:
    before = replicas(3)
    after = [before[0], before[2]]
    for key in KEYS[:5000]:
        if pinned(key, before) != before[1]:
            assert pinned(key, after) == pinned(key, before)


def test_a_replica_is_hashed_by_scheme_host_and_port_only() -> None:
    assert replica_identity("http://Rasa1:5005/") == replica_identity("http://u:pw@rasa1:5005")
    assert replica_identity("http://rasa1:5005") != replica_identity("http://rasa1:5006")


def test_a_failed_replica_is_asked_last_until_its_mark_expires() -> None:
    now = [0.0]
    health = ReplicaHealth(["rasa-1", "rasa-2", "rasa-3"], down_seconds=10, clock=lambda: now[0])
    health.mark_down(1, "ClientConnectorError")
    assert health.attempt_order([1, 2, 0]) == [2, 0, 1]
    assert health.error(1) == "ClientConnectorError"
    now[0] = 10.5
    assert health.attempt_order([1, 2, 0]) == [1, 2, 0]  # back to the pinned one
    health.mark_down(1, "HTTP 502")
    health.mark_up(1)
    assert health.attempt_order([1, 2, 0]) == [1, 2, 0]


# --- the settings ----------------------------------------------------------------------------


def test_the_replica_list_setting_and_the_single_url_fallback() -> None:
    one = Settings.from_env({**GOOD, "CJG_RASA_URL": "http://127.0.0.1:5005/"})
    assert one.rasa_replicas == ("http://127.0.0.1:5005",)
    two = Settings.from_env(
        {**GOOD, "CJG_RASA_URLS": " http://10.0.0.1:5005/, http://10.0.0.2:5005"}
    )
    assert two.rasa_replicas == ("http://10.0.0.1:5005", "http://10.0.0.2:5005")
    assert "geheim" in Settings.from_env({**GOOD, "CJG_RASA_URLS": "http://r:geheim@h:1"}).secrets


@pytest.mark.parametrize(
    ("urls", "says"),
    [
        ("http://10.0.0.1:5005,10.0.0.2:5005", "entry 2 is not a URL"),
        ("http://u:geheim@10.0.0.1:x", "entry 1 is not a URL"),
        ("http://10.0.0.1:5005,http://10.0.0.1:5005/", "twice"),
    ],
)
def test_a_bad_replica_list_is_named_without_its_secrets(urls: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as error:
        Settings.from_env({**GOOD, "CJG_RASA_URLS": urls})
    assert "geheim" not in str(error.value)


# --- failover against stand-ins ----------------------------------------------------------------


@dataclass
class StandIn:
    """Rasa's webhook, tracker and status; ``mode`` makes it fail the way a replica does."""

    name: str
    mode: str = "ok"  # "ok", "error" (HTTP 500), "slow" (answers after 5 s), "teapot" (418)
    senders: list[str] = field(default_factory=list)
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/cjg/webhook", self._message)
        app.router.add_get("/conversations/{sender}/tracker", self._tracker)
        app.router.add_get("/status", self._status)
        app.router.add_get("/health", self._status)
        return app

    async def _answer(self, sender: str, body: object) -> web.Response:
        self.senders.append(sender)
        if self.mode == "error":
            return web.json_response({"error": "boom"}, status=500)
        if self.mode == "teapot":
            return web.json_response({}, status=418)
        if self.mode == "slow":
            await asyncio.sleep(5)
        return web.json_response(body)

    async def _message(self, request: web.Request) -> web.Response:
        sender = (await request.json())["sender"]
        return await self._answer(sender, [{"recipient_id": sender, "text": self.name}])

    async def _tracker(self, request: web.Request) -> web.Response:
        events = [{"event": "bot", "text": self.name}]
        return await self._answer(request.match_info["sender"], {"events": events})

    async def _status(self, request: web.Request) -> web.Response:
        if self.mode != "ok":
            return web.json_response({}, status=503)
        return web.json_response({"model_file": "cjg.tar.gz"})


@pytest.fixture
async def stand_ins(aiohttp_server: ServerFactory) -> list[StandIn]:
    found = []
    for name in ("one", "two", "three"):
        stand_in = StandIn(name)
        server = await aiohttp_server(stand_in.app())
        stand_in.url = str(server.make_url("")).rstrip("/")
        found.append(stand_in)
    return found


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def pinned_to(client: RasaClient, index: int, then: int | None = None) -> str:
    """A conversation whose pinned replica is ``index`` (and whose next one is ``then``)."""
    return next(
        key
        for key in KEYS
        if client.order(key)[0] == index and (then is None or client.order(key)[1] == then)
    )


async def test_each_conversation_talks_to_its_pinned_replica(
    http: aiohttp.ClientSession, stand_ins: list[StandIn]
) -> None:
    client = RasaClient(http, [s.url for s in stand_ins], "token", timeout=5)
    for index, stand_in in enumerate(stand_ins):
        key = pinned_to(client, index)
        assert await client.send(key, "hoi") == [{"recipient_id": key, "text": stand_in.name}]
        assert await client.history(key) == [("bot", stand_in.name)]  # the handoff's history
        assert await client.send(key, "/restart")  # "Gesprek stoppen"
        assert stand_in.senders == [key, key, key]


async def test_a_down_replica_falls_over_in_hash_order_and_is_skipped_while_marked(
    http: aiohttp.ClientSession, stand_ins: list[StandIn], aiohttp_server: ServerFactory
) -> None:
    urls = [s.url for s in stand_ins]
    port = free_port()
    dead = f"http://127.0.0.1:{port}"  # refused: a killed Rasa
    client = RasaClient(http, [dead, *urls[1:]], "token", timeout=5, down_seconds=0.5)
    key = pinned_to(client, 0, then=2)

    assert await client.send(key, "hoi") == [{"recipient_id": key, "text": "three"}]
    assert client.health.error(0) == "ClientConnectorError"
    stand_ins[2].mode = "error"  # the fallback fails too: on to the last one
    assert await client.send(key, "hoi") == [{"recipient_id": key, "text": "two"}]
    assert client.health.error(2) == "HTTP 500"
    assert stand_ins[2].senders == [key, key]

    # The pinned replica is restarted and its mark runs out: the conversation goes back.
    await aiohttp_server(StandIn("restarted").app(), port=port)
    stand_ins[2].mode = "ok"
    assert await client.send(key, "hoi") == [{"recipient_id": key, "text": "two"}]  # marked
    await asyncio.sleep(0.6)
    assert await client.send(key, "hoi") == [{"recipient_id": key, "text": "restarted"}]
    assert not client.health.is_down(0)


async def test_a_silent_replica_is_not_replaced_for_the_same_message(
    http: aiohttp.ClientSession, stand_ins: list[StandIn]
) -> None:
    """It may still answer: a second replica would store the message twice. The next message
    (the widget's retry) goes straight to the fallback."""
    client = RasaClient(http, [s.url for s in stand_ins], "token", timeout=1)
    key = pinned_to(client, 1, then=0)
    stand_ins[1].mode = "slow"
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(RasaUnavailable):
        await client.send(key, "hoi")
    assert loop.time() - started < 1.5  # within the service's timeout
    assert stand_ins[0].senders == []
    assert await client.send(key, "hoi") == [{"recipient_id": key, "text": "one"}]
    assert stand_ins[1].senders == [key]


async def test_a_refusal_that_every_replica_would_give_is_not_retried(
    http: aiohttp.ClientSession, stand_ins: list[StandIn]
) -> None:
    client = RasaClient(http, [s.url for s in stand_ins], "token", timeout=5)
    key = pinned_to(client, 0)
    stand_ins[0].mode = "teapot"
    with pytest.raises(RasaUnavailable, match="HTTP 418"):
        await client.send(key, "hoi")
    assert [s.senders for s in stand_ins] == [[key], [], []]
    assert not client.health.is_down(0)


async def test_all_replicas_down_is_rasa_unavailable(http: aiohttp.ClientSession) -> None:
    client = RasaClient(
        http, [f"http://127.0.0.1:{free_port()}" for _ in range(2)], "token", timeout=5
    )
    with pytest.raises(RasaUnavailable, match="ClientConnectorError"):
        await client.send("x", "hoi")
    assert client.health.is_down(0) and client.health.is_down(1)


# --- /health -----------------------------------------------------------------------------------


async def test_health_shows_each_replica_by_name_only(
    aiohttp_client: ClientFactory, redis_server: RedisServer, stand_ins: list[StandIn]
) -> None:
    token = "the-rasa-token-of-this-test"
    stand_ins[1].mode = "error"
    settings = Settings(
        redis_url=redis_server.url(TEST_DB),
        rasa_urls=(stand_ins[0].url, stand_ins[1].url),
        rasa_token=token,
        action_server_url=stand_ins[2].url,
        pseudonym_secret=SECRET,
    )
    client = await aiohttp_client(create_app(settings))

    response = await client.get("/health")

    assert response.status == 200  # rasa-1 carries rasa-2's conversations
    body = await response.json()
    assert body["status"] == "degraded" and body["failing"] == []
    assert body["components"]["rasa"] == {
        "status": "degraded",
        "replicas": {
            "rasa-1": {"status": "ok"},
            "rasa-2": {"status": "down", "error": "RasaUnavailable"},
        },
    }
    text = json.dumps(body)
    assert token not in text and "127.0.0.1" not in text
    marks = client.app[RASA].health  # /health refreshes the marks that order the failover
    assert marks.is_down(1) and not marks.is_down(0)

    stand_ins[0].mode = "error"
    response = await client.get("/health")
    assert response.status == 503
    assert (await response.json())["failing"] == ["rasa"]

    stand_ins[0].mode = stand_ins[1].mode = "ok"
    response = await client.get("/health")
    assert response.status == 200 and (await response.json())["status"] == "ok"
    assert not marks.is_down(0) and not marks.is_down(1)
