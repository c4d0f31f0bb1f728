"""JSON errors for the API: a client always gets a reason it can act on, never an HTML page."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from base.web import api_text, error_body, json_error
from bot.app_keys import SETTINGS, TEXTS
from bot.text_input import StorageUnavailable, Unavailable

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def unavailable(request: web.Request, refusal: Unavailable) -> web.Response:
    """503 with ``Retry-After`` and the Dutch text: the message got no answer and nothing of it
    was kept, so the client sends the same message again later. A crisis card the user must
    read even so rides along in ``crisis`` (as in the 401 of an unknown conversation)."""
    body: dict[str, Any] = {**error_body(refusal.code, request.app[TEXTS].get(refusal.code))}
    card = next((m for m in refusal.shown if "crisis" in (m.get("custom") or {})), None)
    if card is not None:
        body["crisis"] = dict(card)
    response = web.json_response(body, status=503)
    response.headers["Retry-After"] = str(refusal.retry_after(request.app[SETTINGS]))
    return response


def storage_unavailable(request: web.Request) -> web.Response:
    """Redis refused a write (out of memory under ``noeviction``) or is away: 503, a Dutch
    text from service_messages.yml and when to try again, instead of a 500."""
    return unavailable(request, StorageUnavailable())


_CODES = {  # status -> the error code and its text in content/api_messages.yml
    404: ("not_found", "page_not_found"),
    405: ("method_not_allowed", "method_not_allowed"),
    413: ("body_too_large", "body_too_large"),
}


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        if exc.status in _CODES:
            error, key = _CODES[exc.status]
            return json_error(exc.status, error, api_text(key))
        return json_error(exc.status, "http_error", exc.reason)
    except RedisError as exc:  # full (maxmemory, noeviction) or away: polite, and try later
        log.error(
            "redis refused on %s %s (%s)", request.method, request.rel_url.path, type(exc).__name__
        )
        return storage_unavailable(request)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.rel_url.path)
        return json_error(500, "internal_error", api_text("internal_error"))
