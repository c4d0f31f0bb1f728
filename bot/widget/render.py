"""Outbox messages as Rasa socketio ``bot_uttered`` payloads, plus the widget's own fields.

Rasa's socketio channel sends ``{"text", "quick_replies": [{"content_type", "title",
"payload"}]}``; existing Rasa web clients read exactly that. The extra ``id`` and ``at`` let the
widget acknowledge, deduplicate and time-stamp; other clients ignore them.
"""

from __future__ import annotations

import re
from typing import Any

STREAM_ID = re.compile(r"^[0-9]{1,20}-[0-9]{1,20}$")
LINK_PREFIXES = ("https://", "http://")


def bot_uttered(entry_id: str, message: dict[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = {"id": entry_id, "at": message.get("at")}
    if isinstance(message.get("text"), str):
        payload["text"] = message["text"]
    buttons = message.get("buttons") or []
    if buttons:
        payload["quick_replies"] = [
            {"content_type": "text", "title": b["title"], "payload": b["payload"]} for b in buttons
        ]
    image = message.get("image")
    if isinstance(image, str) and image.startswith(LINK_PREFIXES):
        payload["attachment"] = {"type": "image", "payload": {"src": image}}
    if isinstance(message.get("custom"), dict):
        payload["custom"] = message["custom"]
    return payload


def handoff_event(message: dict[str, Any]) -> str | None:
    """The handoff event a message announces (queue, staff_joined, closed ...), if any."""
    custom = message.get("custom")
    handoff = custom.get("handoff") if isinstance(custom, dict) else None
    event = handoff.get("event") if isinstance(handoff, dict) else None
    return event if isinstance(event, str) else None


def stream_id(value: object) -> str | None:
    """A Redis stream id from a client, or None; a bare "0" means "from the start"."""
    if value == "0":
        return "0-0"
    return value if isinstance(value, str) and STREAM_ID.match(value) else None
