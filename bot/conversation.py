"""The channel-independent conversation core.

Every channel (the chat API, later the widget and Telegram) hands user messages to
:meth:`ConversationCore.handle` and shows what comes back. The core pseudonymises the user,
cleans the text, asks Rasa, recognises handoff requests and turns failures into friendly Dutch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.exceptions import RedisError

from bot.client_rasa import RasaClient, RasaUnavailable
from bot.messages import BotMessage, from_rasa, service_message
from bot.pseudonym import pseudonymise
from bot.text_input import clean_text
from common.content import ServiceMessages
from common.handoff_payload import HandoffRequest
from handoff.requests import HandoffLog

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Incoming:
    channel: str  # "api", "widget", "telegram"
    user_id: str  # the id as the channel knows it; never stored or logged
    text: str


class ConversationCore:
    def __init__(
        self,
        rasa: RasaClient,
        handoffs: HandoffLog,
        texts: ServiceMessages,
        pseudonym_secret: str,
        max_message_chars: int,
    ) -> None:
        self._rasa = rasa
        self._handoffs = handoffs
        self._texts = texts
        self._secret = pseudonym_secret
        self._max_chars = max_message_chars

    def conversation_id(self, channel: str, user_id: str) -> str:
        return pseudonymise(self._secret, channel, user_id)

    async def handle(self, incoming: Incoming) -> list[BotMessage]:
        """Answers one user message. Raises InputRejected for empty or over-long text."""
        text = clean_text(incoming.text, self._max_chars)
        conversation = self.conversation_id(incoming.channel, incoming.user_id)
        try:
            raw = await self._rasa.send(conversation, text)
        except RasaUnavailable as exc:
            log.warning("assistant unavailable (%s) on channel %s", exc, incoming.channel)
            return [
                service_message(
                    incoming.user_id,
                    self._texts.get("assistant_unavailable"),
                    "assistant_unavailable",
                )
            ]
        replies = [m for m in (from_rasa(r, incoming.user_id) for r in raw) if m is not None]
        for message in replies:
            request = HandoffRequest.from_custom(message.get("custom"))
            if request is not None:
                try:
                    await self._handoffs.record(conversation, incoming.channel, request)
                except RedisError as exc:
                    log.error("handoff could not be recorded (%s)", type(exc).__name__)
                    replies.append(
                        service_message(
                            incoming.user_id, self._texts.get("handoff_failed"), "handoff_failed"
                        )
                    )
                    break
                log.info("handoff requested (%s) on channel %s", request.reason, incoming.channel)
        return replies
