"""What every role of the handoff service shares: its collaborators, its Dutch texts, and how a
handoff ends (registered for the figures, transcript redacted).

The roles (handoff/user_side.py, staff_side.py, queue_news.py, upkeep.py) each get these parts;
handoff/service.py builds them once. Nothing outside the service sees them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from base.registrar import Fact, Registrar
from common.content import ServiceMessages, service_messages
from common.payload import CANCEL
from handoff.durability import Durability
from handoff.hours import OpeningHours
from handoff.presence import Presence
from handoff.routing import Router
from handoff.store import HandoffStore, now_ms
from handoff.transcript import Outbox, Transcript

log = logging.getLogger(__name__)

Message = dict[str, Any]  # a bot message without recipient: text, buttons, custom


@dataclass(frozen=True)
class Timing:
    silent_seconds: float  # a claimed chat without staff activity this long goes back
    retention_seconds: int
    # What one conversation may add to its transcript while it waits for staff.
    waiting_max_messages: int = 50
    waiting_max_bytes: int = 20000
    # How long a routed chat is offered only to the matching colleagues (handoff/routing.py).
    routing_wait_seconds: float = 180.0


@dataclass(frozen=True)
class Parts:
    redis: Redis
    texts: ServiceMessages
    hours: Callable[[], OpeningHours]
    timing: Timing
    store: HandoffStore
    transcript: Transcript
    outbox: Outbox
    registrar: Registrar
    presence: Presence
    router: Router
    durability: Durability

    def say(self, key: str, **values: Any) -> str:
        return self.texts.get(key).format(**values)

    async def register_end(self, cid: str, hid: str, registration: dict[str, str]) -> None:
        """Handling time and the staff member's registration, for the figures."""
        handoff = await self.store.get(hid)
        facts: list[Fact] = []
        if handoff is not None and handoff.claimed_at is not None:
            facts.append(Fact("handle_seconds", str((now_ms() - handoff.claimed_at) // 1000)))
        names = {
            "topic": "staff_theme",
            "outcome": "staff_outcome",
            "referred_to": "referral",
            "asker": "user_type",  # staff know better than the bot's guess
        }
        facts += [Fact(names[k], v) for k, v in registration.items() if k in names and v]
        if facts:
            await self.registrar.note(cid, handoff.channel if handoff else "", facts)

    async def archive(self, hid: str) -> None:
        """The handoff is over: what is kept from now on is redacted. When the user's own
        words held personal data, the conversation no longer counts as anonymous."""
        try:
            changed = await self.transcript.redact(hid)
            cid = await self.store.cid_of(hid)
            if changed.get("user") and cid:
                await self.registrar.note_if_open(cid, [Fact("personal", "1")])
        except Exception as exc:  # never let redaction break the user's or staff's action
            log.error("transcript redaction failed (%s); it expires unredacted", type(exc).__name__)


def event(kind: str, **data: Any) -> dict[str, Any]:
    return {"handoff": {"event": kind, **data}}


def stop_waiting() -> dict[str, str]:
    """The button under every message while a user waits."""
    return {"title": service_messages().get("stop_waiting_button"), "payload": CANCEL}


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
