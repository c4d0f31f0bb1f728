"""Two real Rasa replicas (the session's and one more on the same Redis and action server): one
is killed mid-conversation and its conversations continue on the other within the service's
timeout, context included; /health shows it down; restarted, it gets its conversations back.

The costly part of the suite's Rasa replica tests (a second Rasa start, twice): keep it to this
module. The fast cases are in tests/bot/test_rasa_replicas.py.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request

from bot import Settings, create_app
from bot.app_keys import CORE, RASA
from bot.web_chat import CHANNEL, TOKEN_HEADER
from common.handoff_payload import HandoffRequest
from tests.bot.conftest import SECRET
from tests.conftest import RasaStack, RedisServer, free_port
from tests.servers import start_rasa_replica

pytestmark = [pytest.mark.rasa, pytest.mark.cluster]

TEST_DB = 31  # this module's own database
TIMEOUT = 15.0  # the service's Rasa timeout here (CJG_RASA_TIMEOUT)
Client = TestClient[Request, Application]
ClientFactory = Callable[[Application], Awaitable[Client]]


class Replica:
    """The second Rasa server, on a fixed port so that a restart keeps its place in the hash."""

    def __init__(self, redis: RedisServer, stack: RasaStack, logs: Path) -> None:
        self.redis, self.stack, self.log = redis, stack, logs / "rasa-2.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        try:
            self.process = start_rasa_replica(self.redis, self.stack, self.port, self.log)
        except RuntimeError as exc:
            pytest.fail(str(exc))

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture
def replica(
    redis_server: RedisServer, rasa_stack: RasaStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Replica]:
    second = Replica(redis_server, rasa_stack, tmp_path_factory.mktemp("rasa-2"))
    second.start()
    try:
        yield second
    finally:
        second.stop()
        rasa_stack.resume()  # in case a test failed while the first one was paused


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory,
    redis_server: RedisServer,
    rasa_stack: RasaStack,
    replica: Replica,
) -> AsyncIterator[Client]:
    settings = Settings(
        redis_url=redis_server.url(TEST_DB),
        rasa_urls=(rasa_stack.url, replica.url),
        rasa_token=rasa_stack.token,
        action_server_url=rasa_stack.action_url,
        pseudonym_secret=SECRET,
        rasa_timeout=TIMEOUT,
        rate_per_address=10**6,
        urgent_per_address=(10**6, 600),
        urgent_per_service=(10**6, 600),
    )
    yield await aiohttp_client(create_app(settings))


class Chat:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.token = ""

    @property
    def pinned(self) -> int:
        """The index of this conversation's pinned replica (0: the session's, 1: the second)."""
        app = self.client.app
        return app[RASA].order(app[CORE].conversation_id(CHANNEL, self.token))[0]

    async def say(self, text: str) -> tuple[list[dict[str, Any]], float]:
        """The replies and how long they took."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        headers = {TOKEN_HEADER: self.token} if self.token else {}
        response = await self.client.post("/api/chat", json={"message": text}, headers=headers)
        assert response.status == 200, await response.text()
        self.token = self.token or response.headers[TOKEN_HEADER]
        return await response.json(), loop.time() - started


async def chat_pinned_to_the_second(client: Client) -> Chat:
    """A conversation that the hash pins to the second replica (about every other one)."""
    for _ in range(30):
        chat = Chat(client)
        await chat.say("hallo")
        if chat.pinned == 1:
            return chat
    raise AssertionError("no conversation pinned to the second replica in 30 tries")


async def health(client: Client) -> tuple[int, dict[str, Any]]:
    response = await client.get("/health")
    return response.status, await response.json()


async def test_a_killed_replica_s_conversations_continue_on_the_other_and_come_back(
    client: Client, rasa_stack: RasaStack, replica: Replica
) -> None:
    divorce, other = (
        await chat_pinned_to_the_second(client),
        await chat_pinned_to_the_second(client),
    )

    # The first replica frozen: the second answers its conversations alone.
    rasa_stack.pause()
    try:
        offer, _ = await divorce.say("mijn ex en ik maken al jaren ruzie over alles")
    finally:
        rasa_stack.resume()
    assert "medewerker" in str(offer), offer  # a talk is offered; "ja" now accepts it

    replica.kill()  # mid-conversation, without a goodbye
    accepted, took = await divorce.say("ja")

    # The first replica answered within the timeout, and in context: the tracker is in Redis,
    # so "ja" accepts the offered talk about the conflict divorce.
    assert took < TIMEOUT
    requests = [HandoffRequest.from_custom(r.get("custom")) for r in accepted]
    assert [r.reason for r in requests if r is not None] == ["conflict_divorce"]
    assert (await other.say("hallo"))[0]  # every conversation of the dead one is answered
    status, body = await health(client)
    assert (status, body["status"], body["failing"]) == (200, "degraded", [])
    replicas = body["components"]["rasa"]["replicas"]
    assert replicas["rasa-1"] == {"status": "ok"}
    assert replicas["rasa-2"]["status"] == "down"

    replica.start()  # a restart: /health (or the end of its mark) gives it its conversations back
    status, body = await health(client)
    assert (status, body["status"]) == (200, "ok")
    rasa_stack.pause()
    try:
        back, took = await other.say("hallo")
    finally:
        rasa_stack.resume()
    assert back and "CJG" in str(back[0].get("text")) and took < TIMEOUT
