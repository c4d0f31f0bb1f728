"""The staff console's JSON API under /staff/api (documented in docs/API.md).

Every change needs a session cookie and the session's CSRF token in ``X-CSRF-Token``.
Live news comes over the websocket in ``handoff.web_staff_ws``.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from base.web import STAFF_FILES, api_text, json_error, read_json, static_response
from common.names import CONSOLE_ROLES, StaffRole
from common.registration import registration_options
from handoff.access import may_read
from handoff.staff_content import canned_replies, console_texts
from handoff.web_keys import AUDIT, CALLBACKS, HANDOFF, STAFF_WEB
from staff.accounts import Account, HashingBusy
from staff.auth import authenticate, for_roles, same_origin
from staff.sessions import COOKIE, Session
from staff.web_keys import ACCOUNTS, LOGIN_GUARD, SESSIONS

MAX_TEXT = 4000
# The console's own id for a reply (a random UUID): the same reply sent again is kept once.
REPLY_ID = re.compile(r"[A-Za-z0-9-]{8,64}")

routes = web.RouteTableDef()


async def _sign_of_life(request: web.Request, account: Account) -> None:
    await request.app[HANDOFF].sign_of_life(account.username)


# The console: staff and admins; every call is a sign of life.
staff_only = for_roles(CONSOLE_ROLES, api_text("console_forbidden"), _sign_of_life)


def _text(body: dict[str, Any], field: str = "text") -> str | None:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        return None
    return value.strip()


# --- pages -------------------------------------------------------------------------------


@routes.get("/staff")
async def console_page(request: web.Request) -> web.StreamResponse:
    return static_response("index.html", "text/html")


@routes.get("/staff/static/{name}")
async def static_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    path = STAFF_FILES / name
    if "/" in name or path.suffix not in types or not path.is_file():
        raise web.HTTPNotFound()
    return static_response(name, types[path.suffix])


# --- login -------------------------------------------------------------------------------


@routes.post("/staff/api/login")
async def login(request: web.Request) -> web.Response:
    if not same_origin(request):
        return json_error(403, "bad_origin", api_text("login_bad_origin"))
    body = await read_json(request)
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or len(password) > 1024:
        return json_error(400, "invalid_request", api_text("login_incomplete"))
    username = username.strip().lower()[:64]
    address = request.app[STAFF_WEB].client_address(request) or ""
    guard = request.app[LOGIN_GUARD]
    # Counted before the slow check, so parallel guesses cannot all pass a limit of 5.
    if not await guard.attempt(username, address):
        minutes = guard.limits.window_seconds // 60
        return json_error(
            429,
            "locked",
            api_text("login_locked", minutes=minutes),
        )
    try:
        account = await request.app[ACCOUNTS].verify(username, password)
    except HashingBusy:
        await guard.take_back(username, address)
        response = json_error(503, "busy", api_text("busy"))
        response.headers["Retry-After"] = "30"
        return response
    if account is None:
        return json_error(401, "login_failed", api_text("login_failed"))
    await guard.succeeded(username, address)
    await request.app[AUDIT].record(account.username, "login")
    token, session = await request.app[SESSIONS].create(account.username)
    response = web.json_response(_me(account, session))
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=request.app[STAFF_WEB].secure_cookies,
        path="/staff",
        max_age=request.app[SESSIONS].lifetime,
    )
    return response


def _me(account: Account, session: Session) -> dict[str, Any]:
    return {
        "username": account.username,
        "name": account.name,
        "role": account.role,
        "team": account.team,
        "profiles": list(account.profiles),
        "csrf": session.csrf,
    }


@routes.get("/staff/api/me")
async def me(request: web.Request) -> web.Response:
    found = await authenticate(request)
    if found is None:
        return json_error(401, "not_logged_in", api_text("not_logged_in"))
    return web.json_response(_me(*found))


@routes.post("/staff/api/logout")
async def logout(request: web.Request) -> web.Response:
    found = await authenticate(request)
    if found is not None and request.headers.get("X-CSRF-Token") == found[1].csrf:
        await request.app[SESSIONS].end(request.cookies.get(COOKIE))
        await request.app[HANDOFF].leave(found[0].username)
        await request.app[CALLBACKS].release_claims(found[0].username)
    response = web.json_response({"ok": True})
    response.del_cookie(COOKIE, path="/staff")
    return response


# --- queue and conversations -------------------------------------------------------------


@routes.get("/staff/api/queue")
@staff_only
async def queue(request: web.Request, account: Account) -> web.Response:
    return web.json_response(await request.app[HANDOFF].queue_view(account))


@routes.get("/staff/api/handoffs/{hid}")
@staff_only
async def handoff_detail(request: web.Request, account: Account) -> web.Response:
    service = request.app[HANDOFF]
    hid = request.match_info["hid"]
    handoff = await service.record(hid)
    if handoff is None:
        return json_error(404, "not_found", api_text("conversation_gone"))
    if not may_read(account, handoff):
        # A colleague's chat in progress: that it exists and with whom, not what is said.
        return web.json_response({**handoff.public(), "transcript": [], "readable": False})
    transcript = [e.public() for e in await service.transcript(hid)]
    await request.app[AUDIT].record(account.username, "opened", hid)
    cid = await service.cid_of(hid)  # "je" or "u" (bot/address.py)
    address = await request.app[STAFF_WEB].address_for_staff(cid) if cid else {}
    return web.json_response(
        {**handoff.public(), "transcript": transcript, "readable": True, **address}
    )


def _conflict() -> web.Response:
    return json_error(409, "conflict", api_text("conversation_taken"))


@routes.post("/staff/api/handoffs/{hid}/claim")
@staff_only
async def claim(request: web.Request, account: Account) -> web.Response:
    if not await request.app[HANDOFF].claim(request.match_info["hid"], account):
        return _conflict()
    await request.app[AUDIT].record(account.username, "claimed", request.match_info["hid"])
    return web.json_response({"ok": True})


@routes.post("/staff/api/handoffs/{hid}/messages")
@staff_only
async def send(request: web.Request, account: Account) -> web.Response:
    body = await read_json(request, ("text", "id"))
    text = _text(body)
    if text is None:
        return json_error(400, "invalid_text", api_text("message_length", max=MAX_TEXT))
    reply_id = body.get("id")
    if reply_id is not None and not REPLY_ID.fullmatch(reply_id):
        return json_error(400, "invalid_id", api_text("reply_id"))
    entry = await request.app[HANDOFF].send(request.match_info["hid"], account, text, reply_id)
    if entry is None:
        return _conflict()
    return web.json_response(entry.public())


@routes.post("/staff/api/handoffs/{hid}/notes")
@staff_only
async def note(request: web.Request, account: Account) -> web.Response:
    text = _text(await read_json(request, ("text",)))
    if text is None:
        return json_error(400, "invalid_text", api_text("note_length", max=MAX_TEXT))
    entry = await request.app[HANDOFF].note(request.match_info["hid"], account, text)
    if entry is None:
        return json_error(404, "not_found", api_text("conversation_gone"))
    return web.json_response(entry.public())


@routes.post("/staff/api/handoffs/{hid}/release")
@staff_only
async def release(request: web.Request, account: Account) -> web.Response:
    if not await request.app[HANDOFF].release(request.match_info["hid"], account):
        return _conflict()
    return web.json_response({"ok": True})


@routes.post("/staff/api/handoffs/{hid}/transfer")
@staff_only
async def transfer(request: web.Request, account: Account) -> web.Response:
    to = (await read_json(request, ("to",))).get("to")
    target = await request.app[ACCOUNTS].get(to) if isinstance(to, str) else None
    if target is None or target.role not in CONSOLE_ROLES or target == account:
        return json_error(400, "invalid_colleague", api_text("choose_colleague"))
    if not await request.app[HANDOFF].transfer(request.match_info["hid"], account, target):
        return _conflict()
    await request.app[AUDIT].record(account.username, "transferred", request.match_info["hid"])
    return web.json_response({"ok": True})


@routes.post("/staff/api/handoffs/{hid}/close")
@staff_only
async def close(request: web.Request, account: Account) -> web.Response:
    body = await read_json(request, ("topic", "outcome", "referred_to", "asker"))
    options = registration_options()
    topic, outcome = body.get("topic"), body.get("outcome")
    if topic not in options.topics:
        return json_error(400, "invalid_topic", api_text("choose_topic"))
    if outcome not in options.outcomes:
        return json_error(400, "invalid_outcome", api_text("choose_outcome"))
    registration = {"topic": str(topic), "outcome": str(outcome)}
    if options.outcomes[str(outcome)].needs_referral:
        referral = body.get("referred_to")
        if referral not in options.referrals:
            return json_error(400, "invalid_referral", api_text("choose_referral"))
        registration["referred_to"] = str(referral)
    asker = body.get("asker") or None  # optional: "weet ik niet" sends nothing
    if asker is not None:
        if asker not in options.askers:
            return json_error(400, "invalid_asker", api_text("choose_asker"))
        registration["asker"] = str(asker)
    if not await request.app[HANDOFF].close(request.match_info["hid"], account, registration):
        return _conflict()
    await request.app[AUDIT].record(account.username, "closed", request.match_info["hid"])
    return web.json_response({"ok": True})


@routes.post("/staff/api/handoffs/{hid}/answer")
@staff_only
async def answer(request: web.Request, account: Account) -> web.Response:
    text = _text(await read_json(request, ("text",)))
    if text is None:
        return json_error(400, "invalid_text", api_text("answer_length", max=MAX_TEXT))
    if not await request.app[HANDOFF].answer_message(request.match_info["hid"], account, text):
        return json_error(409, "conflict", api_text("already_answered"))
    await request.app[AUDIT].record(account.username, "answered", request.match_info["hid"])
    return web.json_response({"ok": True})


@routes.get("/staff/api/audit")
@staff_only
async def audit(request: web.Request, account: Account) -> web.Response:
    """Who opened which conversation and when; for admins only."""
    if account.role != StaffRole.ADMIN:
        return json_error(403, "forbidden", api_text("audit_admins_only"))
    return web.json_response({"entries": await request.app[AUDIT].read()})


@routes.get("/staff/api/history")
@staff_only
async def history(request: web.Request, account: Account) -> web.Response:
    found = await request.app[HANDOFF].history(limit=100)
    return web.json_response({"closed": [h.public() for h in found]})


# --- reference data and presence ---------------------------------------------------------


@routes.get("/staff/api/canned")
@staff_only
async def canned(request: web.Request, account: Account) -> web.Response:
    return web.json_response(
        {"replies": [{"title": r.title, "text": r.text} for r in canned_replies().replies]}
    )


@routes.get("/staff/api/registration")
@staff_only
async def registration(request: web.Request, account: Account) -> web.Response:
    options = registration_options()
    return web.json_response(
        {
            "topics": options.topics,
            "outcomes": {
                k: {"label": v.label, "needs_referral": v.needs_referral}
                for k, v in options.outcomes.items()
            },
            "referrals": options.referrals,
            "askers": options.askers,
            "channels": console_texts().channels,
            "reasons": console_texts().reasons,
        }
    )


@routes.get("/staff/api/texts")
async def texts(request: web.Request) -> web.Response:
    """The staff pages' own Dutch texts (content/staff_console.yml). Open before login: the
    login form shows them too, and they hold nothing secret."""
    found = console_texts()
    return web.json_response(
        {"console": found.console, "insight": found.insight, "messages": found.messages}
    )


@routes.get("/staff/api/staff")
@staff_only
async def staff_list(request: web.Request, account: Account) -> web.Response:
    connected = await request.app[HANDOFF].connected()
    accounts = [a for a in await request.app[ACCOUNTS].all() if a.role in CONSOLE_ROLES]
    return web.json_response(
        {
            "staff": [
                {"username": a.username, "name": a.name, "status": connected.get(a.username)}
                for a in accounts
            ]
        }
    )


@routes.post("/staff/api/presence")
@staff_only
async def presence(request: web.Request, account: Account) -> web.Response:
    status = (await read_json(request, ("status",))).get("status")
    if status not in ("online", "away"):
        return json_error(400, "invalid_status", api_text("choose_status"))
    await request.app[HANDOFF].set_status(account.username, status)
    return web.json_response({"ok": True})
