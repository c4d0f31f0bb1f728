"""The channel-independent conversation core.

Every channel (the chat API, later the widget and Telegram) hands user messages to
:meth:`ConversationCore.handle` and shows what comes back. The core pseudonymises the user,
cleans the text, asks Rasa, recognises handoff requests and turns failures into friendly Dutch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot import safety
from bot.client_rasa import RasaClient, RasaUnavailable
from bot.messages import BotMessage, from_rasa, service_message
from bot.pseudonym import pseudonymise
from bot.rate_limit import RateLimits
from bot.text_input import RateLimited, clean_text
from common.content import ServiceMessages
from common.handoff_payload import HandoffRequest
from common.safety import Signal
from handoff.requests import HandoffLog
from handoff.service import HandoffService, Message
from handoff.store import State
from handoff.transcript import Role

log = logging.getLogger(__name__)
# Rasa's Redis tracker store key: key_prefix "rasa" (endpoints.yml) + ":tracker:" + sender.
RASA_TRACKER_KEY = "rasa:tracker:{}"


@dataclass(frozen=True)
class Incoming:
    channel: str  # "api", "widget", "telegram"
    user_id: str  # the id as the channel knows it; never stored or logged
    text: str
    address: str | None = None  # the client's network address, only to count (rate limits)


class ConversationCore:
    def __init__(
        self,
        rasa: RasaClient,
        handoffs: HandoffLog,
        handoff: HandoffService,
        texts: ServiceMessages,
        pseudonym_secret: str,
        max_message_chars: int,
        trackers: Redis,
        limits: RateLimits,
    ) -> None:
        self._rasa = rasa
        self._handoffs = handoffs
        self.handoff = handoff
        self._texts = texts
        self._secret = pseudonym_secret
        self._max_chars = max_message_chars
        self._trackers = trackers  # Rasa's tracker store, for erasing
        self._limits = limits

    def conversation_id(self, channel: str, user_id: str) -> str:
        return pseudonymise(self._secret, channel, user_id)

    async def stop(self, channel: str, user_id: str) -> None:
        """Ends the conversation: a handoff is stopped and Rasa starts afresh."""
        conversation = self.conversation_id(channel, user_id)
        await self.handoff.stop(conversation)
        try:
            await self._rasa.send(conversation, "/restart")
        except RasaUnavailable as exc:
            log.warning("could not restart the conversation in Rasa (%s)", exc)

    async def forget(self, channel: str, user_id: str) -> None:
        """Erases the conversation now: handoff records, transcripts, outbox, Rasa's tracker."""
        conversation = self.conversation_id(channel, user_id)
        await self.handoff.forget(conversation)
        await self._trackers.delete(RASA_TRACKER_KEY.format(conversation))

    def _unavailable(self, user_id: str, key: str = "assistant_unavailable") -> BotMessage:
        return service_message(user_id, self._texts.get(key), key)

    async def handle(self, incoming: Incoming) -> list[BotMessage]:
        """Answers one user message. Raises InputRejected for empty or over-long text, and
        RateLimited for a flood (the safety check still runs first).

        During a handoff the text goes to staff, never to Rasa; the service's own buttons
        (``/cjg_...``) are handled here too.
        """
        text = clean_text(incoming.text, self._max_chars)
        conversation = self.conversation_id(incoming.channel, incoming.user_id)
        signal = None if text.startswith("/") else safety.check(text)
        if signal is not None:  # before anything else, on every channel, in every state
            return await self._crisis(conversation, incoming, signal, text)
        try:
            allowed = await self._limits.allow(conversation, incoming.address)
        except RedisError:
            allowed = True  # the state check below tells the user what is wrong
        if not allowed:
            raise RateLimited()
        try:
            state = await self.handoff.conversation(conversation)
            if text.startswith("/cjg_"):
                own = await self.handoff.control(conversation, state, text)
                return [_addressed(m, incoming.user_id) for m in own]
            if state.state in (State.WAITING, State.WITH_STAFF):
                own = await self.handoff.user_message(conversation, state, text)
                return [_addressed(m, incoming.user_id) for m in own]
            if state.state == State.LEAVING_MESSAGE:
                own = await self.handoff.leave_message(conversation, incoming.channel, text)
                return [_addressed(m, incoming.user_id) for m in own]
        except RedisError as exc:
            log.error("conversation state unavailable (%s)", type(exc).__name__)
            return [self._unavailable(incoming.user_id)]
        try:
            raw = await self._rasa.send(conversation, text)
        except RasaUnavailable as exc:
            log.warning("assistant unavailable (%s) on channel %s", exc, incoming.channel)
            return [self._unavailable(incoming.user_id)]
        replies = [m for m in (from_rasa(r, incoming.user_id) for r in raw) if m is not None]
        for message in list(replies):
            request = HandoffRequest.from_custom(message.get("custom"))
            if request is None:
                continue
            try:
                replies.extend(await self._start_handoff(conversation, incoming, request))
            except (RedisError, RasaUnavailable) as exc:
                log.error("handoff could not be started (%s)", type(exc).__name__)
                replies.append(self._unavailable(incoming.user_id, "handoff_failed"))
            break
        return replies

    async def _crisis(
        self, conversation: str, incoming: Incoming, signal: Signal, text: str
    ) -> list[BotMessage]:
        """Safety first: the crisis card at once, then an urgent handoff (or, during one, the
        same chat flagged urgent for staff). Never ends the conversation, and the card is shown
        even when nothing else works."""
        log.warning("safety signal (%s) on channel %s", signal.category, incoming.channel)
        card = _addressed(safety.card(signal), incoming.user_id)
        try:
            return [card, *await self._escalate(conversation, incoming, signal, text)]
        except RedisError as exc:
            log.error("urgent handoff could not be started (%s)", type(exc).__name__)
            return [card, self._unavailable(incoming.user_id, "handoff_failed")]

    async def _escalate(
        self, conversation: str, incoming: Incoming, signal: Signal, text: str
    ) -> list[BotMessage]:
        state = await self.handoff.conversation(conversation)
        own: list[Message] = []
        if state.state in (State.WAITING, State.WITH_STAFF):
            await self.handoff.escalate(state, signal.label)
            own = await self.handoff.user_message(conversation, state, text)
        elif state.state == State.LEAVING_MESSAGE:
            own = await self.handoff.leave_message(conversation, incoming.channel, text)
            await self.handoff.escalate(await self.handoff.conversation(conversation), signal.label)
        else:
            request = HandoffRequest(reason="safety", urgent=True, context={"safety": signal.label})
            started = await self._start_handoff(conversation, incoming, request, [("user", text)])
            after = await self.handoff.conversation(conversation)
            queued = after.state == State.WAITING
            if queued:
                await self.handoff.escalate(after, signal.label)  # the category, for staff
            return [_addressed(safety.next_step(open_now=queued), incoming.user_id), *started]
        return [_addressed(m, incoming.user_id) for m in own]

    async def _start_handoff(
        self,
        conversation: str,
        incoming: Incoming,
        request: HandoffRequest,
        also: list[tuple[Role, str]] | None = None,
    ) -> list[BotMessage]:
        """``also``: what the user said that Rasa never saw (a safety message)."""
        await self._handoffs.record(conversation, incoming.channel, request)
        try:
            history = await self._rasa.history(conversation)
        except RasaUnavailable as exc:  # staff then start without the bot's part of the chat
            log.warning("conversation history unavailable (%s)", exc)
            history = []
        said: list[tuple[Role, str]] = [
            ("user" if role == "user" else "bot", text) for role, text in history
        ]
        own = await self.handoff.begin(conversation, incoming.channel, request, said + (also or []))
        log.info("handoff requested (%s) on channel %s", request.reason, incoming.channel)
        return [_addressed(m, incoming.user_id) for m in own]


def _addressed(message: Message, user_id: str) -> BotMessage:
    """A service message for this user, in the same shape as Rasa's replies."""
    return cast(BotMessage, {"recipient_id": user_id, **message})
