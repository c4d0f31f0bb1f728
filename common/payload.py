"""What a user sends: a button's payload, or text that must be checked like any message.

A message that starts with ``/`` is a payload only when it is exactly one of the buttons' own
forms: ``/intent`` or ``/intent{json}`` with an intent from ``domain.yml`` and a JSON object of
known slot or entity names with scalar values, or one of the service's own buttons
(``/cjg_cancel``, ``/cjg_end``, ``/cjg_rating_1`` .. ``_5``, ``/cjg_enough_ja|beetje|nee``,
``/cjg_address_u|je``, ``/cjg_municipality_<key>``).
Everything else is text: it goes through the safety check and redaction, and Rasa gets it
without the leading slashes, so its payload parser never sees (nor logs) it.

Standard library and PyYAML only: the messaging service and the Rasa side both use it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from common.content import municipalities

DOMAIN = Path(__file__).resolve().parent.parent / "domain.yml"

# The service's own buttons (handoff/user_side.py handles them; Rasa never sees them).
CANCEL = "/cjg_cancel"
END = "/cjg_end"
RATING = "/cjg_rating_"
# "je" or "u" (common/address.py): the widget's control and Telegram's /u and /je.
ADDRESS_U = "/cjg_address_u"
ADDRESS_JE = "/cjg_address_je"
# "Heb je hier genoeg aan om zelf verder te kunnen?" (handoff/enough.py); the codes are counted.
ENOUGH = "/cjg_enough_"
ENOUGH_ANSWERS = ("ja", "beetje", "nee")
SERVICE_PAYLOADS = frozenset(
    {
        CANCEL,
        END,
        *(f"{RATING}{n}" for n in range(1, 6)),
        ADDRESS_U,
        ADDRESS_JE,
        *(ENOUGH + a for a in ENOUGH_ANSWERS),
    }
)
# The answer to "In welke gemeente woon je?" while waiting (handoff/municipality_question.py):
# ``/cjg_municipality_<key>`` for a municipality of content/municipalities.yml, or NOT_SAYING.
MUNICIPALITY = "/cjg_municipality_"
NOT_SAYING = f"{MUNICIPALITY}none"
# The callback questions' buttons (handoff/callbacks.py): /cjg_callback_yes, _chat, _<daypart>.
CALLBACK = "/cjg_callback_"
_CALLBACK_FORM = re.compile(r"/cjg_callback_[a-z]{1,20}")
# The assistant's own button for a callback ("Bel me liever terug"), anywhere a person is offered.
ASK_CALLBACK = '/ask_human{"contact": "callback"}'

_FORM = re.compile(r"/([A-Za-z_][A-Za-z0-9_]*)(\{.*\})?", re.DOTALL)
_LEADING = re.compile(r"^[/\s]+")


@dataclass(frozen=True)
class Domain:
    intents: frozenset[str]
    names: frozenset[str]  # slots and entities a payload may set


@lru_cache(maxsize=1)
def domain() -> Domain:
    """The intents, slots and entities of the assistant's ``domain.yml``."""
    data = yaml.safe_load(DOMAIN.read_text(encoding="utf-8")) or {}
    intents = {i if isinstance(i, str) else next(iter(i)) for i in data.get("intents") or []}
    entities = {e if isinstance(e, str) else next(iter(e)) for e in data.get("entities") or []}
    return Domain(frozenset(intents), frozenset(entities | set(data.get("slots") or {})))


def _scalar(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str | int | bool)


def is_intent_payload(text: str) -> bool:
    """``/intent`` or ``/intent{json}`` exactly, with a known intent and known names."""
    match = _FORM.fullmatch(text)
    if match is None or match.group(1) not in domain().intents:
        return False
    if match.group(2) is None:
        return True
    try:
        data = json.loads(match.group(2))
    except ValueError:
        return False
    names = domain().names
    return (
        isinstance(data, dict)
        and all(k in names and _scalar(v) for k, v in data.items())
        and bool(data)
    )


def is_service_payload(text: str) -> bool:
    return (
        text in SERVICE_PAYLOADS
        or _CALLBACK_FORM.fullmatch(text) is not None
        or is_municipality_payload(text)
    )


def is_municipality_payload(text: str) -> bool:
    """Only the real buttons: a made-up ``/cjg_municipality_...`` is text (checked for safety)."""
    if text == NOT_SAYING:
        return True
    key = text[len(MUNICIPALITY) :] if text.startswith(MUNICIPALITY) else ""
    return bool(key) and key in municipalities().municipalities


def is_payload(text: str) -> bool:
    """A button's payload (the assistant's or the service's); anything else is text."""
    return is_service_payload(text) or is_intent_payload(text)


def as_text(text: str) -> str:
    """What Rasa gets for a message that is text: without leading slashes, so it is never read
    as an intent (nor logged whole by Rasa's payload parser). May be empty ("/")."""
    return _LEADING.sub("", text) if text.startswith("/") else text
