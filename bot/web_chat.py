"""POST /api/chat: the plain JSON channel, a thin adapter around the conversation core.

The server issues each conversation its token: the first ``POST /api/chat`` without one starts a
new conversation and returns the token in the ``X-CJG-Conversation`` response header; every later
call presents it in the same request header. Only the token's hash is stored (bot/credentials.py);
a guessed, foreign or expired token gets 401 and nothing else. The messages keep Rasa's REST
shape (a list of ``{text, buttons, custom ...}``).

Plain Rasa REST clients (``{"sender", "message"}``) keep working with one change: their
``sender`` must be a token the server issued (from ``POST /api/chat/session``, or the header of a
first reply). The same handler answers at Rasa's own path, ``/webhooks/rest/webhook``. A sender
the server did not issue is refused like a bad header, so nobody can pick another's conversation.

A message that got no answer and of which nothing was kept (Rasa or Redis down) gets 503 with
``Retry-After``: the client sends the same message again later (bot/web_errors.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
from typing import Any, cast

from aiohttp import web
from redis.exceptions import RedisError

from base.web import json_error
from bot import safety
from bot.app_keys import API_TOKENS, CORE, DELIVERY, SETTINGS, TEXTS
from bot.client_address import client_address
from bot.conversation import MESSAGE_ID, Incoming
from bot.origins import allowed_origin
from bot.text_input import InputRejected, RateLimited, Unavailable, normalise_text
from bot.web_errors import storage_unavailable, unavailable
from common.names import Channel
from delivery.marker import HeldMarker, Reader
from delivery.reply import Reply
from handoff.web_keys import OUTBOX_WATCHER

CHANNEL = Channel.API
TOKEN_HEADER = "X-CJG-Conversation"  # the conversation token, both ways
RASA_REST_PATH = "/webhooks/rest/webhook"  # Rasa's REST channel: a drop-in URL for its clients
# A Redis stream id: "ms" or "ms-seq", each part a 64-bit unsigned number.
STREAM_ID = re.compile(r"([0-9]{1,20})(?:-([0-9]{1,20}))?")
STREAM_PART_MAX = 2**64 - 1
WAIT = re.compile(r"[0-9]{1,2}(?:\.[0-9]{1,3})?")  # seconds, plain decimal: no nan, inf, 1e9
MAX_WAIT = 25.0

routes = web.RouteTableDef()


# Error codes that have their own Dutch text; every other code uses "invalid_request".
_OWN_TEXT = {"empty_message", "message_too_long"}


def _bad_request(request: web.Request, code: str) -> web.Response:
    text_key = code if code in _OWN_TEXT else "invalid_request"
    return json_error(400, code, request.app[TEXTS].get(text_key))


def _unknown(request: web.Request, code: str = "unknown_conversation") -> web.Response:
    return json_error(401, code, request.app[TEXTS].get("unknown_conversation"))


def _refused(request: web.Request, body: bool) -> web.Response | None:
    """Another web page must not make its visitors talk to the chat: an ``Origin`` that is not
    ours gets 403, and a body must be declared JSON (a plain HTML form or a ``no-cors`` fetch
    cannot send ``application/json`` to another site)."""
    origin = request.headers.get("Origin")
    if origin is not None and not allowed_origin(request.app[SETTINGS], origin, request.host):
        return json_error(403, "bad_origin", request.app[TEXTS].get("bad_origin"))
    if body and request.content_type != "application/json":
        return json_error(
            415, "unsupported_media_type", request.app[TEXTS].get("unsupported_media_type")
        )
    return None


async def _presented(request: web.Request) -> tuple[str | None, web.Response | None]:
    """The token of the request's header and the refusal if it is not a valid one."""
    token = request.headers.get(TOKEN_HEADER)
    if token is None:
        return None, _unknown(request, "missing_conversation")
    return await _valid(request, token)


