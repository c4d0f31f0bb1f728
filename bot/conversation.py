"""The channel-independent conversation core.

Every channel (the chat API, later the widget and Telegram) hands user messages to
:meth:`ConversationCore.handle` and shows what comes back. The core pseudonymises the user,
cleans the text, asks Rasa, recognises handoff requests and turns failures into friendly Dutch.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot import safety
from bot.address import AddressBook, without_marks, youth_turn
from bot.client_rasa import RasaClient, RasaUnavailable
from bot.messages import BotMessage, from_rasa, service_message
from bot.pseudonym import pseudonymise
from bot.rasa_tracker import RasaTrackers
from bot.rate_limit import RateLimits
from bot.text_input import AssistantUnavailable, RateLimited, StorageUnavailable, clean_text
from bot.turns import Turn, Turns
from common import phone, registration
from common.address import PAYLOADS, WISH_MAX_WORDS, Address, wish
from common.content import ServiceMessages
from common.handoff_payload import HandoffRequest
from common.names import Channel, Reason, State
from common.offers import catalogue
from common.payload import ASK_CALLBACK, as_text, is_payload, is_service_payload
from common.safety import Signal, nlu_signal
from handoff import enough
from handoff.callbacks import Callbacks
from handoff.callbacks import Turn as CallbackTurn
from handoff.registrar import Fact, facts_from_tag, outcome
from handoff.requests import HandoffLog
from handoff.service import HandoffService, Message
from handoff.store import Conversation
from handoff.transcript import Role
from handoff.urgent import UrgentLimits
from insight.unclear import Kind, UnclearQuestions

log = logging.getLogger(__name__)
CRISIS = outcome("crisis_card")


@dataclass(frozen=True)
class Incoming:
    channel: str  # a Channel (common/names.py)
    user_id: str  # the id as the channel knows it; never stored or logged
    text: str
    address: str | None = None  # the client's network address, only to count (rate limits)
    # The message's own id, the same when the client sends it again (the widget's cjg_mid):
    # Rasa keeps a message it has seen once and answers it as before.
    message_id: str | None = None


class ConversationCore:
    def __init__(
        self,
        rasa: RasaClient,
        redis: Redis,
        handoffs: HandoffLog,
        handoff: HandoffService,
        texts: ServiceMessages,
        pseudonym_secret: str,
        max_message_chars: int,
        trackers: RasaTrackers,
        limits: RateLimits,
        unclear: UnclearQuestions,
        public_url: str,
        urgent: UrgentLimits,
        turn_seconds: float = 30.0,
        address: AddressBook | None = None,
        callbacks: Callbacks | None = None,
    ) -> None:
        """``redis``: the service's client (turn locks, the form of address, the state read
        with the rate limits). ``turn_seconds``: the longest a turn may take (Rasa's timeout,
        twice, and some): how long it holds the conversation's lock, and how long an erase
        waits for Rasa."""
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
        self._urgent = urgent
        self._turn_seconds = turn_seconds
        self._redis = redis
        self._turns = Turns(redis, turn_seconds)
        self.address = address or AddressBook(redis, Address.JE, handoff.timing.retention_seconds)
        self.callbacks = callbacks  # None: a callback wish becomes a chat handoff

    def conversation_id(self, channel: str, user_id: str) -> str:
        return pseudonymise(self._secret, channel, user_id)

    async def may_start(self, conversation: str, address: str | None) -> bool:
        """Whether a conversation may start without a message (the API's session): it counts
        as one message of the conversation and of the client's address."""
        return await self._limits.allow(conversation, address)

    async def stop(self, channel: str, user_id: str) -> None:
        """Ends the conversation: a handoff is stopped and Rasa starts afresh."""
        conversation = self.conversation_id(channel, user_id)
        await self.handoff.stop(conversation)
        await self._drop_callback(conversation)
        try:
            await self._rasa.send(conversation, "/restart")
        except RasaUnavailable as exc:
            log.warning("could not restart the conversation in Rasa (%s)", exc)

    async def forget(self, channel: str, user_id: str) -> None:
        """Erases the conversation now: handoff records, transcripts, outbox, its handoff
        requests, Rasa's tracker. A turn in flight finds it erased and drops its reply."""
        conversation = self.conversation_id(channel, user_id)
        async with self._turns.erasing(conversation):
            await self._erase(conversation)

    async def _erase(self, conversation: str) -> None:
        """Everything kept under this pseudonym; idempotent (a late turn runs it again)."""
        await self.handoff.forget(conversation)  # stops a handoff first, which is registered
        if self.callbacks is not None:
            await self.callbacks.erase(conversation)
        await self.handoff.register_final(conversation)  # counted, then nothing is left
        await self._handoffs.erase(conversation)
        await self._trackers.erase(conversation, self._turn_seconds)

    async def _late(self, turn: Turn) -> bool:
        """True when the conversation was erased while this turn ran: then whatever the turn
        re-created is deleted again, and the caller drops its reply.

        False when Redis cannot tell (away since Rasa answered): the message has reached Rasa,
        so the reply goes to whoever sent it rather than being lost; a retry would reach Rasa
        twice, and nothing can be re-created in a store that takes no writes.
        """
        try:
            if not await turn.erased():
                return False
        except RedisError as exc:
            log.error("erase check failed after the answer (%s)", type(exc).__name__)
            return False
        log.info("a turn ended after its conversation was erased; its reply is dropped")
        try:
            await self._erase(turn.cid)
        except RedisError as exc:
            log.error("late turn clean-up failed (%s)", type(exc).__name__)
        return True

    def _unavailable(self, user_id: str, key: str = "assistant_unavailable") -> BotMessage:
        return service_message(user_id, self._texts.get(key), key)

    async def handle(self, incoming: Incoming, *, confirm: bool = True) -> list[BotMessage]:
        """Answers one user message. Raises InputRejected for empty or over-long text,
        RateLimited for a flood (the safety check still runs first), StorageUnavailable when
        Redis refuses to keep the message (full, or away) and AssistantUnavailable when Rasa or
        its action server does not answer. Both of those (``Unavailable``) mean that the
        service kept nothing of the message, so the client may send it again as it is; a crisis
        message still gets the card (``shown``). Once the message is kept (in a transcript, by
        Rasa), a later failure is reported in the replies instead, so a retry cannot add it
        twice.

        During a handoff the text goes to staff, never to Rasa; the service's own buttons
        (``/cjg_...``) are handled here too.
        """
        text = clean_text(incoming.text, self._max_chars)
        conversation = self.conversation_id(incoming.channel, incoming.user_id)
        payload = is_payload(text)  # a button's own payload; anything else is checked as text
        signal = None if payload else safety.check(text)
        async with self._turns.turn(conversation) as turn:
            replies = await self._turn(conversation, incoming, text, payload, signal, turn)
            if turn is not None and await self._late(turn):
                return []
            if confirm:  # False: the caller keeps more of this turn and confirms after that
                await self._durable(replies)
            try:
                return await self.address.render(conversation, replies)
            except RedisError as exc:  # the user still gets the answer, with "je"
                log.error("form of address unavailable (%s)", type(exc).__name__)
                return replies

    async def _durable(self, replies: list[BotMessage]) -> None:
        """Acknowledged means kept: every write of this turn (Rasa's tracker included) is on
        the replicas the settings ask for, or the user is told to try again
        (handoff/durability.py). A crisis card is shown all the same."""
        try:
            await self.handoff.confirm_durable()
        except RedisError as exc:
            log.error("message not confirmed by the replicas (%s)", type(exc).__name__)
            cards = [m for m in replies if "crisis" in (m.get("custom") or {})]
            raise StorageUnavailable(shown=cards) from exc

    async def _turn(
        self,
        conversation: str,
        incoming: Incoming,
        text: str,
        payload: bool,
        signal: Signal | None,
        turn: Turn | None,
    ) -> list[BotMessage]:
        """One message, while holding the conversation's lock (``turn``)."""
        if signal is not None:  # before anything else, on every channel, in every state
            return await self._crisis(conversation, incoming, signal, text)
        try:
            allowed, state = await self._admitted(conversation, incoming.address)
        except RedisError as exc:
            log.error("conversation state unavailable (%s)", type(exc).__name__)
            raise StorageUnavailable() from exc
        if not allowed:
            raise RateLimited()
        try:
            await self.handoff.register(conversation, incoming.channel)
            if text in PAYLOADS:  # the widget's control, Telegram's /u and /je
                return [await self._choose(conversation, incoming, PAYLOADS[text])]
            if enough.is_answer(text):  # "Heb je hier genoeg aan ...?", in any state
                own = [await self.handoff.answer_enough(conversation, text)]
                return [_addressed(m, incoming.user_id) for m in own]
            if state.state == State.CALLBACK and self.callbacks is not None:
                step = await self.callbacks.user_message(conversation, text)
                if step is not None:  # the service's own questions: never to Rasa
                    return await self._callback_turn(conversation, incoming, step)
            if text == ASK_CALLBACK and self.callbacks is not None:
                # "Bel me liever terug" instead of waiting or leaving a message: the assistant
                # takes the wish (it knows whether a youth asks, who is never asked a number).
                if state.state == State.LEAVING_MESSAGE:
                    await self.handoff.back_to_bot(conversation, incoming.channel)
                elif state.state == State.WAITING and not await self.handoff.withdraw(
                    conversation, state
                ):  # staff took the chat just now
                    too_late = {"text": self._texts.get("handoff_cancel_too_late")}
                    return [_addressed(too_late, incoming.user_id)]
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
            if not payload and len(text.split()) <= WISH_MAX_WORDS:
                form = wish(text)  # "zeg maar u", "je mag me tutoyeren"
                if form is not None:
                    return [await self._choose(conversation, incoming, form)]
        except RedisError as exc:  # full (maxmemory, noeviction) or away
            log.error("conversation state unavailable (%s)", type(exc).__name__)
            raise StorageUnavailable() from exc
        # Rasa reads only real payloads as intents, and never a phone number.
        said = text if payload else phone.mask(as_text(text))
        if not said:  # nothing but slashes: there is nothing to answer
            return [self._unavailable(incoming.user_id, "no_answer")]
        try:
            raw = await self._rasa.send(conversation, said, incoming.message_id)
            if not raw and await self._rasa.actions_down():
                raise RasaUnavailable("the action server does not answer")
        except RasaUnavailable as exc:
            # Refused: Rasa never saw the message. Too slow or an error: Rasa may still keep
            # it, but the service kept nothing and the user got no answer (docs/API.md).
            log.warning("assistant unavailable (%s) on channel %s", exc, incoming.channel)
            raise AssistantUnavailable() from exc
        if turn is not None and await self._late(turn):
            return []  # erased while Rasa was thinking: nothing is registered or started
        replies = [m for m in (from_rasa(r, incoming.user_id) for r in raw) if m is not None]
        if youth_turn(replies):  # youths always get "je"
            try:
                await self.address.note_youth(conversation)
            except RedisError as exc:
                log.error("youth mode not kept (%s)", type(exc).__name__)
        replies = without_marks(replies)
        signal = next((s for s in (nlu_signal(m.get("custom")) for m in replies) if s), None)
        if signal is not None:  # the crisis intent: the same path as a matching phrase
            return await self._crisis(conversation, incoming, signal, text, said_to_rasa=True)
        replies, facts = await self._register(conversation, incoming, text, replies, payload)
        replies += await self._ask_enough(conversation, incoming, facts, replies)
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

    async def _admitted(self, conversation: str, address: str | None) -> tuple[bool, Conversation]:
        """Whether the rate limits let the message in, and the conversation's state: one round
        trip (the state is read even when it is refused; reading changes nothing)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            within = self._limits.count(pipe, conversation, address)
            state = self.handoff.conversation_in(pipe, conversation)
            results = await pipe.execute()
        return within(results), state(results)

    async def _choose(self, conversation: str, incoming: Incoming, form: Address) -> BotMessage:
        """The parent's choice of "je" or "u", kept for the conversation; a youth keeps "je"."""
        if await self.address.is_youth(conversation):
            key, form = "address_youth", Address.JE
        else:
            await self.address.choose(conversation, form)
            key = f"address_{form}"
        return {
            "recipient_id": incoming.user_id,
            "text": self._texts.get(key),
            "custom": {"service": "address", "address": str(form)},
        }

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
            if said_to_rasa:  # Rasa has the message: answered, only the handoff failed
                return [card, self._unavailable(incoming.user_id, "handoff_failed")]
            raise StorageUnavailable(shown=[card]) from exc  # nothing kept: send it again
        with contextlib.suppress(RedisError):  # the figures may miss one; the user never does
            signalled = [CRISIS, Fact("signal", signal.category, many=True)]
            await self.handoff.register(conversation, incoming.channel, signalled)
        return replies

    async def _escalate(
        self, conversation: str, incoming: Incoming, signal: Signal, text: str, said_to_rasa: bool
    ) -> list[BotMessage]:
        """One alarm per handoff, and new urgent handoffs within the flood limits
        (``handoff.urgent``); past a limit the conversation keeps or gets a normal place in the
        queue, labelled for staff, and every console is told how many were limited."""
        state = await self.handoff.conversation(conversation)
        own: list[Message] = []
        if state.state in (State.WAITING, State.WITH_STAFF):
            if not await self.handoff.is_urgent(state):
                urgent = await self._may_be_urgent(conversation, incoming)
                await self.handoff.escalate(state, signal.label, urgent)
            own = await self.handoff.user_message(conversation, state, text)
        elif state.state == State.LEAVING_MESSAGE:
            own = await self.handoff.leave_message(conversation, incoming.channel, text)
            try:  # the message is left (kept): from here on, a failure must not ask for a retry
                urgent = await self._may_be_urgent(conversation, incoming)
                left = await self.handoff.conversation(conversation)
                await self.handoff.escalate(left, signal.label, urgent)
            except RedisError as exc:
                log.error("left message kept but not labelled (%s)", type(exc).__name__)
        else:
            if state.state == State.CALLBACK:  # the callback questions stop; safety first
                await self._drop_callback(conversation)
            # Closed or nobody online: no queue, so nothing to limit (a message left later is).
            urgent = not await self.handoff.would_queue() or await self._may_be_urgent(
                conversation, incoming
            )
            request = HandoffRequest(
                reason=Reason.SAFETY, urgent=urgent, context={"safety": signal.label}
            )
            unseen: list[tuple[Role, str]] = [] if said_to_rasa else [("user", text)]
            started = await self._start_handoff(conversation, incoming, request, unseen)
            try:
                after = await self.handoff.conversation(conversation)
                queued = after.state == State.WAITING
                if queued:  # the category, for staff
                    await self.handoff.escalate(after, signal.label, urgent)
            except RedisError as exc:  # started, the text kept: what begin() said must do
                log.error("urgent handoff started but not labelled (%s)", type(exc).__name__)
                return started
            step = (
                safety.next_step(open_now=queued)
                if urgent or not queued
                else {
                    "text": self._texts.get("crisis_queued_busy"),
                    "custom": {"crisis": {"cjg_open": True, "urgent": False}},
                }
            )
            return [_addressed(step, incoming.user_id), *started]
        return [_addressed(m, incoming.user_id) for m in own]

    async def _may_be_urgent(self, conversation: str, incoming: Incoming) -> bool:
        """Counts one new urgent handoff against the limits; False (and staff are told) when
        one is full."""
        full = await self._urgent.allow(conversation, incoming.address)
        if full is None:
            return True
        log.warning("urgent handoff limit reached (%s): queued as normal", full)
        count = await self._urgent.note_limited()
        await self.handoff.urgent_limited(count, full)
        return False

    async def _register(
        self,
        conversation: str,
        incoming: Incoming,
        text: str,
        replies: list[BotMessage],
        payload: bool,
    ) -> tuple[list[BotMessage], list[Fact]]:
        """Takes the assistant's registration notes out of its replies and records them; keeps
        a redacted copy of a question it did not understand; sends offer links through the
        counting redirect. Never fails the reply. Returns the replies to show and the facts."""
        facts: list[Fact] = []
        unclear: tuple[str, str | None] | None = None
        shown: list[BotMessage] = []
        for message in replies:
            custom = message.get("custom")
            if isinstance(custom, dict) and set(custom) == {"offer"}:  # names the offer before
                if shown:
                    shown[-1] = self._counted_links(shown[-1], custom["offer"], incoming.channel)
                continue
            tag = registration.from_custom(custom)
            if tag is None:
                shown.append(message)
                continue
            facts += facts_from_tag(tag)
            if tag["outcome"] in ("not_understood", "unsure"):
                unclear = (tag["outcome"], tag.get("guess"))
        try:
            if facts:
                await self.handoff.register(conversation, incoming.channel, facts)
            if unclear is not None and not payload:
                kind: Kind = "fallback" if unclear[0] == "not_understood" else "unsure"
                await self._unclear.add(text, kind, unclear[1])
        except Exception as exc:  # the figures may miss one; the user never does
            log.error("registration failed (%s)", type(exc).__name__)
        return shown, facts

    async def _ask_enough(
        self, conversation: str, incoming: Incoming, facts: list[Fact], replies: list[BotMessage]
    ) -> list[BotMessage]:
        """ "Heb je hier genoeg aan ...?" after the first sure answer (handoff/enough.py); an
        optional question, so a failure only leaves it out."""
        try:
            asked = await self.handoff.ask_if_enough(conversation, facts, list(replies))
        except Exception as exc:
            log.error("enough question failed (%s)", type(exc).__name__)
            return []
        return [] if asked is None else [_addressed(asked, incoming.user_id)]

    def _counted_links(self, message: BotMessage, offer_id: object, channel: str) -> BotMessage:
        """An offer's link goes via /go/<offer>, which counts the click and redirects. The offer
        finder names the offer in a ``custom`` of its own right after the offer (Rasa sends a
        message's ``custom`` separately): offers can share a link, so the link alone cannot say
        which one was clicked."""
        offer = next((o for o in catalogue().offers if o.id == offer_id), None)
        buttons = message.get("buttons")
        if offer is None or not buttons:
            return message
        if channel == Channel.TELEGRAM and not self._public_url.startswith("https://"):
            return message  # Telegram refuses link buttons to a local http address
        link = f"{self._public_url}/go/{offer.id}?via={channel}"
        counted = [{**b, "payload": link} if b["payload"] == offer.link else b for b in buttons]
        return cast(BotMessage, {**message, "buttons": counted})

    async def _start_handoff(
        self,
        conversation: str,
        incoming: Incoming,
        request: HandoffRequest,
        also: list[tuple[Role, str]] | None = None,
        flow: bool = True,
    ) -> list[BotMessage]:
        """``also``: what the user said that Rasa never saw (a safety message). A callback
        wish starts the service's callback questions instead (handoff/callbacks.py); ``flow``
        False: a chat after all."""
        if request.reason == Reason.CALLBACK and self.callbacks is not None and flow:
            step = await self.callbacks.begin(conversation, incoming.channel, request)
            return await self._callback_turn(conversation, incoming, step)
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

    async def _callback_turn(
        self, conversation: str, incoming: Incoming, step: CallbackTurn
    ) -> list[BotMessage]:
        """The callback questions' replies; a chat handoff when the user chose one (or is a
        youth, who is never asked for a number)."""
        replies = [_addressed(m, incoming.user_id) for m in step.messages]
        if step.chat is not None:
            replies += await self._start_handoff(conversation, incoming, step.chat, flow=False)
        return replies

    async def _drop_callback(self, conversation: str) -> None:
        """Ends unanswered callback questions (and deletes a number typed so far)."""
        if self.callbacks is None:
            return
        if (await self.handoff.conversation(conversation)).state == State.CALLBACK:
            await self.callbacks.drop(conversation)


def _addressed(message: Message, user_id: str) -> BotMessage:
    """A service message for this user, in the same shape as Rasa's replies."""
    return cast(BotMessage, {"recipient_id": user_id, **message})
