"""Asking the assistant (Rasa, through bot/client_rasa.py) when no person is involved."""

from __future__ import annotations

import logging
from typing import Any

from bot.client_rasa import RasaClient, RasaUnavailable
from bot.core.utterance import Utterance
from bot.text_input import AssistantUnavailable
from common import phone
from common.payload import as_text

log = logging.getLogger(__name__)


class Assistant:
    def __init__(self, rasa: RasaClient) -> None:
        self._rasa = rasa

    async def ask(self, u: Utterance) -> list[Any] | None:
        """Rasa's raw replies; None when there is nothing to ask (nothing but slashes).
        Raises AssistantUnavailable when Rasa or its action server does not answer: then
        the service kept nothing and the user may send the message again (docs/API.md)."""
        # Rasa reads only real payloads as intents, and never a phone number.
        said = u.text if u.payload else phone.mask(as_text(u.text))
        if not said:
            return None
        try:
            raw = await self._rasa.send(u.cid, said, u.incoming.message_id)
            if not raw and await self._rasa.actions_down():
                raise RasaUnavailable("the action server does not answer")
        except RasaUnavailable as exc:
            # Refused: Rasa never saw the message. Too slow or an error: Rasa may still keep
            # it, but the service kept nothing and the user got no answer (docs/API.md).
            log.warning("assistant unavailable (%s) on channel %s", exc, u.channel)
            raise AssistantUnavailable() from exc
        return raw
