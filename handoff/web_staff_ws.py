"""GET /staff/api/ws: the console's live line.

Server to console: every event on the Redis channel (queue, message, typing, claimed, released,
transferred, closed, presence, message_left), as JSON. Console to server: ``{"type": "ping"}``
(the heartbeat that keeps the staff member present) and ``{"type": "typing", "hid": ...}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from aiohttp import WSCloseCode, WSMsgType, web

from handoff import events, keys
from handoff.web_keys import HANDOFF, SOCKETS
from handoff.web_staff import authenticate

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


@routes.get("/staff/api/ws")
async def staff_socket(request: web.Request) -> web.StreamResponse:
    found = await authenticate(request)
    origin = request.headers.get("Origin")
    if found is None or found[0].role not in ("staff", "admin"):
        raise web.HTTPUnauthorized(
            text='{"error": "not_logged_in", "message": "Log eerst in."}',
            content_type="application/json",
        )
    if origin is not None and origin.split("://", 1)[-1] != request.host:
        raise web.HTTPForbidden(
            text='{"error": "bad_origin", "message": "Alleen vanaf de console zelf."}',
            content_type="application/json",
        )
    account, _ = found
    service = request.app[HANDOFF]
    ws = web.WebSocketResponse(heartbeat=20, max_msg_size=16 * 1024)
    await ws.prepare(request)
    request.app[SOCKETS].add(ws)
    await service.presence.heartbeat(account.username)
    await events.publish(service.redis, "presence", staff=account.username, status="online")

    pubsub = service.redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(keys.EVENTS)

    async def forward() -> None:
        while not ws.closed:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
            if message is not None and message.get("type") == "message" and not ws.closed:
                await ws.send_str(str(message["data"]))

    forwarder = asyncio.create_task(forward())
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                data = json.loads(msg.data)
            except json.JSONDecodeError:
                continue
            if not isinstance(data, dict):
                continue
            await service.presence.heartbeat(account.username)
            if data.get("type") == "typing" and isinstance(data.get("hid"), str):
                await service.staff_typing(data["hid"], account)
                await events.publish(service.redis, "typing", hid=data["hid"], who="staff")
    finally:
        forwarder.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await forwarder
        with contextlib.suppress(Exception):
            await pubsub.unsubscribe(keys.EVENTS)
            await pubsub.aclose()  # type: ignore[no-untyped-call]
        # Leaving is not instant: a page reload reconnects well within the presence timeout.
        with contextlib.suppress(Exception):
            await events.publish(service.redis, "presence", staff=account.username, status=None)
    return ws


async def close_sockets(app: web.Application) -> None:
    """on_shutdown: tell every console to reconnect (to another instance, or after restart)."""
    registry = app[SOCKETS]
    for ws in list(registry):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server restart")
