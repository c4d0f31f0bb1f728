"""JSON errors for the API: a client always gets a reason it can act on, never an HTML page."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, error: str, message: str) -> web.Response:
    """``error`` is a stable code for programs; ``message`` is Dutch text a user may read."""
    return web.json_response({"error": error, "message": message}, status=status)


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
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.rel_url.path)
        return json_error(500, "internal_error", "Er ging iets mis aan onze kant.")
