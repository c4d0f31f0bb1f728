"""The handoff request that Rasa's action puts in a ``custom`` payload, and the service reads.

One definition for both sides of the HTTP boundary, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from common.names import Reason

HANDOFF_KEY = "handoff_request"
PAYLOAD_VERSION = 1

REASONS: tuple[Reason, ...] = tuple(Reason)


@dataclass(frozen=True)
class HandoffRequest:
    """What staff need for a warm handover; never free text typed by the user."""

    reason: Reason
    urgent: bool = False
    context: dict[str, str] = field(default_factory=dict)  # theme, child_age, municipality ...
    recent_intents: list[str] = field(default_factory=list)
    version: int = PAYLOAD_VERSION

    def to_custom(self) -> dict[str, Any]:
        """The ``custom`` payload of the bot message that carries this request."""
        return {HANDOFF_KEY: {**asdict(self), "reason": str(self.reason)}}  # plain JSON

    @classmethod
    def from_custom(cls, custom: Any) -> HandoffRequest | None:
        """Reads a request from a bot message's ``custom`` payload; None if it holds none."""
        if not isinstance(custom, dict) or not isinstance(custom.get(HANDOFF_KEY), dict):
            return None
        raw = custom[HANDOFF_KEY]
        reason = raw.get("reason")
        if reason not in REASONS:
            return None
        reason = Reason(reason)
        context = raw.get("context") or {}
        intents = raw.get("recent_intents") or []
        return cls(
            reason=reason,
            urgent=bool(raw.get("urgent", False)),
            context={str(k): str(v) for k, v in context.items() if v is not None}
            if isinstance(context, dict)
            else {},
            recent_intents=[str(i) for i in intents][:10] if isinstance(intents, list) else [],
            version=int(raw.get("version", PAYLOAD_VERSION)),
        )
