"""What the assistant's answer sets off, once Rasa has kept the message: the youth mode, the
crisis intent, registration for the figures, unclear questions, "Heb je hier genoeg aan?" and a
handoff request. None of these may fail the reply: Rasa has the message, so a retry would
reach it twice."""

from __future__ import annotations

import contextlib
import logging
from typing import Any, cast

from redis.exceptions import RedisError

from base.registrar import Fact, facts_from_tag
from bot.address import AddressBook, without_marks, youth_turn
from bot.client_rasa import RasaUnavailable
from bot.core.crisis import Crisis
from bot.core.handoffs import Handoffs
from bot.core.utterance import Utterance
from bot.messages import BotMessage, from_rasa
from common import registration
from common.content import ServiceMessages
from common.handoff_payload import HandoffRequest
from common.names import Channel
from common.offers import catalogue
from common.safety import nlu_signal
from handoff.service import HandoffService
from insight.unclear import Kind, UnclearQuestions

log = logging.getLogger(__name__)


class AfterEffects:
    def __init__(
        self,
        handoff: HandoffService,
        texts: ServiceMessages,
        unclear: UnclearQuestions,
        address: AddressBook,
        public_url: str,
        crisis: Crisis,
        handoffs: Handoffs,
    ) -> None:
        """``public_url``: the service's own address, for the counted offer links."""
        self._handoff = handoff
        self._texts = texts
        self._unclear = unclear
        self._address = address
        self._public_url = public_url.rstrip("/")
        self._crisis = crisis
        self._handoffs = handoffs

    async def answer(self, u: Utterance, raw: list[Any]) -> list[BotMessage]:
        """The replies to show for Rasa's raw answer, with what it set off done."""
        replies = [m for m in (from_rasa(r, u.incoming.user_id) for r in raw) if m is not None]
        if youth_turn(replies):  # youths always get "je"
            try:
                await self._address.note_youth(u.cid)
            except RedisError as exc:
                log.error("youth mode not kept (%s)", type(exc).__name__)
        replies = without_marks(replies)
        signal = next((s for s in (nlu_signal(m.get("custom")) for m in replies) if s), None)
        if signal is not None:  # the crisis intent: the same path as a matching phrase
            return await self._crisis.respond(u, signal, said_to_rasa=True)
        replies, facts = await self._register(u, replies)
        replies += await self._ask_enough(u, facts, replies)
        if not any(m.get("text") or m.get("buttons") or m.get("custom") for m in replies):
            # Rasa had nothing to say (a lone "0", say): the user still gets an answer.
            if not u.payload:
                with contextlib.suppress(Exception):
                    await self._unclear.add(u.text, "fallback", None)
            return [u.unavailable(self._texts, "no_answer")]
        return replies + await self._handoff_asked(u, replies)

    async def _handoff_asked(self, u: Utterance, replies: list[BotMessage]) -> list[BotMessage]:
        """The handoff the assistant asked for (the first request in its replies), started."""
        for message in replies:
            request = HandoffRequest.from_custom(message.get("custom"))
            if request is None:
                continue
            try:
                return await self._handoffs.start(u, request)
            except (RedisError, RasaUnavailable) as exc:
                log.error("handoff could not be started (%s)", type(exc).__name__)
                return [u.unavailable(self._texts, "handoff_failed")]
        return []

    async def _register(
        self, u: Utterance, replies: list[BotMessage]
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
                    shown[-1] = self._counted_links(shown[-1], custom["offer"], u.channel)
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
                await self._handoff.register(u.cid, u.channel, facts)
            if unclear is not None and not u.payload:
                kind: Kind = "fallback" if unclear[0] == "not_understood" else "unsure"
                await self._unclear.add(u.text, kind, unclear[1])
        except Exception as exc:  # the figures may miss one; the user never does
            log.error("registration failed (%s)", type(exc).__name__)
        return shown, facts

    async def _ask_enough(
        self, u: Utterance, facts: list[Fact], replies: list[BotMessage]
    ) -> list[BotMessage]:
        """ "Heb je hier genoeg aan ...?" after the first sure answer (handoff/enough.py); an
        optional question, so a failure only leaves it out."""
        try:
            asked = await self._handoff.ask_if_enough(u.cid, facts, list(replies))
        except Exception as exc:
            log.error("enough question failed (%s)", type(exc).__name__)
            return []
        return [] if asked is None else u.to_user([asked])

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
