"""A user message as a channel hands it in (``Incoming``), and on its way through the core's
steps (``Utterance``): who sent it, under which pseudonym, and what the core reads in it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from common.content import ServiceMessages
from delivery.reply import Reply, service_reply
from handoff.service import Message

# The form of a message's own id as a client gives it (the widget's ``cjg_mid``, the chat API's
# ``message_id``): what a retry repeats so that Rasa keeps the message once.
MESSAGE_ID = re.compile(r"[0-9A-Za-z-]{8,64}")


@dataclass(frozen=True)
class Incoming:
    channel: str  # a Channel (common/names.py)
    user_id: str  # the id as the channel knows it; never stored or logged
    text: str
    address: str | None = None  # the client's network address, only to count (rate limits)
    # The message's own id, the same when the client sends it again (the widget's cjg_mid,
    # the chat API's message_id, Telegram's update id): Rasa keeps a message it has seen once
    # and answers it as before.
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

    def to_user(self, own: Iterable[Message]) -> list[Reply]:
        """The service's own messages (built in handoff/) as replies: Rasa's shape, no
        recipient (delivery/reply.py)."""
        return [cast(Reply, m) for m in own]

    def unavailable(self, texts: ServiceMessages, key: str) -> Reply:
        """A message the service says itself when it has no answer (``key`` in content/)."""
        return service_reply(texts.get(key), key)
