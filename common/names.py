"""The names that travel between modules, Redis and the browser, each spelled once.

Each is a ``str`` enum, so a member equals its string: Redis values, JSON and content files keep
the plain names. Not ``StrEnum``, because the Rasa side (which imports ``common/``) runs Python
3.10; ``Name`` gives the same ``str()`` and f-string behaviour.
"""

from __future__ import annotations

from enum import Enum


class Name(str, Enum):
    """A ``str`` enum whose ``str()`` and f-string are its value, as ``StrEnum``'s are."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Channel(Name):
    """Where a user writes from; counted in the figures, shown to staff (content/channels.yml)."""

    WIDGET = "widget"
    TELEGRAM = "telegram"
    API = "api"


class StaffRole(Name):
    """What a staff account may do: the console (staff, admin) or the figures (insight, admin)."""

    STAFF = "staff"
    ADMIN = "admin"
    INSIGHT = "insight"


CONSOLE_ROLES = (StaffRole.STAFF, StaffRole.ADMIN)  # who may use the console
READER_ROLES = (StaffRole.INSIGHT, StaffRole.ADMIN)  # who may read the figures


class State(Name):
    """A conversation's state in its Redis hash (handoff/store.py moves it, one Lua script each)."""

    BOT = "bot"
    WAITING = "waiting"
    WITH_STAFF = "with_staff"
    LEAVING_MESSAGE = "leaving_message"
    CALLBACK = "callback"  # the callback questions, asked by the service (handoff/callbacks.py)


class Reason(Name):
    """Why the assistant hands a conversation to staff (common/handoff_payload.py)."""

    ASK_HUMAN = "ask_human"
    CALLBACK = "callback"
    FALLBACK = "fallback"
    NO_OFFER_MATCH = "no_offer_match"
    CONFLICT_DIVORCE = "conflict_divorce"
    SAFETY = "safety"
