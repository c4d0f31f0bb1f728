"""Every successful write request is answered only once the replicas have its writes.

``ConversationCore.handle`` (through delivery/write.py, every channel) and
``HandoffService.send`` confirm their own writes; this middleware covers the rest of the HTTP
writes (claims, notes, closing a chat, accounts) with the same
:class:`delivery.durability.Durability`, a no-op without replicas.
"""

from __future__ import annotations

from aiohttp import web

from bot.app_keys import DELIVERY
from bot.web_errors import Handler

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SKIPPED_PATHS = ("/socket.io",)  # engine.io's own traffic; the widget's acks are Socket.IO's


@web.middleware
async def replicated_writes(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A request that may have written (POST, PUT, PATCH, DELETE) and succeeded is answered
    only after the replicas have its writes (``CJG_REDIS_WAIT_REPLICAS``); when they do not
    confirm, ``NotReplicated`` reaches the JSON error handler: 503 storage_unavailable."""
    response = await handler(request)
    if (
        request.method in WRITES
        and response.status < 400
        and not request.path.startswith(SKIPPED_PATHS)
    ):
        await request.app[DELIVERY].confirm()
    return response
