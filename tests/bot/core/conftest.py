"""The conversation core without a trained model: a scripted stand-in for Rasa's HTTP API (the
end-to-end tests in tests/bot keep the real Rasa) and the core wired as bot/web_app.py wires it,
on a test module's own Redis database (its ``redis`` fixture)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from bot.client_rasa import RasaClient
from bot.conversation import ConversationCore, Incoming
from bot.messages import BotMessage
from bot.rasa_tracker import RasaTrackers
from bot.rate_limit import RateLimits
from common.content import service_messages
from handoff.callbacks import Callbacks
from handoff.requests import HandoffLog
from handoff.service import HandoffService
from handoff.urgent import Limit, UrgentLimits
from insight.unclear import UnclearQuestions
from tests.handoff.conftest import make_service

SECRET = "test-pseudonym-secret-of-32-chars!!"
PUBLIC_URL = "http://127.0.0.1:8080"
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


Handler = Callable[[web.Request], Awaitable[web.Response]]


def rasa_app(message: Handler, tracker: Handler) -> web.Application:
    """The two routes of Rasa's HTTP API the service calls (bot/client_rasa.py)."""
    app = web.Application()
    app.router.add_post("/webhooks/cjg/webhook", message)
    app.router.add_get("/conversations/{sender}/tracker", tracker)
    return app


@dataclass
class ScriptedRasa:
    """Rasa's webhook and tracker endpoints: every message is answered with ``answer`` (what
    the assistant's actions would send) and kept in ``received``, as Rasa's tracker keeps it.
    ``status``: the HTTP status to answer with (500: Rasa failing)."""

    answer: list[dict[str, Any]] = field(default_factory=lambda: [{"text": "Een antwoord."}])
    received: list[str] = field(default_factory=list)
    status: int = 200

    def app(self) -> web.Application:
        return rasa_app(self._message, self._tracker)

    async def _message(self, request: web.Request) -> web.Response:
        if self.status != 200:
            return web.json_response({"error": "failing"}, status=self.status)
        body = await request.json()
        self.received.append(body["message"])
        return web.json_response([{"recipient_id": body["sender"], **m} for m in self.answer])

    async def _tracker(self, request: web.Request) -> web.Response:
        return web.json_response({"events": [{"event": "user", "text": t} for t in self.received]})


def make_core(
    rasa_url: str,
    http: aiohttp.ClientSession,
    redis: Redis,
    handoff: HandoffService,
    *,
    limits: RateLimits | None = None,
    callbacks: Callbacks | None = None,
    turn_seconds: float = 20,
) -> ConversationCore:
    """The core on one Redis database (the service's and Rasa's), with the usual limits."""
    return ConversationCore(
        rasa=RasaClient(http, rasa_url, "token", timeout=10),
        redis=redis,
        handoffs=HandoffLog(redis, 3600),
        handoff=handoff,
        texts=service_messages(),
        pseudonym_secret=SECRET,
        max_message_chars=2000,
        trackers=RasaTrackers(redis),
        limits=limits or RateLimits(redis, 30, 120),
        unclear=UnclearQuestions(redis, 3600),
        public_url=PUBLIC_URL,
        urgent=UrgentLimits(redis, Limit(5, 60), Limit(50, 60), Limit(100, 60)),
        turn_seconds=turn_seconds,
        callbacks=callbacks,
    )


async def rasa_url(aiohttp_server: ServerFactory, app: web.Application) -> str:
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


@dataclass
class Core:
    """A core, its stand-in Rasa and its handoff service, for one test."""

    core: ConversationCore
    rasa: ScriptedRasa
    handoff: HandoffService
    redis: Redis
    rasa_url: str
    http: aiohttp.ClientSession

    async def say(self, text: str, user: str = "parent") -> list[BotMessage]:
        return await self.core.handle(Incoming("api", user, text))

    def with_limits(self, per_sender: int) -> ConversationCore:
        """Another core on the same parts, with a tighter limit per conversation."""
        limits = RateLimits(self.redis, per_sender, 100)
        return make_core(self.rasa_url, self.http, self.redis, self.handoff, limits=limits)

    def cid(self, user: str = "parent") -> str:
        return self.core.conversation_id("api", user)


@pytest.fixture
async def core(aiohttp_server: ServerFactory, redis: Redis) -> AsyncIterator[Core]:
    """Staff online and the CJG open: a handoff request is queued."""
    rasa = ScriptedRasa()
    url = await rasa_url(aiohttp_server, rasa.app())
    handoff = make_service(redis)
    await handoff.heartbeat("anne")
    async with aiohttp.ClientSession() as http:
        yield Core(make_core(url, http, redis, handoff), rasa, handoff, redis, url, http)
