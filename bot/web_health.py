"""GET /health: is every part the service needs reachable? 503 names the part that is not."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import aiohttp
from aiohttp import web

from bot.app_keys import HTTP, RASA, REDIS, SETTINGS

CHECK_TIMEOUT = 3.0

routes = web.RouteTableDef()


async def _check(probe: Awaitable[object]) -> dict[str, str]:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT)
    except Exception as exc:
        return {"status": "down", "error": type(exc).__name__}
    return {"status": "ok"}


async def _action_server(app: web.Application) -> None:
    url = app[SETTINGS].action_server_url + "/health"
    async with app[HTTP].get(url, timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT)) as resp:
        resp.raise_for_status()


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    app = request.app
    names = ("redis", "rasa", "action_server")
    results = await asyncio.gather(
        _check(app[REDIS].ping()),
        _check(app[RASA].status(CHECK_TIMEOUT)),
        _check(_action_server(app)),
    )
    components = dict(zip(names, results, strict=True))
    failing = [name for name, result in components.items() if result["status"] != "ok"]
    body = {"status": "down" if failing else "ok", "failing": failing, "components": components}
    return web.json_response(body, status=503 if failing else 200)
