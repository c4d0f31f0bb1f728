"""Starting a handoff: from the assistant's request (bot/core/after.py) or a safety signal
(bot/core/crisis.py); a callback wish starts the service's callback questions instead."""

from __future__ import annotations

import logging

from bot.client_rasa import RasaClient, RasaUnavailable
from bot.core.utterance import Utterance
from bot.messages import BotMessage
from common.handoff_payload import HandoffRequest
from common.names import Reason, State
from handoff.callbacks import Callbacks
from handoff.callbacks import Turn as CallbackTurn
from handoff.requests import HandoffLog
from handoff.service import HandoffService
from handoff.transcript import Role

log = logging.getLogger(__name__)


class Handoffs:
    def __init__(
        self,
        rasa: RasaClient,
        requests: HandoffLog,
        handoff: HandoffService,
        callbacks: Callbacks | None,
    ) -> None:
        """``callbacks`` None: a callback wish becomes a chat handoff."""
        self._rasa = rasa
        self._requests = requests
        self._handoff = handoff
        self._callbacks = callbacks

    async def start(
        self,
        u: Utterance,
        request: HandoffRequest,
        also: list[tuple[Role, str]] | None = None,
        flow: bool = True,
    ) -> list[BotMessage]:
        """``also``: what the user said that Rasa never saw (a safety message). A callback
        wish starts the service's callback questions instead (handoff/callbacks.py); ``flow``
        False: a chat after all."""
        if request.reason == Reason.CALLBACK and self._callbacks is not None and flow:
            step = await self._callbacks.begin(u.cid, u.channel, request)
            return await self.callback_turn(u, step)
        await self._requests.record(u.cid, u.channel, request)
        try:
            history = await self._rasa.history(u.cid)
        except RasaUnavailable as exc:  # staff then start without the bot's part of the chat
            log.warning("conversation history unavailable (%s)", exc)
            history = []
        said: list[tuple[Role, str]] = [
            ("user" if role == "user" else "bot", text) for role, text in history
        ]
        own = await self._handoff.begin(u.cid, u.channel, request, said + (also or []))
        log.info("handoff requested (%s) on channel %s", request.reason, u.channel)
        return u.to_user(own)

    async def callback_turn(self, u: Utterance, step: CallbackTurn) -> list[BotMessage]:
        """The callback questions' replies; a chat handoff when the user chose one (or is a
        youth, who is never asked for a number)."""
        replies = u.to_user(step.messages)
        if step.chat is not None:
            replies += await self.start(u, step.chat, flow=False)
        return replies

    async def drop_callback(self, cid: str) -> None:
        """Ends unanswered callback questions (and deletes a number typed so far)."""
        if self._callbacks is None:
            return
        if (await self._handoff.conversation(cid)).state == State.CALLBACK:
            await self._callbacks.drop(cid)
