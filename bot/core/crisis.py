"""A safety signal (a crisis phrase, bot/core/checks.py, or Rasa's crisis intent,
bot/core/after.py): the crisis card at once, then an urgent handoff, or, during one, the same
chat flagged urgent for staff. Never ends the conversation, and the card is shown even when
nothing else works."""

from __future__ import annotations

import contextlib
import logging

from redis.exceptions import RedisError

from base.registrar import Fact, outcome
from bot import safety
from bot.core.handoffs import Handoffs
from bot.core.routing import WITH_A_PERSON, Routing
from bot.core.utterance import Utterance
from bot.messages import BotMessage
from bot.text_input import StorageUnavailable
from common.content import ServiceMessages
from common.handoff_payload import HandoffRequest
from common.names import Reason, State
from common.safety import Signal
from handoff.service import HandoffService
from handoff.store import Conversation
from handoff.transcript import Role
from handoff.urgent import UrgentLimits

log = logging.getLogger(__name__)
CRISIS = outcome("crisis_card")


class Crisis:
    def __init__(
        self,
        handoff: HandoffService,
        texts: ServiceMessages,
        urgent: UrgentLimits,
        routing: Routing,
        handoffs: Handoffs,
    ) -> None:
        self._handoff = handoff
        self._texts = texts
        self._urgent = urgent
        self._routing = routing
        self._handoffs = handoffs

    async def respond(
        self, u: Utterance, signal: Signal, said_to_rasa: bool = False
    ) -> list[BotMessage]:
        """The card, then the handoff. ``said_to_rasa``: Rasa has the message (its crisis
        intent), so a failure after the card is reported instead of asking for a retry."""
        log.warning("safety signal (%s) on channel %s", signal.category, u.channel)
        (card,) = u.to_user([safety.card(signal)])
        try:
            replies = [card, *await self._escalate(u, signal, said_to_rasa)]
        except RedisError as exc:
            log.error("urgent handoff could not be started (%s)", type(exc).__name__)
            if said_to_rasa:  # Rasa has the message: answered, only the handoff failed
                return [card, u.unavailable(self._texts, "handoff_failed")]
            raise StorageUnavailable(shown=[card]) from exc  # nothing kept: send it again
        with contextlib.suppress(RedisError):  # the figures may miss one; the user never does
            signalled = [CRISIS, Fact("signal", signal.category, many=True)]
            await self._handoff.register(u.cid, u.channel, signalled)
        return replies

    async def _escalate(self, u: Utterance, signal: Signal, said_to_rasa: bool) -> list[BotMessage]:
        """One alarm per handoff, and new urgent handoffs within the flood limits
        (``handoff.urgent``); past a limit the conversation keeps or gets a normal place in the
        queue, labelled for staff, and every console is told how many were limited."""
        state = await self._handoff.conversation(u.cid)
        if state.state in WITH_A_PERSON and not await self._handoff.is_urgent(state):
            # labelled first: staff see the chat urgent when the message arrives
            await self._handoff.escalate(state, signal.label, await self._may_be_urgent(u))
        to_staff = await self._routing.to_staff(u, state)
        if to_staff is None:
            return await self._urgent_handoff(u, state, signal, said_to_rasa)
        if state.state == State.LEAVING_MESSAGE:
            try:  # the message is left (kept): from here on, a failure must not ask for a retry
                urgent = await self._may_be_urgent(u)
                left = await self._handoff.conversation(u.cid)
                await self._handoff.escalate(left, signal.label, urgent)
            except RedisError as exc:
                log.error("left message kept but not labelled (%s)", type(exc).__name__)
        return to_staff

    async def _urgent_handoff(
        self, u: Utterance, state: Conversation, signal: Signal, said_to_rasa: bool
    ) -> list[BotMessage]:
        """No person involved yet: a new handoff, urgent within the limits, with what the
        CJG can do now said honestly."""
        if state.state == State.CALLBACK:  # the callback questions stop; safety first
            await self._handoffs.drop_callback(u.cid)
        # Closed or nobody online: no queue, so nothing to limit (a message left later is).
        urgent = not await self._handoff.would_queue() or await self._may_be_urgent(u)
        request = HandoffRequest(
            reason=Reason.SAFETY, urgent=urgent, context={"safety": signal.label}
        )
        unseen: list[tuple[Role, str]] = [] if said_to_rasa else [("user", u.text)]
        started = await self._handoffs.start(u, request, unseen)
        try:
            after = await self._handoff.conversation(u.cid)
            queued = after.state == State.WAITING
            if queued:  # the category, for staff
                await self._handoff.escalate(after, signal.label, urgent)
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
        return [*u.to_user([step]), *started]

    async def _may_be_urgent(self, u: Utterance) -> bool:
        """Counts one new urgent handoff against the limits; False (and staff are told) when
        one is full."""
        full = await self._urgent.allow(u.cid, u.incoming.address)
        if full is None:
            return True
        log.warning("urgent handoff limit reached (%s): queued as normal", full)
        count = await self._urgent.note_limited()
        await self._handoff.urgent_limited(count, full)
        return False