async def _valid(request: web.Request, token: object) -> tuple[str | None, web.Response | None]:
    """``token`` (from the header, or a Rasa client's ``sender``) if the server issued it."""
    if not isinstance(token, str):
        return None, _unknown(request)
    cid = request.app[CORE].conversation_id(CHANNEL, token)
    try:
        valid = await request.app[API_TOKENS].check(token, cid)
    except RedisError:
        return None, storage_unavailable(request)
    return (token, None) if valid else (None, _unknown(request))


async def _admitted(request: web.Request) -> tuple[str | None, web.Response | None]:
    """For the routes without a message: the origin check, then the token."""
    refused = _refused(request, body=False)
    if refused is not None:
        return None, refused
    return await _presented(request)


async def _with_crisis_card(request: web.Request, refusal: web.Response) -> web.Response:
    """A refused token opens nothing, but a cry for help in its message still gets the crisis
    contacts (a child's safety comes first): the 401 carries the card, and no handoff starts.
    So does a 503 when Redis could not even check the token."""
    body = await _json_object(request) if request.content_type == "application/json" else None
    message = body.get("message") if body else None
    if refusal.status not in (401, 503) or not isinstance(message, str):
        return refusal
    limit = request.app[SETTINGS].max_message_chars
    signal = safety.check(normalise_text(message[: limit * 2]))
    if signal is None:
        return refusal
    error = json.loads(cast(bytes, refusal.body))
    card = web.json_response({**error, "crisis": safety.card(signal)}, status=refusal.status)
    if "Retry-After" in refusal.headers:
        card.headers["Retry-After"] = refusal.headers["Retry-After"]
    return card


async def _json_object(request: web.Request) -> dict[str, Any] | None:
    try:
        body: Any = json.loads(await request.read())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _shown(replies: list[Reply], token: str, echo: bool) -> list[dict[str, Any]]:
    """The replies as sent. Only a Rasa REST client that sent the token as its ``sender`` gets
    it back as each reply's ``recipient_id`` (``echo``), as Rasa's REST channel does."""
    if echo:
        return [{"recipient_id": token, **r} for r in replies]
    return [dict(r) for r in replies]


@routes.post("/api/chat")
@routes.post(RASA_REST_PATH)
async def chat(request: web.Request) -> web.Response:
    refused = _refused(request, body=True)
    if refused is not None:
        return refused
    body = await _json_object(request)
    # The header names the conversation; without it, a Rasa REST client's "sender" does. Either
    # must be a token the server issued. A "sender" next to the header is ignored.
    sender = body.get("sender") if body is not None else None
    by_sender = TOKEN_HEADER not in request.headers and sender is not None
    new = TOKEN_HEADER not in request.headers and not by_sender
    if new:
        token = request.app[API_TOKENS].new()
    else:
        found, refused = (await _valid(request, sender)) if by_sender else await _presented(request)
        if refused is not None or found is None:
            return await _with_crisis_card(request, refused or _unknown(request))
        token = found
    if body is None:
        return _bad_request(request, "invalid_json")
    message = body.get("message")
    if not isinstance(message, str):
        return _bad_request(request, "missing_message")
    if len(message) > request.app[SETTINGS].max_message_chars * 2:
        return _bad_request(request, "message_too_long")  # don't even clean a huge text
    # The client's own id for the message (optional): sent again with a retry, Rasa keeps the
    # message once and answers it as before (docs/API.md).
    mid = body.get("message_id")
    if mid is not None and not (isinstance(mid, str) and MESSAGE_ID.fullmatch(mid)):
        return _bad_request(request, "invalid_message_id")
    core = request.app[CORE]
    issued = not new
    if new:
        # Redis may refuse: the core then still shows a crisis card, and refuses the rest.
        with contextlib.suppress(RedisError):
            await request.app[API_TOKENS].issue(token, core.conversation_id(CHANNEL, token))
            issued = True
    try:
        address = client_address(request, request.app[SETTINGS])
        said = Incoming(CHANNEL, token, message, address, f"api-{mid}" if mid else None)
        replies = await core.handle(said)
    except InputRejected as refusal:
        if new and issued:  # no conversation was started: the client tries again without one
            with contextlib.suppress(RedisError):
                await request.app[API_TOKENS].revoke(token)
        if isinstance(refusal, Unavailable):  # nothing kept: the same message, later
            return unavailable(request, refusal)
        if isinstance(refusal, RateLimited):
            return json_error(429, "rate_limited", request.app[TEXTS].get("rate_limited"))
        return _bad_request(request, refusal.code)
    headers = {TOKEN_HEADER: token} if new and issued else None  # unkept: no token to give
    return web.json_response(_shown(replies, token, echo=by_sender), headers=headers)


