"""Staff-facing content files: canned replies, the registration lists and the console's live
line texts (all editable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.content import ContentError, check_topic_groups, content_dir, load_current
from common.names import Channel, Reason
from common.registration import USER_TYPES


@dataclass(frozen=True)
class CannedReply:
    title: str
    text: str


@dataclass(frozen=True)
class CannedReplies:
    version: int
    replies: list[CannedReply]


@dataclass(frozen=True)
class Outcome:
    label: str
    needs_referral: bool = False


@dataclass(frozen=True)
class RegistrationOptions:
    """What staff register when they close a chat (the Vink-app's "aantal en soort vragen")."""

    version: int
    topics: dict[str, str]  # key -> Dutch label
    outcomes: dict[str, Outcome]
    referrals: dict[str, str]
    bot_topics: dict[str, list[str]] = field(default_factory=dict)  # theme -> chatbot topics
    # Who asked, as staff saw it (optional in the close form): overrides the bot's own guess.
    askers: dict[str, str] = field(default_factory=dict)  # user type -> Dutch label

    def theme_of(self, topic: str) -> str:
        """The theme a chatbot topic counts under in the figures."""
        for theme, members in self.bot_topics.items():
            if topic in members:
                return theme
        return "anders"


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


def _check_registration(loaded: Any, path: Path) -> None:
    assert isinstance(loaded, RegistrationOptions)
    for name in ("topics", "outcomes", "referrals"):
        if not getattr(loaded, name):
            raise ContentError(f"{path}: {name}: give at least one")
    for asker in loaded.askers:
        if asker not in USER_TYPES or asker == "unknown":
            raise ContentError(
                f"{path}: askers: '{asker}' is not one of {', '.join(USER_TYPES[:-1])}"
            )
    for theme in loaded.bot_topics:
        if theme not in loaded.topics:
            raise ContentError(f"{path}: bot_topics: '{theme}' is not one of the topics above")
    check_topic_groups(path, "bot_topics", loaded.bot_topics)


def canned_replies(directory: Path | None = None) -> CannedReplies:
    return load_current(CannedReplies, (directory or content_dir()) / "canned_replies.yml")


def registration_options(directory: Path | None = None) -> RegistrationOptions:
    path = (directory or content_dir()) / "registration.yml"
    return load_current(RegistrationOptions, path, _check_registration)


def console_texts(directory: Path | None = None) -> ConsoleTexts:
    path = (directory or content_dir()) / "staff_console.yml"
    return load_current(ConsoleTexts, path, _check_console_texts)
