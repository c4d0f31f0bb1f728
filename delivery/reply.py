"""One reply type for every way a reply reaches a user: from Rasa, from the service, from staff.

A reply names no recipient: it is written for one conversation (its outbox, or the answer to
the user's own request), and each channel renders it in its own format. Rasa's REST shape
(``text``, ``buttons``, ``image``, ``custom``) is the common ground, so Rasa's web clients read
it unchanged.
"""

from __future__ import annotations

from typing import Any, TypedDict


class Button(TypedDict):
    title: str
    payload: str


class Reply(TypedDict, total=False):
    text: str
    buttons: list[Button]
    image: str
    custom: dict[str, Any]


def from_rasa(raw: Any) -> Reply | None:
    """Keeps only the fields channels know how to show (Rasa's ``recipient_id`` is dropped);
    drops anything malformed."""
    if not isinstance(raw, dict):
        return None
    reply: Reply = {}
    if isinstance(raw.get("text"), str):
        reply["text"] = raw["text"]
    buttons = [
        Button(title=b["title"], payload=b["payload"])
        for b in raw.get("buttons") or []
        if isinstance(b, dict)
        and isinstance(b.get("title"), str)
        and isinstance(b.get("payload"), str)
    ]
    if buttons:
        reply["buttons"] = buttons
    if isinstance(raw.get("image"), str):
        reply["image"] = raw["image"]
    if isinstance(raw.get("custom"), dict):
        reply["custom"] = raw["custom"]
    return reply or None


def service_reply(text: str, code: str) -> Reply:
    """A reply the service says itself; ``custom.service`` tells clients why."""
    return {"text": text, "custom": {"service": code}}
