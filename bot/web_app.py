"""Builds the aiohttp application: shared clients, the conversation core and the routes."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import weakref
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from telegram.error import TelegramError

from base import redact
from base.client_redis import aclose_redis, redis_client
from base.registrar import Registrar
from base.web import api_messages
from bot import web_chat, web_docs, web_health, web_privacy, web_security, web_widget
from bot.address import AddressBook, VoicedOutbox
from bot.app_keys import (
    API_TOKENS,
    CORE,
    DELIVERY,
    HTTP,
    RASA,
    REDIS,
    SETTINGS,
    TELEGRAM,
    TEXTS,
    TRACKERS,
    WIDGET,
)
from bot.client_address import client_address
from bot.client_rasa import RasaClient
from bot.config import Settings
from bot.conversation import ConversationCore
from bot.credentials import api_tokens, widget_sessions
from bot.rasa_tracker import RasaTrackers
from bot.rate_limit import RateLimits
from bot.telegram import WEBHOOK_PATH, TelegramChannel
from bot.web_errors import json_errors
from bot.web_replication import replicated_writes
from bot.widget import WidgetChannel
from common.address import Address
from common.content import service_messages
from common.safety import check_references
from delivery.durability import Durability
from delivery.watcher import OutboxWatcher
from delivery.write import Delivery
from handoff import web_staff, web_staff_callbacks, web_staff_ws
from handoff.audit import AuditLog
from handoff.callbacks import Callbacks, NumberCipher, callback_texts
from handoff.hours import opening_hours
from handoff.presence import Presence
from handoff.requests import HandoffLog
from handoff.service import HandoffService, Timing
from handoff.urgent import Limit, UrgentLimits
from handoff.web_keys import AUDIT, CALLBACKS, HANDOFF, OUTBOX_WATCHER, SOCKETS, STAFF_WEB, StaffWeb
from insight import web_insight
from insight.texts import insight_texts
from insight.unclear import UnclearQuestions
from insight.web_keys import REGISTRAR, UNCLEAR
from staff.accounts import Accounts
from staff.login_guard import LoginGuard
from staff.sessions import Sessions
from staff.web_keys import ACCOUNTS, LOGIN_GUARD, SESSIONS

log = logging.getLogger(__name__)


async def _clients(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200))
    # A bounded pool that makes bursts wait instead of failing; long-polls hold no connection.
    redis = redis_client(
        settings.redis_target,
        max_connections=settings.redis_max_connections,
        timeout=10,
        socket_timeout=30,
        health_check_interval=30,
    )
    tracker_url = settings.tracker_redis_url
    trackers = (
        redis if tracker_url == settings.redis_url else redis_client(settings.tracker_redis_target)
    )
    rasa = RasaClient(
        http,
        settings.rasa_replicas,
        settings.rasa_token,
        settings.rasa_timeout,
        action_server_url=settings.action_server_url,
    )
    address = AddressBook(redis, Address(settings.form_of_address), settings.retention_seconds)
    outbox = VoicedOutbox(redis, settings.retention_seconds, address)  # "je" or "u"
    durability = Durability(settings.redis_wait_replicas, settings.redis_wait_timeout_ms)
    delivery = Delivery(redis, outbox, durability)  # every reply's write path
    registrar = Registrar(redis, settings.registration_idle_seconds, settings.insight_keep_days)
    handoff = HandoffService(
        redis,
        app[TEXTS],
        Presence(redis, settings.presence_timeout_seconds),
        opening_hours,
        Timing(
            settings.handoff_silent_seconds,
            settings.retention_seconds,
            settings.waiting_max_messages,
            settings.waiting_max_bytes,
            settings.routing_wait_seconds,
        ),
        registrar,
        callback_button=callback_texts().say("offer") if settings.callback_key else None,
        delivery=delivery,
    )
    app[HTTP], app[REDIS], app[RASA], app[HANDOFF] = http, redis, rasa, handoff
    app[TRACKERS] = RasaTrackers(trackers)
    handoff.on_quiet(app[TRACKERS].redact)  # a quiet conversation: redacted in Rasa's tracker too
    app[DELIVERY], app[REGISTRAR] = delivery, registrar
    app[CALLBACKS] = Callbacks(
        redis,
        NumberCipher(settings.callback_key) if settings.callback_key else None,
        opening_hours,
        registrar,
        settings.callback_number_seconds,
        settings.retention_seconds,
    )
    app[ACCOUNTS] = Accounts(redis)
    app[SESSIONS] = Sessions(redis, settings.staff_session_seconds)
    app[LOGIN_GUARD] = LoginGuard(redis)
    app[AUDIT] = AuditLog(redis, settings.retention_seconds)
    app[UNCLEAR] = UnclearQuestions(redis, settings.retention_seconds)
    app[API_TOKENS] = api_tokens(redis, settings.retention_seconds)
    app[OUTBOX_WATCHER] = OutboxWatcher(redis)
    await app[OUTBOX_WATCHER].start()
    preloading = asyncio.create_task(redact.preload())  # deduce's model, in a thread
    app[STAFF_WEB] = StaffWeb(
        settings.secure_cookies,
        functools.partial(client_address, settings=settings),
        address.for_staff,
        redis,
    )
    app[CORE] = ConversationCore(
        rasa=rasa,
        redis=redis,
        handoffs=HandoffLog(redis, settings.retention_seconds),
        handoff=handoff,
        texts=app[TEXTS],
        pseudonym_secret=settings.pseudonym_secret,
        max_message_chars=settings.max_message_chars,
        trackers=app[TRACKERS],
        limits=RateLimits(redis, settings.rate_per_sender, settings.rate_per_address),
        unclear=app[UNCLEAR],
        public_url=settings.base_url,
        turn_seconds=2 * settings.rasa_timeout + 10,  # a message and the history for a handoff
        address=address,
        urgent=UrgentLimits(
            redis,
            Limit(*settings.urgent_per_sender),
            Limit(*settings.urgent_per_address),
            Limit(*settings.urgent_per_service),
        ),
        callbacks=app[CALLBACKS],
        delivery=delivery,
    )
    yield
    with contextlib.suppress(Exception):
        await preloading
    await app[OUTBOX_WATCHER].stop()
    await http.close()
    if trackers is not redis:
        await aclose_redis(trackers)
    await aclose_redis(redis)
    app[ACCOUNTS].pool.close()


async def _sweeper(app: web.Application) -> AsyncIterator[None]:
    """Returns abandoned claims to the queue, counts quiet conversations in the figures, and
    runs the retention purge (at start, then every ``purge_interval_seconds``); every instance
    runs one (the work is idempotent)."""

    async def loop() -> None:
        next_purge = 0.0
        while True:
            try:
                if time.monotonic() >= next_purge:
                    next_purge = time.monotonic() + app[SETTINGS].purge_interval_seconds
                    await app[HANDOFF].purge()
                    await app[UNCLEAR].purge()
                await app[HANDOFF].sweep()
                await app[HANDOFF].count_quiet()
            except Exception as exc:  # Redis away for a moment: try again next round
                log.warning("handoff sweep failed (%s)", type(exc).__name__)
            await asyncio.sleep(app[SETTINGS].sweep_interval_seconds)

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _telegram(app: web.Application) -> AsyncIterator[None]:
    """Telegram runs inside the service when a token is configured; otherwise it is off."""
    settings = app[SETTINGS]
    if not settings.telegram_token:
        log.info("Telegram is off: CJG_TELEGRAM_TOKEN is not set")
        yield
        return
    channel = TelegramChannel(
        settings, app[CORE], app[REDIS], app[TEXTS], app[OUTBOX_WATCHER], app[DELIVERY].outbox
    )
    try:
        await channel.start()
    except TelegramError as exc:  # the web chat keeps working without Telegram
        log.error(
            "Telegram could not start (%s): check CJG_TELEGRAM_TOKEN and the network, then "
            "restart the service. The web chat runs without Telegram.",
            type(exc).__name__,
        )
        yield
        return
    app[TELEGRAM] = channel
    yield
    await channel.stop()


async def _close_widget_sockets(app: web.Application) -> None:
    await app[WIDGET].close_sockets()


async def _widget(app: web.Application) -> AsyncIterator[None]:
    sessions = widget_sessions(app[REDIS], app[SETTINGS].retention_seconds)
    app[WIDGET].start(
        app[CORE], app[TEXTS], app[OUTBOX_WATCHER], sessions, app[DELIVERY], app[REDIS]
    )
    yield
    await app[WIDGET].stop()


async def telegram_webhook(request: web.Request) -> web.StreamResponse:
    """Only in webhook mode: in polling mode there is no secret to check, and the path would
    take anyone's made-up update as Telegram's."""
    channel = request.app.get(TELEGRAM)
    if channel is None or request.app[SETTINGS].telegram_mode != "webhook":
        raise web.HTTPNotFound()
    return await channel.webhook(request)


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[json_errors, replicated_writes], client_max_size=settings.max_body_bytes
    )
    app[SETTINGS] = settings
    app[TEXTS] = service_messages()
    api_messages()  # fail at start, not at the first error, when the file is wrong
    opening_hours()  # fail at start, not at the first handoff, when the file is wrong
    insight_texts()  # fail at start, not at the first report, when the file is wrong
    web_privacy.statement()
    web_widget.widget_script()  # the widget's texts (content/widget_texts.yml)
    check_references()  # the safety phrases and crisis contacts, and how they refer
    app[SOCKETS] = weakref.WeakSet()
    app.on_shutdown.append(web_staff_ws.close_sockets)
    app.on_shutdown.append(_close_widget_sockets)
    app.on_response_prepare.append(web_security.add_headers)
    app.cleanup_ctx.append(_clients)
    app.cleanup_ctx.append(_sweeper)
    app.cleanup_ctx.append(_telegram)
    app.cleanup_ctx.append(_widget)
    app[WIDGET] = WidgetChannel(settings)
    app[WIDGET].attach(app)
    app.add_routes(web_widget.routes)
    app.add_routes(web_privacy.routes)
    app.router.add_post(WEBHOOK_PATH, telegram_webhook)
    app.add_routes(web_health.routes)
    app.add_routes(web_chat.routes)
    app.add_routes(web_docs.routes)
    app.add_routes(web_staff.routes)
    app.add_routes(web_staff_callbacks.routes)
    app.add_routes(web_staff_ws.routes)
    app.add_routes(web_insight.routes)
    return app
