"""A user message as a channel hands it in (``Incoming``), and on its way through the core's
steps (``Utterance``): who sent it, under which pseudonym, and what the core reads in it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from bot.messages import BotMessage, service_message
from common.content import ServiceMessages
from handoff.service import Message


@dataclass(frozen=True)
class Incoming:
    channel: str  # a Channel (common/names.py)
    user_id: str  # the id as the channel knows it; never stored or logged
    text: str
    address: str | None = None  # the client's network address, only to count (rate limits)
    # The message's own id, the same when the client sends it again (the widget's cjg_mid):
    # Rasa keeps a message it has seen once and answers it as before.
    message_id: str | None = None


@dataclass(frozen=True)
class Utterance:
    """One message in a turn: the steps pass this instead of five loose arguments."""

    cid: str  # the conversation's pseudonym (bot/pseudonym.py)
    incoming: Incoming
    text: str  # cleaned (bot/text_input.py)
    payload: bool  # a button's own payload (``/...``): never checked or kept as text

    @property
    def channel(self) -> str:
        return self.incoming.channel

    def to_user(self, own: Iterable[Message]) -> list[BotMessage]:
        """The service's own messages, in the same shape as Rasa's replies."""
        return [_addressed(m, self.incoming.user_id) for m in own]

    def unavailable(self, texts: ServiceMessages, key: str) -> BotMessage:
        """A message the service says itself when it has no answer (``key`` in content/)."""
        return service_message(self.incoming.user_id, texts.get(key), key)


def _addressed(message: Message, user_id: str) -> BotMessage:
    """A service message for this user, in the same shape as Rasa's replies."""
    return cast(BotMessage, {"recipient_id": user_id, **message})
