"""GET /health: is every part the service needs reachable? 503 names the part that is not;
"degraded" (200) means a Rasa replica is down and its conversations use the others."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import aiohttp
from aiohttp import web

from bot.app_keys import HTTP, RASA, REDIS, SETTINGS

CHECK_TIMEOUT = 3.0

routes = web.RouteTableDef()


async def _check(probe: Awaitable[object]) -> dict[str, object]:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT)
    except Exception as exc:
        return {"status": "down", "error": type(exc).__name__}
    return {"status": "ok"}


async def _action_server(app: web.Application) -> None:
    url = app[SETTINGS].action_server_url + "/health"
    async with app[HTTP].get(url, timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT)) as resp:
        resp.raise_for_status()


async def _rasa(app: web.Application) -> dict[str, object]:
    """Every Rasa replica by its name (``rasa-1``...: the order of CJG_RASA_URLS), never its
    URL. Rasa as a whole is ``ok`` when all answer, ``degraded`` while conversations fall over
    to the others, ``down`` when none answers. The results also refresh the replicas' health
    marks, so a replica that is back gets its conversations back at once."""
    rasa = app[RASA]
    replicas = dict(
        zip(
            rasa.replicas,
            await asyncio.gather(
                *(_check(rasa.status(CHECK_TIMEOUT, i)) for i in range(len(rasa.replicas)))
            ),
            strict=True,
        )
    )
    up = sum(result["status"] == "ok" for result in replicas.values())
    status = "ok" if up == len(replicas) else "degraded" if up else "down"
    return {"status": status, "replicas": replicas}


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    app = request.app
    names = ("redis", "rasa", "action_server")
    results: list[dict[str, object]] = list(
        await asyncio.gather(_check(app[REDIS].ping()), _rasa(app), _check(_action_server(app)))
    )
    components = dict(zip(names, results, strict=True))
    failing = [name for name, result in components.items() if result["status"] == "down"]
    degraded = any(result["status"] == "degraded" for result in components.values())
    status = "down" if failing else "degraded" if degraded else "ok"
    body = {"status": status, "failing": failing, "components": components}
    return web.json_response(body, status=503 if failing else 200)
