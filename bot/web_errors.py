"""JSON errors for the API: a client always gets a reason it can act on, never an HTML page."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from redis.exceptions import RedisError

from bot.app_keys import TEXTS

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, error: str, message: str) -> web.Response:
    """``error`` is a stable code for programs; ``message`` is Dutch text a user may read."""
    return web.json_response({"error": error, "message": message}, status=status)


RETRY_AFTER_SECONDS = 60


def storage_unavailable(
    request: web.Request, retry_after: int = RETRY_AFTER_SECONDS
) -> web.Response:
    """Redis refused a write (out of memory under ``noeviction``) or is away: 503, a Dutch
    text from service_messages.yml and when to try again, instead of a 500."""
    response = json_error(503, "storage_unavailable", request.app[TEXTS].get("storage_unavailable"))
    response.headers["Retry-After"] = str(retry_after)
    return response


_CODES = {
    404: ("not_found", "Deze pagina bestaat niet."),
    405: ("method_not_allowed", "Deze methode is hier niet toegestaan."),
    413: ("body_too_large", "Je bericht is te groot."),
}


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        error, message = _CODES.get(exc.status, ("http_error", exc.reason))
        return json_error(exc.status, error, message)
    except RedisError as exc:  # full (maxmemory, noeviction) or away: polite, and try later
        log.error(
            "redis refused on %s %s (%s)", request.method, request.rel_url.path, type(exc).__name__
        )
        return storage_unavailable(request)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.rel_url.path)
        return json_error(500, "internal_error", "Er ging iets mis aan onze kant.")
