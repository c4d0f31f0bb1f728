"""POST /api/chat: the plain JSON channel, a thin adapter around the conversation core."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Any

from aiohttp import web

from bot.app_keys import CORE, SETTINGS, TEXTS
from bot.client_address import client_address
from bot.conversation import Incoming
from bot.text_input import InputRejected, RateLimited, StorageUnavailable
from bot.web_errors import json_error, storage_unavailable
from handoff.web_keys import OUTBOX_WATCHER

SENDER = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")
STREAM_ID = re.compile(r"^[0-9]{1,20}(-[0-9]{1,20})?$")

routes = web.RouteTableDef()


# Error codes that have their own Dutch text; every other code uses "invalid_request".
_OWN_TEXT = {"empty_message", "message_too_long"}


def _bad_request(request: web.Request, code: str) -> web.Response:
    text_key = code if code in _OWN_TEXT else "invalid_request"
    return json_error(400, code, request.app[TEXTS].get(text_key))


@routes.post("/api/chat")
async def chat(request: web.Request) -> web.Response:
    try:
        body: Any = json.loads(await request.read())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _bad_request(request, "invalid_json")
    if not isinstance(body, dict):
        return _bad_request(request, "invalid_json")
    sender, message = body.get("sender"), body.get("message")
    if not isinstance(sender, str) or not SENDER.match(sender):
        return _bad_request(request, "invalid_sender")
    if not isinstance(message, str):
        return _bad_request(request, "missing_message")
    if len(message) > request.app[SETTINGS].max_message_chars * 2:
        return _bad_request(request, "message_too_long")  # don't even clean a huge text
    try:
        replies = await request.app[CORE].handle(
            Incoming(
                "api",
                sender,
                message,
                address=client_address(request, request.app[SETTINGS]),
            )
        )
    except RateLimited:
        return json_error(429, "rate_limited", request.app[TEXTS].get("rate_limited"))
    except StorageUnavailable as full:
        return storage_unavailable(request, full.retry_after)
    except InputRejected as rejected:
        return _bad_request(request, rejected.code)
    return web.json_response(replies)


def _sender(request: web.Request, value: object) -> str | None:
    return value if isinstance(value, str) and SENDER.match(value) else None


@routes.get("/api/chat/updates")
async def updates(request: web.Request) -> web.Response:
    """Messages that came outside a direct reply (staff, queue news), after ``after``.

    Long-polls up to ``wait`` seconds (max 25). The reply's ``next`` is the ``after`` of the
    next call, so a client that reconnects neither loses nor repeats a message.
    """
    sender = _sender(request, request.query.get("sender"))
    if sender is None:
        return _bad_request(request, "invalid_sender")
    after = request.query.get("after", "0")
    if not STREAM_ID.match(after):
        return _bad_request(request, "invalid_after")
    try:
        wait = min(max(float(request.query.get("wait", "0")), 0.0), 25.0)
    except ValueError:
        return _bad_request(request, "invalid_wait")
    core = request.app[CORE]
    cid = core.conversation_id("api", sender)
    outbox = core.handoff.outbox
    async with request.app[OUTBOX_WATCHER].news(cid) as news:
        found = await outbox.read(cid, after)
        if not found and wait:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(news), wait)
            found = await outbox.read(cid, after)
    messages = [{"id": i, "recipient_id": sender, **m} for i, m in found]
    return web.json_response(
        {
            "messages": messages,
            "next": found[-1][0] if found else after,
            "handoff": await core.handoff.status(cid),
        }
    )


@routes.post("/api/chat/typing")
async def typing(request: web.Request) -> web.Response:
    """The user is typing: staff see it in the console during a handoff."""
    try:
        body: Any = json.loads(await request.read())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _bad_request(request, "invalid_json")
    sender = _sender(request, body.get("sender") if isinstance(body, dict) else None)
    if sender is None:
        return _bad_request(request, "invalid_sender")
    core = request.app[CORE]
    await core.handoff.user_typing(core.conversation_id("api", sender))
    return web.json_response({"ok": True})
