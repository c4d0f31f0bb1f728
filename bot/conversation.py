"""The channel-independent conversation core.

Every channel (the chat API, later the widget and Telegram) hands user messages to
:meth:`ConversationCore.handle` and shows what comes back. The core pseudonymises the user,
cleans the text, asks Rasa, recognises handoff requests and turns failures into friendly Dutch.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import RedisError, WatchError

from bot import safety
from bot.client_rasa import RasaClient, RasaUnavailable
from bot.messages import BotMessage, from_rasa, service_message
from bot.pseudonym import pseudonymise
from bot.rate_limit import RateLimits
from bot.text_input import RateLimited, clean_text
from common import registration
from common.content import ServiceMessages
from common.handoff_payload import HandoffRequest
from common.offers import catalogue
from common.payload import as_text, is_payload, is_service_payload
from common.safety import Signal, nlu_signal
from handoff.redact import redact
from handoff.requests import HandoffLog
from handoff.service import HandoffService, Message
from handoff.store import State
from handoff.transcript import Role
from insight.registrar import Fact, facts_from_tag, outcome
from insight.unclear import Kind, UnclearQuestions

log = logging.getLogger(__name__)
# Rasa's Redis tracker store key: key_prefix "rasa" (endpoints.yml) + ":tracker:" + sender.
RASA_TRACKER_KEY = "rasa:tracker:{}"
CRISIS = outcome("crisis_card")


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
        unclear: UnclearQuestions,
        public_url: str,
    ) -> None:
        self._rasa = rasa
        self._handoffs = handoffs
        self.handoff = handoff
        self._texts = texts
        self._secret = pseudonym_secret
        self._max_chars = max_message_chars
        self._trackers = trackers  # Rasa's tracker store, for erasing
        self._limits = limits
        self._unclear = unclear
        self._public_url = public_url.rstrip("/")
        handoff.registrar.set_quiet_hook(self.redact_tracker)

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
        await self.handoff.registrar.flush(conversation)  # counted, then nothing is left
        await self.handoff.forget(conversation)
        await self._trackers.delete(RASA_TRACKER_KEY.format(conversation))

    async def redact_tracker(self, conversation: str) -> bool:
        """A quiet conversation: what the user typed in Rasa's tracker is redacted (names,
        places, phone numbers ...), as transcripts are. True if personal data was found.

        Rasa keeps the tracker until ``TRACKER_TTL_SECONDS``; this keeps what it holds
        impersonal after the first quiet half hour. A tracker that changed meanwhile is left
        for the next time.
        """
        key = RASA_TRACKER_KEY.format(conversation)
        raw = await self._trackers.get(key)
        if not raw:
            return False
        data = json.loads(raw)
        said = [
            e
            for e in data.get("events") or []
            if e.get("event") == "user" and isinstance(e.get("text"), str)
        ]
        cleaned = await redact([e["text"] for e in said])
        found = False
        for event, clean in zip(said, cleaned, strict=True):
            if clean != event["text"] and not is_payload(event["text"]):
                found = True
                event["text"] = clean
                if isinstance(event.get("parse_data"), dict):
                    event["parse_data"]["text"] = clean
        if not found:
            return False
        try:
            async with self._trackers.pipeline(transaction=True) as pipe:
                await pipe.watch(key)
                if await pipe.get(key) != raw:
                    return True
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.set(key, json.dumps(data, ensure_ascii=False), keepttl=True)
                await pipe.execute()
        except WatchError:
            log.info("tracker changed while redacting; it is redacted when it is quiet again")
        return True

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
        payload = is_payload(text)  # a button's own payload; anything else is checked as text
        signal = None if payload else safety.check(text)
        if signal is not None:  # before anything else, on every channel, in every state
            return await self._crisis(conversation, incoming, signal, text)
        try:
            allowed = await self._limits.allow(conversation, incoming.address)
        except RedisError:
            allowed = True  # the state check below tells the user what is wrong
        if not allowed:
            raise RateLimited()
        try:
            await self.handoff.registrar.note(conversation, incoming.channel)
            state = await self.handoff.conversation(conversation)
            if is_service_payload(text):
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
        said = text if payload else as_text(text)  # Rasa reads only real payloads as intents
        if not said:  # nothing but slashes: there is nothing to answer
            return [self._unavailable(incoming.user_id, "no_answer")]
        try:
            raw = await self._rasa.send(conversation, said)
        except RasaUnavailable as exc:
            log.warning("assistant unavailable (%s) on channel %s", exc, incoming.channel)
            return [self._unavailable(incoming.user_id)]
        replies = [m for m in (from_rasa(r, incoming.user_id) for r in raw) if m is not None]
        signal = next((s for s in (nlu_signal(m.get("custom")) for m in replies) if s), None)
        if signal is not None:  # the crisis intent: the same path as a matching phrase
            return await self._crisis(conversation, incoming, signal, text, said_to_rasa=True)
        replies = await self._register(conversation, incoming, text, replies, payload)
        if not any(m.get("text") or m.get("buttons") or m.get("custom") for m in replies):
            # Rasa had nothing to say (a lone "0", say): the user still gets an answer.
            if not payload:
                with contextlib.suppress(Exception):
                    await self._unclear.add(text, "fallback", None)
            return [self._unavailable(incoming.user_id, "no_answer")]
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
        self,
        conversation: str,
        incoming: Incoming,
        signal: Signal,
        text: str,
        said_to_rasa: bool = False,
    ) -> list[BotMessage]:
        """Safety first: the crisis card at once, then an urgent handoff (or, during one, the
        same chat flagged urgent for staff). Never ends the conversation, and the card is shown
        even when nothing else works."""
        log.warning("safety signal (%s) on channel %s", signal.category, incoming.channel)
        card = _addressed(safety.card(signal), incoming.user_id)
        try:
            replies = [
                card,
                *await self._escalate(conversation, incoming, signal, text, said_to_rasa),
            ]
        except RedisError as exc:
            log.error("urgent handoff could not be started (%s)", type(exc).__name__)
            return [card, self._unavailable(incoming.user_id, "handoff_failed")]
        with contextlib.suppress(RedisError):  # the figures may miss one; the user never does
            signalled = [CRISIS, Fact("signal", signal.category, many=True)]
            await self.handoff.registrar.note(conversation, incoming.channel, signalled)
        return replies

    async def _escalate(
        self, conversation: str, incoming: Incoming, signal: Signal, text: str, said_to_rasa: bool
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
            unseen: list[tuple[Role, str]] = [] if said_to_rasa else [("user", text)]
            started = await self._start_handoff(conversation, incoming, request, unseen)
            after = await self.handoff.conversation(conversation)
            queued = after.state == State.WAITING
            if queued:
                await self.handoff.escalate(after, signal.label)  # the category, for staff
            return [_addressed(safety.next_step(open_now=queued), incoming.user_id), *started]
        return [_addressed(m, incoming.user_id) for m in own]

    async def _register(
        self,
        conversation: str,
        incoming: Incoming,
        text: str,
        replies: list[BotMessage],
        payload: bool,
    ) -> list[BotMessage]:
        """Takes the assistant's registration notes out of its replies and records them; keeps
        a redacted copy of a question it did not understand; sends offer links through the
        counting redirect. Never fails the reply."""
        facts: list[Fact] = []
        unclear: tuple[str, str | None] | None = None
        shown: list[BotMessage] = []
        for message in replies:
            tag = registration.from_custom(message.get("custom"))
            if tag is None:
                shown.append(self._counted_links(message, incoming.channel))
                continue
            facts += facts_from_tag(tag)
            if tag["outcome"] in ("not_understood", "unsure"):
                unclear = (tag["outcome"], tag.get("guess"))
        try:
            if facts:
                await self.handoff.registrar.note(conversation, incoming.channel, facts)
            if unclear is not None and not payload:
                kind: Kind = "fallback" if unclear[0] == "not_understood" else "unsure"
                await self._unclear.add(text, kind, unclear[1])
        except Exception as exc:  # the figures may miss one; the user never does
            log.error("registration failed (%s)", type(exc).__name__)
        return shown

    def _counted_links(self, message: BotMessage, channel: str) -> BotMessage:
        """Offer links go via /go/<offer>, which counts the click and redirects."""
        buttons = message.get("buttons")
        if not buttons or (channel == "telegram" and not self._public_url.startswith("https://")):
            return message  # Telegram refuses link buttons to a local http address
        by_link = {o.link: o.id for o in catalogue().offers}
        counted = [
            {**b, "payload": f"{self._public_url}/go/{by_link[b['payload']]}?via={channel}"}
            if b["payload"] in by_link
            else b
            for b in buttons
        ]
        return cast(BotMessage, {**message, "buttons": counted})

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
