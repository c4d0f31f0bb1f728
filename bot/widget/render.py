"""Outbox messages as ``bot_uttered`` payloads: Rasa's own shapes, or the widget's extended ones.

A client that did not opt in to the extensions (see ``bot/widget/channel.py``) gets exactly
what Rasa 3.6's socketio channel sends for the same message (``OutputChannel.send_response``
and ``SocketIOOutput``): the text split at blank lines into one ``{"text"}`` each; with buttons,
``{"text", "quick_replies"}`` with the buttons on the last part (earlier parts get an empty
list); an image as ``{"attachment"}``. Existing Rasa web clients such as rasa-webchat render a
message only when it has exactly those keys. ``custom`` (handoff news, service codes) has no
Rasa shape and is left out.

Link buttons (a payload that is a web address) go out as ``{"type": "web_url", "title",
"url"}``, the shape rasa-webchat shows as a link (Rasa itself would send the address as a
payload to be posted back as a message). A message whose buttons are all links carries them as
``buttons`` rather than ``quick_replies``: rasa-webchat keeps those on screen, while quick
replies disappear once the conversation moves on (an offer's link would be gone before it is
read).

The opted-in widget gets one payload per message, unsplit, with ``id`` and ``at`` to
acknowledge, deduplicate and time-stamp, and ``custom`` as it is.
"""

from __future__ import annotations

import re
from typing import Any

STREAM_ID = re.compile(r"^[0-9]{1,20}-[0-9]{1,20}$")
LINK_PREFIXES = ("https://", "http://")
# rasa-webchat renders text as Markdown and follows a link whatever its scheme. Only links that
# plainly start with http(s):// stay links; any other inline link, autolink or reference
# definition gets its opening escaped, so ``[x](javascript:...)`` (or an entity-encoded scheme)
# shows as text.
_INLINE_LINK = re.compile(r"\]\((?!\s*<?https?://)")
_AUTOLINK = re.compile(r"<(?!https?://)(?=[^<>\s]*:)")
_REFERENCE = re.compile(r"^( {0,3})\[(?=[^\]]*\]:(?!\s*<?https?://))", re.MULTILINE)


def inert_links(text: str) -> str:
    """Markdown text for clients that render it: only http(s) links remain links."""
    text = _INLINE_LINK.sub(r"]\\(", text)
    text = _AUTOLINK.sub(r"\\<", text)
    return _REFERENCE.sub(r"\1\\[", text)


def _quick_replies(buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"content_type": "text", "title": b["title"], "payload": b["payload"]} for b in buttons]


def _image(message: dict[str, Any]) -> dict[str, Any] | None:
    image = message.get("image")
    if isinstance(image, str) and image.startswith(LINK_PREFIXES):
        return {"type": "image", "payload": {"src": image}}
    return None


def bot_uttered(entry_id: str, message: dict[str, Any]) -> dict[str, Any]:
    """The widget's (extended) payload: one per outbox message."""
    payload: dict[str, Any] = {"id": entry_id, "at": message.get("at")}
    if isinstance(message.get("text"), str):
        payload["text"] = message["text"]
    buttons = message.get("buttons") or []
    if buttons:
        payload["quick_replies"] = _quick_replies(buttons)
    image = _image(message)
    if image is not None:
        payload["attachment"] = image
    if isinstance(message.get("custom"), dict):
        payload["custom"] = message["custom"]
    return payload


def _rasa_button(button: dict[str, Any]) -> dict[str, Any]:
    if button["payload"].startswith(LINK_PREFIXES):
        return {"type": "web_url", "title": button["title"], "url": button["payload"]}
    return {"content_type": "text", "title": button["title"], "payload": button["payload"]}


def _parts(text: str) -> list[str]:
    return [inert_links(part) for part in text.strip().split("\n\n")]


def rasa_uttered(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Rasa 3.6's payloads for one message, in the order its socketio channel emits them;
    none for a message with nothing a Rasa client can show (``custom`` only)."""
    text = message.get("text") if isinstance(message.get("text"), str) else None
    buttons = message.get("buttons") or []
    out: list[dict[str, Any]] = []
    if buttons:
        links_only = all(b["payload"].startswith(LINK_PREFIXES) for b in buttons)
        key = "buttons" if links_only else "quick_replies"
        out = [{"text": part, key: []} for part in _parts(text or "")]
        out[-1][key] = [_rasa_button(b) for b in buttons]
    elif text:
        out = [{"text": part} for part in _parts(text)]
    image = _image(message)
    if image is not None:
        out.append({"attachment": image})
    return out


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