@routes.post("/api/chat/session")
async def session(request: web.Request) -> web.Response:
    """A new conversation without a first message, for clients that speak plain Rasa REST:
    they send the token as their ``sender`` from then on. It counts as one message against the
    rate limits, so a script cannot fill Redis with conversations."""
    refused = _refused(request, body=False)
    if refused is not None:
        return refused
    tokens, core = request.app[API_TOKENS], request.app[CORE]
    token = tokens.new()
    cid = core.conversation_id(CHANNEL, token)
    address = client_address(request, request.app[SETTINGS])
    if not await core.may_start(cid, address):  # a RedisError: 503 (web_errors)
        return json_error(429, "rate_limited", request.app[TEXTS].get("rate_limited"))
    await tokens.issue(token, cid)
    return web.json_response({"sender": token}, status=201, headers={TOKEN_HEADER: token})


def _after(value: str) -> str | None:
    match = STREAM_ID.fullmatch(value)
    if match is None or any(int(p) > STREAM_PART_MAX for p in match.groups() if p is not None):
        return None
    return value


def _wait(value: str) -> float | None:
    if not WAIT.fullmatch(value):
        return None
    seconds = float(value)
    return seconds if math.isfinite(seconds) and 0 <= seconds <= MAX_WAIT else None


@routes.get("/api/chat/updates")
async def updates(request: web.Request) -> web.Response:
    """Messages that came outside a direct reply (staff, queue news), after ``after``.

    Long-polls up to ``wait`` seconds (max 25). The reply's ``next`` is the ``after`` of the
    next call, so a client that reconnects neither loses nor repeats a message.
    """
    token, refused = await _admitted(request)
    if refused is not None or token is None:
        return refused or _unknown(request)
    after = _after(request.query.get("after", "0"))
    if after is None:
        return _bad_request(request, "invalid_after")
    wait = _wait(request.query.get("wait", "0"))
    if wait is None:
        return _bad_request(request, "invalid_wait")
    core = request.app[CORE]
    cid = core.conversation_id(CHANNEL, token)
    marker = HeldMarker(after)  # the client holds it: it sends back the ``next`` it got
    reader = Reader(request.app[DELIVERY].outbox, cid, marker)
    async with request.app[OUTBOX_WATCHER].news(cid) as news:
        found = await reader.unread()
        if not found and wait:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(news), wait)
            # Both at once, so the woken poll waits for one Redis round trip, not two.
            found, status = await asyncio.gather(reader.unread(), core.handoff.status(cid))
        else:
            status = await core.handoff.status(cid)
    if found:
        await reader.delivered(found[-1].id)
    messages = [{"id": i, **m} for i, m in found]
    return web.json_response({"messages": messages, "next": marker.after, "handoff": status})


@routes.post("/api/chat/typing")
async def typing(request: web.Request) -> web.Response:
    """The user is typing: staff see it in the console during a handoff. No body needed."""
    token, refused = await _admitted(request)
    if refused is not None or token is None:
        return refused or _unknown(request)
    core = request.app[CORE]
    await core.handoff.user_typing(core.conversation_id(CHANNEL, token))
    return web.json_response({"ok": True})
