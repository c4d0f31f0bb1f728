"""Cleaning and limits for what a user types, the same on every channel."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from bot.config import Settings
from common.safety import without_format
from delivery.reply import Reply

# C0/C1 control characters (not tab or newline) and lone surrogates: no meaning, only trouble.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_LINE_BREAKS = re.compile(r"\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
_SPACES = re.compile(r"[^\S\t\n]+")  # any other (odd) whitespace: one plain space


class InputRejected(ValueError):
    """The message cannot be passed on; ``code`` picks the Dutch text in service_messages.yml."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class RateLimited(InputRejected):
    """Too many messages in a short time; the user is asked to wait a moment."""

    def __init__(self) -> None:
        super().__init__("rate_limited")


class Unavailable(InputRejected):
    """The message got no answer and nothing of it was kept by the service, so the very same
    message may be sent again (the API's 503 with ``Retry-After``; the widget retries by itself).
    ``shown``: what the user must read even so, the crisis card first of all."""

    def __init__(self, code: str, shown: Sequence[Reply] = ()) -> None:
        super().__init__(code)
        self.shown = list(shown)

    def retry_after(self, settings: Settings) -> int:
        """Seconds until the same message may be sent again (the API's ``Retry-After``)."""
        return settings.retry_after_storage


class StorageUnavailable(Unavailable):
    """Redis refused to keep the message (out of memory, or away); try again in a while."""

    def __init__(self, shown: Sequence[Reply] = ()) -> None:
        super().__init__("storage_unavailable", shown)


class NotConfirmed(StorageUnavailable):
    """The replies are written (with a widget message's "handled" mark) but the replicas did not
    confirm them (delivery/durability.py): not acknowledged, and a retry finds the message
    kept."""


class AssistantUnavailable(Unavailable):
    """Rasa (or its action server) did not answer: down, too slow or an error."""

    def __init__(self) -> None:
        super().__init__("assistant_unavailable")

    def retry_after(self, settings: Settings) -> int:
        return settings.retry_after_assistant


def normalise_text(text: str) -> str:
    """One form for what a user types, before the safety check and before Rasa (so the model
    sees the same text): Unicode NFKC (fullwidth and other compatibility letters become plain
    ones), no invisible format characters (zero-width spaces, soft hyphens ...), no control
    characters, line breaks as newlines and every other odd whitespace as one plain space."""
    text = _LINE_BREAKS.sub("\n", text)
    text = unicodedata.normalize("NFKC", without_format(_CONTROL.sub("", text)))
    return _SPACES.sub(" ", text).strip()


def clean_text(text: str, max_chars: int) -> str:
    """Normalises a message; raises InputRejected for empty or over-long ones."""
    text = normalise_text(text)
    if not text:
        raise InputRejected("empty_message")
    if len(text) > max_chars:
        raise InputRejected("message_too_long")
    return text
