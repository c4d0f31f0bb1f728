"""Builds the aiohttp application: shared clients, the conversation core and the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bot import web_chat, web_health
from bot.app_keys import CORE, HTTP, RASA, REDIS, SETTINGS, TEXTS
from bot.client_rasa import RasaClient
from bot.config import Settings
from bot.conversation import ConversationCore
from bot.web_errors import json_errors
from common.content import service_messages
from handoff.requests import HandoffLog


async def _clients(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200))
    redis = Redis.from_url(settings.redis_url, socket_timeout=5, health_check_interval=30)
    rasa = RasaClient(http, settings.rasa_url, settings.rasa_token, settings.rasa_timeout)
    app[HTTP], app[REDIS], app[RASA] = http, redis, rasa
    app[CORE] = ConversationCore(
        rasa=rasa,
        handoffs=HandoffLog(redis),
        texts=app[TEXTS],
        pseudonym_secret=settings.pseudonym_secret,
        max_message_chars=settings.max_message_chars,
    )
    yield
    await http.close()
    await redis.aclose()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[json_errors], client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[TEXTS] = service_messages()
    app.cleanup_ctx.append(_clients)
    app.add_routes(web_health.routes)
    app.add_routes(web_chat.routes)
    return app
