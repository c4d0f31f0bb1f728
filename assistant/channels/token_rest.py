"""Rasa's REST channel, but only for callers that present the API token, and keeping a message
that is sent again (the same ``message_id``) once in the tracker.

Rasa's ``--auth-token`` guards its HTTP API, not its channel webhooks. This channel closes that
gap, so every Rasa endpoint needs the token even though Rasa listens on loopback only.

The messaging service sends a message again when it could not keep Rasa's answer (an instance or
the action server died mid-turn, docs/DURABILITY.md). Rasa had stored the user's turn by then;
taken as new it would be in the tracker twice, counted twice, and Rasa's next predictions would
read a conversation that never happened.
"""

from __future__ import annotations

import hmac
import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    BotUttered,
    Event,
    UserUttered,
)
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

log = logging.getLogger(__name__)
structlogger = structlog.get_logger()
MESSAGE_ID_MAX = 128


class TokenRestInput(RestInput):
    """POST /webhooks/cjg/webhook with ``Authorization: Bearer <token>``; the JSON body is Rasa
    REST's (``sender``, ``message``, ``metadata``) with an optional ``message_id``."""

    @classmethod
    def name(cls) -> str:
        return "cjg"

    def __init__(self, token: str) -> None:
        if not token or token.startswith("${"):
            raise ValueError("TokenRestInput needs a token: set RASA_TOKEN in the environment.")
        self.token = token

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TokenRestInput:
        return cls(token=str((credentials or {}).get("token") or ""))

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        supplied = header[len("Bearer ") :] if header.startswith("Bearer ") else ""
        return hmac.compare_digest(supplied.encode(), self.token.encode())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa REST's two routes (RestInput.blueprint), with the token check and the
        ``message_id``; always one JSON answer (the service never asks for ``?stream=true``)."""
        bp = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def receive(request: Request) -> HTTPResponse:
            sender = await self._extract_sender(request)
            text = self._extract_message(request)
            channel = self._extract_input_channel(request)
            metadata = self.get_metadata(request)
            message_id = request.json.get("message_id")
            if not isinstance(message_id, str) or not 0 < len(message_id) <= MESSAGE_ID_MAX:
                message_id = None  # Rasa makes one
            collector = CollectingOutputChannel()
            message = UserMessage(
                text,
                collector,
                sender,
                input_channel=channel,
                message_id=message_id,
                metadata=metadata,
            )
            agent: Agent | None = getattr(request.app.ctx, "agent", None)
            try:  # as RestInput: a failure in the turn still answers with what was said
                if message_id is None or agent is None or agent.processor is None:
                    await on_new_message(message)  # Rasa's own way (it ignores a missing model)
                else:
                    async with agent.lock_store.lock(message.sender_id):
                        await handle_once(agent.processor, message)
            except CancelledError:  # the caller gave up waiting: Rasa's own event, no text
                structlogger.error("rest.message.received.timeout")
            except Exception:
                log.exception("the message could not be handled")  # never its text
            return response.json(collector.messages)

        bp.add_route(health, "/", methods=["GET"])
        bp.add_route(receive, "/webhook", methods=["POST"])

        async def require_token(request: Request) -> HTTPResponse | None:
            if not self._authorised(request):
                return response.json({"error": "unauthorized"}, status=401)
            return None

        bp.middleware(require_token, "request")
        return bp


async def handle_once(processor: MessageProcessor, message: UserMessage) -> None:
    """Handles ``message`` unless the tracker holds a user turn with its ``message_id``: then
    that turn's bot messages are sent again, or, when it has none (stored, but the actions
    died), the turn's actions are undone and run again; the user's message is not added a
    second time. The caller holds Rasa's lock for the conversation (agent.lock_store), as
    Rasa's Agent.handle_message does, so two requests cannot both take the message as new."""
    tracker = await processor.get_tracker(message.sender_id)
    events = list(tracker.events)
    turn = turn_of(events, message.message_id)
    if turn is None:
        await processor.handle_message(message)
        return
    said, later = answer_of(events, turn)
    if said:
        for bot in said:  # the path Rasa sends them on, so the answer is the same as before
            await message.output_channel.send_response(message.sender_id, bot.message())
        return
    if later:  # the conversation went on since: too late to run that turn again
        return
    # Rasa's tracker store only appends (RedisTrackerStore merges with what it holds), so the
    # turn's actions are undone the way Rasa undoes one (``undo``), and the turn runs again.
    for event in events[turn + 1 :]:
        if isinstance(event, ActionExecuted):
            tracker.update(ActionReverted(), processor.domain)
    await processor._run_prediction_loop(message.output_channel, tracker)  # Rasa 3.6's own
    await processor.save_tracker(tracker)


def turn_of(events: list[Event], message_id: str) -> int | None:
    """The index of the (last) user turn with ``message_id``, or None."""
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if isinstance(event, UserUttered) and event.message_id == message_id:
            return index
    return None


def answer_of(events: list[Event], turn: int) -> tuple[list[BotUttered], bool]:
    """The bot messages that followed the user turn at ``turn``, and whether another user turn
    came after it."""
    said: list[BotUttered] = []
    for event in events[turn + 1 :]:
        if isinstance(event, UserUttered):
            return said, True
        if isinstance(event, BotUttered):
            said.append(event)
    return said, False
