"""Bot messages in Rasa's REST format, the lingua franca between Rasa, the core and channels."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class Button(TypedDict):
    title: str
    payload: str


class BotMessage(TypedDict):
    recipient_id: str
    text: NotRequired[str]
    buttons: NotRequired[list[Button]]
    image: NotRequired[str]
    custom: NotRequired[dict[str, Any]]


def from_rasa(raw: Any, recipient_id: str) -> BotMessage | None:
    """Keeps only the fields channels know how to show; drops anything malformed."""
    if not isinstance(raw, dict):
        return None
    message: BotMessage = {"recipient_id": recipient_id}
    if isinstance(raw.get("text"), str):
        message["text"] = raw["text"]
    buttons = [
        Button(title=b["title"], payload=b["payload"])
        for b in raw.get("buttons") or []
        if isinstance(b, dict)
        and isinstance(b.get("title"), str)
        and isinstance(b.get("payload"), str)
    ]
    if buttons:
        message["buttons"] = buttons
    if isinstance(raw.get("image"), str):
        message["image"] = raw["image"]
    if isinstance(raw.get("custom"), dict):
        message["custom"] = raw["custom"]
    return message if len(message) > 1 else None


def service_message(recipient_id: str, text: str, code: str) -> BotMessage:
    """A message the service says itself; ``custom.service`` tells clients why."""
    return {"recipient_id": recipient_id, "text": text, "custom": {"service": code}}
