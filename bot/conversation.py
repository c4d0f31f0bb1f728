"""The channel-independent conversation core: one pipeline for every channel.

Every channel (the widget, the chat API, Telegram) hands user messages to
:meth:`ConversationCore.handle` and shows what comes back. The core pseudonymises the user,
cleans the text and runs the turn's steps (bot/core/): the checks (safety, rate limits), the
routing by the conversation's state (the service's own questions, staff, or the assistant), and
what the assistant's answer sets off (registration, unclear questions, a handoff).
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.address import AddressBook
from bot.client_rasa import RasaClient, RasaUnavailable
from bot.core.after import AfterEffects
from bot.core.assistant import Assistant
from bot.core.checks import Checks, safety_signal
from bot.core.crisis import Crisis
from bot.core.handoffs import Handoffs
from bot.core.routing import Routing
from bot.core.utterance import MESSAGE_ID, Incoming, Utterance
from bot.pseudonym import pseudonymise
from bot.rasa_tracker import RasaTrackers
from bot.rate_limit import RateLimits
from bot.text_input import NotConfirmed, clean_text
from bot.turns import Turn, Turns
from common.address import Address
from common.content import ServiceMessages
from common.payload import is_payload
from common.safety import Signal
from delivery.outbox import Outbox
from delivery.reply import Reply
from delivery.write import RETURNED, Delivery, Keep, NotWritten
from handoff.callbacks import Callbacks
from handoff.requests import HandoffLog
from handoff.service import HandoffService
from handoff.urgent import UrgentLimits
from insight.unclear import UnclearQuestions

__all__ = ["MESSAGE_ID", "ConversationCore", "Incoming"]

log = logging.getLogger(__name__)


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
        delivery: Delivery | None = None,
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
        self._turn_seconds = turn_seconds
        self._turns = Turns(redis, turn_seconds)
        self.address = address or AddressBook(redis, Address.JE, handoff.timing.retention_seconds)
        self.callbacks = callbacks  # None: a callback wish becomes a chat handoff
        # Where replies are written and confirmed (delivery/write.py); by default a plain
        # outbox and no replicas to wait for.
        self.delivery = delivery or Delivery(redis, Outbox(redis, handoff.timing.retention_seconds))
        # The turn's steps, in the order a message meets them (bot/core/__init__.py).
        self._checks = Checks(redis, limits, handoff)
        self._handoff_start = Handoffs(rasa, handoffs, handoff, callbacks)
        self._routing = Routing(handoff, texts, self.address, callbacks, self._handoff_start)
        self._crisis = Crisis(handoff, texts, urgent, self._routing, self._handoff_start)
        self._assistant = Assistant(rasa)
        self._after = AfterEffects(
            handoff, texts, unclear, self.address, public_url, self._crisis, self._handoff_start
        )

    def conversation_id(self, channel: str, user_id: str) -> str:
        return pseudonymise(self._secret, channel, user_id)

    async def may_start(self, conversation: str, address: str | None) -> bool:
        """Whether a conversation may start without a message (the API's session): it counts
        as one message of the conversation and of the client's address."""
        return await self._checks.may_start(conversation, address)

    async def stop(self, channel: str, user_id: str) -> None:
        """Ends the conversation: a handoff is stopped and Rasa starts afresh."""
        conversation = self.conversation_id(channel, user_id)
        await self.handoff.stop(conversation)
        await self._handoff_start.drop_callback(conversation)
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

    async def handle(self, incoming: Incoming, keep: Keep = RETURNED) -> list[Reply]:
        """Answers one user message. Raises InputRejected for empty or over-long text,
        RateLimited for a flood (the safety check still runs first), StorageUnavailable when
        Redis refuses to keep the message (full, or away) and AssistantUnavailable when Rasa or
        its action server does not answer. Both of those (``Unavailable``) mean that the
        service kept nothing of the message, so the client may send it again as it is; a crisis
        message still gets the card (``shown``). Once the message is kept (in a transcript, by
        Rasa), a later failure is reported in the replies instead, so a retry cannot add it
        twice.

        During a handoff the text goes to staff, never to Rasa; the service's own buttons
        (``/cjg_...``) are handled here too. ``keep``: where the channel keeps the replies
        (delivery/write.py); they are written there and confirmed durable before this returns.
        """
        text = clean_text(incoming.text, self._max_chars)
        conversation = self.conversation_id(incoming.channel, incoming.user_id)
        payload = is_payload(text)  # a button's own payload; anything else is checked as text
        u = Utterance(conversation, incoming, text, payload)
        signal = safety_signal(text, payload)  # needs no Redis: checked before the lock
        async with self._turns.turn(conversation) as turn:
            replies = await self._turn(u, signal, turn)
            if turn is not None and await self._late(turn):
                return []
            await self._acknowledged(conversation, replies, keep)
            try:
                return await self.address.render(conversation, replies)
            except RedisError as exc:  # the user still gets the answer, with "je"
                log.error("form of address unavailable (%s)", type(exc).__name__)
                return replies

    async def _acknowledged(self, conversation: str, replies: list[Reply], keep: Keep) -> None:
        """Acknowledged means durably written: the replies are where the channel keeps them and
        every write of this turn (Rasa's tracker included) is on the replicas the settings ask
        for (delivery/write.py), or the user is told to try again. A crisis card is shown all
        the same. ``NotWritten`` goes to the channel, which shows the replies without its
        outbox."""
        try:
            await self.delivery.acknowledge(conversation, replies, keep)
        except NotWritten:
            raise
        except RedisError as exc:
            log.error("message not confirmed by the replicas (%s)", type(exc).__name__)
            cards = [m for m in replies if "crisis" in (m.get("custom") or {})]
            raise NotConfirmed(shown=cards) from exc

    async def _turn(self, u: Utterance, signal: Signal | None, turn: Turn | None) -> list[Reply]:
        """One message, while holding the conversation's lock (``turn``): the checks, the
        routing by state, and what the assistant's answer sets off."""
        if signal is not None:  # before anything else, on every channel, in every state
            return await self._crisis.respond(u, signal)
        state = await self._checks.admit(u)  # the rate limits; the conversation's state
        own = await self._routing.route(u, state)  # the service's own questions, or staff
        if own is not None:
            return own
        raw = await self._assistant.ask(u)
        if raw is None:  # nothing but slashes: there is nothing to answer
            return [u.unavailable(self._texts, "no_answer")]
        if turn is not None and await self._late(turn):
            return []  # erased while Rasa was thinking: nothing is registered or started
        return await self._after.answer(u, raw)
