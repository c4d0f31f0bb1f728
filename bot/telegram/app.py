"""The Telegram channel: a python-telegram-bot Application in polling or webhook mode.

In webhook mode Telegram posts updates to the service's own aiohttp app
(``/telegram/webhook``, checked with a secret token header).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.config import Settings
from bot.conversation import ConversationCore
from bot.telegram.chat_ids import ChatIds
from bot.telegram.handlers import Handlers
from bot.telegram.push import Pusher
from bot.telegram.render import Buttons
from common.content import ServiceMessages
from delivery.outbox import Outbox
from delivery.watcher import OutboxWatcher

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class TelegramChannel:
    def __init__(
        self,
        settings: Settings,
        core: ConversationCore,
        redis: Redis,
        texts: ServiceMessages,
        watcher: OutboxWatcher,
        outbox: Outbox,
    ) -> None:
        self._settings = settings
        self._core = core
        buttons = Buttons(redis)
        chat_ids = ChatIds(redis, settings.pseudonym_secret, settings.retention_seconds)
        builder = (
            Application.builder()
            .token(settings.telegram_token)
            .base_url(settings.telegram_api_url)
            .rate_limiter(AIORateLimiter(max_retries=3))
        )
        if settings.telegram_mode == "webhook":
            builder = builder.updater(None)
        self.application = builder.build()
        handlers = Handlers(core, buttons, chat_ids, texts)
        app = self.application
        # Private chats only: groups get one short note (handlers.not_private), never a reply
        # of a conversation; the handlers check the chat type again.
        private = filters.ChatType.PRIVATE
        app.add_handler(CommandHandler("start", handlers.start, filters=private))
        app.add_handler(CommandHandler("help", handlers.help, filters=private))
        app.add_handler(CommandHandler("stop", handlers.stop, filters=private))
        app.add_handler(CommandHandler("wissen", handlers.erase, filters=private))
        app.add_handler(CommandHandler("u", handlers.say_u, filters=private))  # "je" or "u"
        app.add_handler(CommandHandler("je", handlers.say_je, filters=private))
        app.add_handler(CallbackQueryHandler(handlers.button))
        app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, handlers.text))
        app.add_handler(
            MessageHandler(private & ~filters.TEXT & ~filters.COMMAND, handlers.not_text)
        )
        app.add_handler(MessageHandler(~private, handlers.not_private))
        app.add_error_handler(handlers.error)
        self._pusher = Pusher(redis, outbox, chat_ids, buttons, app.bot)
        self._watcher = watcher
        self._catch_up: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.application.initialize()
        await self.application.start()
        if self._settings.telegram_mode == "webhook":
            await self.application.bot.set_webhook(
                self._settings.telegram_webhook_url,
                secret_token=self._settings.telegram_webhook_secret,
                allowed_updates=["message", "callback_query"],
            )
        else:
            assert self.application.updater is not None
            await self.application.updater.start_polling(
                allowed_updates=["message", "callback_query"]
            )
        self._watcher.add_listener(self._pusher.deliver)
        self._catch_up = asyncio.create_task(self._deliver_missed())
        log.info("Telegram is on (%s mode)", self._settings.telegram_mode)

    async def _deliver_missed(self) -> None:
        try:
            sent = await self._pusher.catch_up()
        except (RedisError, TelegramError) as exc:  # the next outbox news sends them
            log.warning("Telegram catch-up failed (%s)", type(exc).__name__)
            return
        if sent:
            log.info("Telegram: %d message(s) from while the service was down sent", sent)

    async def stop(self) -> None:
        if self._catch_up is not None:
            self._catch_up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._catch_up
        if self.application.updater is not None and self.application.updater.running:
            await self.application.updater.stop()
        await self.application.stop()
        await self.application.shutdown()

    async def webhook(self, request: web.Request) -> web.Response:
        """Telegram's POST of one update; only with the secret token we gave it."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given, self._settings.telegram_webhook_secret):
            return web.json_response({"error": "forbidden"}, status=403)
        try:
            data = await request.json()
        except ValueError:
            return web.json_response({"error": "invalid_json"}, status=400)
        update = Update.de_json(data, self.application.bot)
        await self.application.update_queue.put(update)
        return web.json_response({"ok": True})
