"""What the bot does with each Telegram update: a thin adapter around the conversation core."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from enum import StrEnum
from typing import Any

from redis.exceptions import RedisError
from telegram import Update
from telegram.constants import ChatType
from telegram.error import Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ContextTypes

from bot.address import voiced
from bot.conversation import ConversationCore, Incoming
from bot.telegram.chat_ids import ChatIds
from bot.telegram.render import Buttons, text_of
from bot.text_input import InputRejected, Unavailable
from common.address import Address
from common.content import ServiceMessages
from common.names import Channel
from common.payload import ADDRESS_JE, ADDRESS_U

log = logging.getLogger(__name__)
CHANNEL = Channel.TELEGRAM
SEND_TRIES = 3


class Sent(StrEnum):
    SENT = "sent"
    FAILED = "failed"  # Telegram or the network failed: try again with the next news
    BLOCKED = "blocked"  # the user blocked the bot (403 Forbidden): nothing reaches this chat


async def send(context_bot: Any, chat_id: int, message: dict[str, Any], buttons: Buttons) -> Sent:
    """Sends one message as plain text (never parsed as HTML), retrying network errors."""
    text = text_of(message)
    if text is None:
        return Sent.SENT
    markup = await buttons.keyboard(message)
    for attempt in range(SEND_TRIES):
        try:
            await context_bot.send_message(chat_id=chat_id, text=text[:4096], reply_markup=markup)
            return Sent.SENT
        except Forbidden:  # blocked, or a chat the bot may not write to: retrying cannot help
            return Sent.BLOCKED
        except RetryAfter as exc:  # the rate limiter already retried; wait as Telegram asks
            wait = exc.retry_after
            await asyncio.sleep(wait.total_seconds() if isinstance(wait, timedelta) else wait)
        except (TimedOut, NetworkError) as exc:
            log.warning("Telegram send failed (%s), attempt %d", type(exc).__name__, attempt + 1)
            await asyncio.sleep(2**attempt)
    return Sent.FAILED


def private(update: Update) -> bool:
    """Only private chats are served: in a group, replies (a handoff's, staff's) would be read
    by everyone in it, and the group's chat id would be kept as the user's."""
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


class Handlers:
    def __init__(
        self, core: ConversationCore, buttons: Buttons, chat_ids: ChatIds, texts: ServiceMessages
    ) -> None:
        self._core = core
        self._buttons = buttons
        self._chat_ids = chat_ids
        self._texts = texts

    async def _form(self, update: Update) -> Address:
        """The chat's "je" or "u", for the texts that do not pass the core (/help, /stop ...)."""
        user = update.effective_user
        if user is None or not private(update):
            return self._core.address.default
        try:
            return await self._core.address.form(self._core.conversation_id(CHANNEL, str(user.id)))
        except RedisError:
            return self._core.address.default

    async def _reply(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        text: str,
        form: Address | None = None,
    ) -> None:
        """One text of the service's own, in the chat's form (``form``: as it was before an
        erase, which forgets the choice)."""
        chat = update.effective_chat
        assert chat is not None
        message = {"text": text}
        if (form or await self._form(update)) == Address.U:
            message = voiced(message)
        await self._deliver(context, chat.id, [message])

    async def _deliver(
        self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, messages: list[Any]
    ) -> None:
        for message in messages:
            if await send(context.bot, chat_id, message, self._buttons) == Sent.BLOCKED:
                log.warning("Telegram chat blocked the bot; the reply was not delivered")
                return

    async def _converse(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, text: str
    ) -> None:
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None or not private(update):
            return
        user_id = str(user.id)  # used for the pseudonym only; never stored or logged
        with contextlib.suppress(RedisError):  # Redis away: the core says so (a crisis card too)
            await self._chat_ids.remember(self._core.conversation_id(CHANNEL, user_id), chat.id)
        try:
            # Telegram delivers an update again that the service took but did not finish
            # (polling, after a crash): its id keeps it once in Rasa's tracker.
            incoming = Incoming(CHANNEL, user_id, text, message_id=f"tg-{update.update_id}")
            replies = await self._core.handle(incoming)
        except InputRejected as rejected:
            shown = rejected.shown if isinstance(rejected, Unavailable) else []  # a crisis card
            said = {"text": self._texts.get(rejected.code)}
            messages: list[Any] = [*shown, said]
            if await self._form(update) == Address.U:
                messages = [voiced(dict(m)) for m in messages]
            await self._deliver(context, chat.id, messages)
            return
        await self._deliver(context, chat.id, list(replies))

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start: the assistant's own welcome, which carries the privacy note."""
        await self._converse(update, context, "/greet")

    async def say_u(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/u: the parent prefers "u" (common/address.py); /je goes back."""
        await self._converse(update, context, ADDRESS_U)

    async def say_je(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._converse(update, context, ADDRESS_JE)

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if private(update):
            await self._reply(update, context, self._texts.get("telegram_help"))

    async def stop(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/stop: ends the conversation, a handoff included; the next message starts afresh."""
        if update.effective_user is None or not private(update):
            return
        form = await self._form(update)
        await self._core.stop(CHANNEL, str(update.effective_user.id))
        await self._reply(update, context, self._texts.get("conversation_stopped"), form)

    async def erase(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/wissen: erases what is stored about this conversation, now."""
        if update.effective_user is None or not private(update):
            return
        cid = self._core.conversation_id(CHANNEL, str(update.effective_user.id))
        form = await self._form(update)  # the choice is erased with the rest: say it as before
        await self._core.forget(CHANNEL, str(update.effective_user.id))
        await self._chat_ids.forget(cid)
        await self._reply(update, context, self._texts.get("conversation_erased"), form)

    async def text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message is not None and update.effective_message.text:
            await self._converse(update, context, update.effective_message.text)

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An inline keyboard button: answer the query (stops the spinner), then the payload."""
        query = update.callback_query
        if query is None:
            return
        await query.answer()
        if not private(update):
            return
        payload = await self._buttons.payload(query.data or "")
        if payload is None:
            await self._reply(update, context, self._texts.get("unknown_button"))
            return
        await self._converse(update, context, payload)

    async def not_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if private(update):
            await self._reply(update, context, self._texts.get("telegram_not_text"))

    async def not_private(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A message to the bot in a group: one short note, nothing of a conversation there."""
        chat = update.effective_chat
        if chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
            await self._reply(update, context, self._texts.get("telegram_private_only"))

    async def error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Logs the kind of error only: never the update, which holds the user's text."""
        log.error("Telegram handler failed: %s", type(context.error).__name__)
