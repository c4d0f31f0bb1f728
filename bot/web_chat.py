"""POST /api/chat: the plain JSON channel, a thin adapter around the conversation core."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from bot.app_keys import CORE, SETTINGS, TEXTS
from bot.conversation import Incoming
from bot.text_input import InputRejected
from bot.web_errors import json_error

SENDER = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")

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
        replies = await request.app[CORE].handle(Incoming("api", sender, message))
    except InputRejected as rejected:
        return _bad_request(request, rejected.code)
    return web.json_response(replies)
