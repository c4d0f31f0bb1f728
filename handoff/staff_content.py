"""Staff-facing content files: canned replies and the console's live line texts (all editable).
The registration lists staff fill in are in ``common.registration``, beside the codes they
label."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.content import ContentError, content_dir, load_current
from common.names import Channel, Reason


@dataclass(frozen=True)
class CannedReply:
    title: str
    text: str


@dataclass(frozen=True)
class CannedReplies:
    version: int
    replies: list[CannedReply]


@dataclass(frozen=True)
class ConsoleTexts:
    """What the server itself tells the console over the websocket (content/staff_console.yml)."""

    version: int
    messages: dict[str, str]
    channels: dict[str, str] = field(default_factory=dict)  # channel code -> label in the console
    reasons: dict[str, str] = field(default_factory=dict)  # handoff reason -> label

    def get(self, key: str) -> str:
        return self.messages[key]


CONSOLE_TEXT_KEYS = frozenset({"logged_out", "feed_lost", "feed_back"})
REASON_LABEL_KEYS = (*Reason, "left_message")  # left_message: outside opening hours
MAX_CLOSE_REASON = 123  # bytes: the limit of a websocket close frame's reason


def _check_console_texts(loaded: Any, path: Path) -> None:
    assert isinstance(loaded, ConsoleTexts)
    missing = sorted(CONSOLE_TEXT_KEYS - set(loaded.messages))
    if missing:
        raise ContentError(f"{path}: messages.{missing[0]} is missing")
    if len(loaded.messages["logged_out"].encode()) > MAX_CLOSE_REASON:
        raise ContentError(f"{path}: messages.logged_out: at most {MAX_CLOSE_REASON} bytes")
    for channel in Channel:  # staff would see a bare code otherwise
        if not loaded.channels.get(channel, "").strip():
            raise ContentError(f"{path}: channels.{channel} is missing")
    for reason in REASON_LABEL_KEYS:
        if not loaded.reasons.get(reason, "").strip():
            raise ContentError(f"{path}: reasons.{reason} is missing")
    for code in loaded.channels:
        if code not in set(Channel):
            raise ContentError(f"{path}: channels: '{code}' is not one of {', '.join(Channel)}")


def canned_replies(directory: Path | None = None) -> CannedReplies:
    return load_current(CannedReplies, (directory or content_dir()) / "canned_replies.yml")


def console_texts(directory: Path | None = None) -> ConsoleTexts:
    path = (directory or content_dir()) / "staff_console.yml"
    return load_current(ConsoleTexts, path, _check_console_texts)
