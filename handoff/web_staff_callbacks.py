"""The staff console's callback requests under /staff/api/callbacks (docs/API.md).

Listed for every staff member without the number; the number only for the staff member who
claimed the request, and every look is audited. Same sessions, CSRF check and presence as the
rest of the staff API (``handoff.web_staff``).
"""

from __future__ import annotations

from aiohttp import web

from base.web import api_text, json_error, read_json
from handoff.callbacks import Outcome
from handoff.staff_content import console_texts
from handoff.web_keys import AUDIT, CALLBACKS
from handoff.web_staff import staff_only
from staff.accounts import Account

routes = web.RouteTableDef()


@routes.get("/staff/api/callbacks")
@staff_only
async def callbacks(request: web.Request, account: Account) -> web.Response:
    desk = request.app[CALLBACKS]
    found = [c.public() for c in await desk.listed()]
    labels = {
        k.removeprefix("callback_"): v
        for k, v in console_texts().messages.items()
        if k.startswith("callback_")
    }
    return web.json_response({"enabled": desk.enabled, "callbacks": found, "labels": labels})


@routes.post("/staff/api/callbacks/{cbid}/claim")
@staff_only
async def claim(request: web.Request, account: Account) -> web.Response:
    cbid = request.match_info["cbid"]
    if not await request.app[CALLBACKS].claim(cbid, account.username):
        return json_error(409, "conflict", api_text("callback_taken"))
    await request.app[AUDIT].record(account.username, "callback_claimed", cbid)
    return web.json_response({"ok": True})


@routes.get("/staff/api/callbacks/{cbid}/number")
@staff_only
async def number(request: web.Request, account: Account) -> web.Response:
    cbid = request.match_info["cbid"]
    desk = request.app[CALLBACKS]
    found = await desk.get(cbid)
    if found is None:
        return json_error(404, "not_found", api_text("callback_gone"))
    if found.state != "claimed" or found.staff != account.username:
        return json_error(403, "forbidden", api_text("callback_number_forbidden"))
    shown = await desk.number(cbid, account.username)
    if shown is None:
        return json_error(410, "expired", api_text("callback_number_expired"))
    await request.app[AUDIT].record(account.username, "callback_number_viewed", cbid)
    return web.json_response({"number": shown})


@routes.post("/staff/api/callbacks/{cbid}/outcome")
@staff_only
async def register(request: web.Request, account: Account) -> web.Response:
    body = await read_json(request, ("outcome",))
    try:
        result = Outcome(body.get("outcome") or "")
    except ValueError:
        choices = ", ".join(o.value for o in Outcome)
        return json_error(400, "invalid_outcome", api_text("callback_outcome", choices=choices))
    cbid = request.match_info["cbid"]
    if not await request.app[CALLBACKS].register(cbid, account.username, result):
        return json_error(409, "conflict", api_text("callback_claim_first"))
    await request.app[AUDIT].record(account.username, f"callback_{result.value}", cbid)
    return web.json_response({"ok": True})
