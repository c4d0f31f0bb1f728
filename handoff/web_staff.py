"""The staff console's JSON API under /staff/api (documented in docs/API.md).

Every change needs a session cookie and the session's CSRF token in ``X-CSRF-Token``.
Live news comes over the websocket in ``handoff.web_staff_ws``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.app_keys import CORE, SETTINGS
from bot.client_address import client_address
from bot.web_errors import json_error
from handoff import events
from handoff.access import may_read
from handoff.accounts import Account, HashingBusy, account_from_hash
from handoff.routing import Audience, Router
from handoff.sessions import COOKIE, Session
from handoff.staff_content import canned_replies, registration_options
from handoff.web_keys import ACCOUNTS, AUDIT, HANDOFF, LOGIN_GUARD, SESSIONS

STATIC = Path(__file__).resolve().parents[1] / "web" / "staff"
MAX_TEXT = 4000
# A strict policy: only our own files, no inline script or style, no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; media-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

routes = web.RouteTableDef()


def _error(status: int, code: str, message: str) -> web.Response:
    return json_error(status, code, message)


async def authenticate(request: web.Request) -> tuple[Account, Session] | None:
    found = await request.app[SESSIONS].with_account(request.cookies.get(COOKIE))
    if found is None:
        return None
    session, raw = found
    account = account_from_hash(session.username, raw)
    return None if account is None else (account, session)


StaffHandler = Callable[[web.Request, Account], Awaitable[web.StreamResponse]]
Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def for_roles(
    roles: tuple[str, ...], refused: str, present: bool = False
) -> Callable[[StaffHandler], Route]:
    """Logged in with one of ``roles``, and for changes the CSRF header. ``present``: the call
    counts as a sign of life of a console (staff presence)."""

    def decorate(handler: StaffHandler) -> Route:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            found = await authenticate(request)
            if found is None:
                return _error(401, "not_logged_in", "Log eerst in.")
            account, session = found
            if (
                request.method not in ("GET", "HEAD")
                and request.headers.get("X-CSRF-Token") != session.csrf
            ):
                return _error(403, "csrf", "De pagina is verlopen. Laad hem opnieuw.")
            if account.role not in roles:
                return _error(403, "forbidden", refused)
            if present:
                await request.app[HANDOFF].presence.heartbeat(account.username)
            return await handler(request, account)

        return wrapped

    return decorate


# The console: staff and admins; every call is a sign of life.
staff_only = for_roles(
    ("staff", "admin"), "Je account heeft geen toegang tot de console.", present=True
)


def _bad_request(code: str, message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"error": code, "message": message}), content_type="application/json"
    )


async def _body(request: web.Request, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The request's JSON object. With ``fields``: only those keys, each text (a string) or
    absent/null; anything else is a clear 400, never a 500 further on."""
    try:
        body = json.loads(await request.read())
    except (UnicodeDecodeError, ValueError, RecursionError):  # huge numbers, deep nesting too
        raise _bad_request("invalid_json", "Ongeldige JSON.") from None
    if not isinstance(body, dict):
        raise _bad_request("invalid_json", "Verwacht een JSON-object.")
    if fields is None:
        return body
    if any(key not in fields for key in body):
        allowed = ", ".join(fields)
        raise _bad_request("unknown_field", f"Onbekend veld; dit verzoek kent alleen: {allowed}.")
    for name in fields:
        if body.get(name) is not None and not isinstance(body[name], str):
            raise _bad_request("invalid_field", f"Het veld {name} moet tekst zijn.")
    return body


def _text(body: dict[str, Any], field: str = "text") -> str | None:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        return None
    return value.strip()


# --- pages -------------------------------------------------------------------------------


def static_response(name: str, content_type: str) -> web.FileResponse:
    """Streamed from disk off the event loop; ETags let a browser keep its copy (304)."""
    return web.FileResponse(
        STATIC / name,
        headers={**SECURITY_HEADERS, "Content-Type": f"{content_type}; charset=utf-8"},
    )


@routes.get("/staff")
async def console_page(request: web.Request) -> web.StreamResponse:
    return static_response("index.html", "text/html")


@routes.get("/staff/static/{name}")
async def static_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    path = STATIC / name
    if "/" in name or path.suffix not in types or not path.is_file():
        raise web.HTTPNotFound()
    return static_response(name, types[path.suffix])


# --- login -------------------------------------------------------------------------------


@routes.post("/staff/api/login")
async def login(request: web.Request) -> web.Response:
    origin = request.headers.get("Origin")
    if origin is not None and origin.split("://", 1)[-1] != request.host:
        return _error(403, "bad_origin", "Inloggen kan alleen vanaf de console zelf.")
    body = await _body(request)
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or len(password) > 1024:
        return _error(400, "invalid_request", "Vul je gebruikersnaam en wachtwoord in.")
    username = username.strip().lower()[:64]
    address = client_address(request, request.app[SETTINGS]) or ""
    guard = request.app[LOGIN_GUARD]
    # Counted before the slow check, so parallel guesses cannot all pass a limit of 5.
    if not await guard.attempt(username, address):
        minutes = guard.limits.window_seconds // 60
        return _error(
            429,
            "locked",
            f"Te veel mislukte pogingen. Probeer het over {minutes} minuten opnieuw, "
            "of vraag de beheerder je account te ontgrendelen.",
        )
    try:
        account = await request.app[ACCOUNTS].verify(username, password)
    except HashingBusy:
        await guard.take_back(username, address)
        response = _error(503, "busy", "Het is even erg druk. Probeer het over een minuut opnieuw.")
        response.headers["Retry-After"] = "30"
        return response
    if account is None:
        return _error(401, "login_failed", "Gebruikersnaam of wachtwoord klopt niet.")
    await guard.succeeded(username, address)
    await request.app[AUDIT].record(account.username, "login")
    token, session = await request.app[SESSIONS].create(account.username)
    response = web.json_response(_me(account, session))
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=request.app[SETTINGS].secure_cookies,
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
        return _error(401, "not_logged_in", "Log eerst in.")
    return web.json_response(_me(*found))


@routes.post("/staff/api/logout")
async def logout(request: web.Request) -> web.Response:
    found = await authenticate(request)
    if found is not None and request.headers.get("X-CSRF-Token") == found[1].csrf:
        await request.app[SESSIONS].end(request.cookies.get(COOKIE))
        await request.app[HANDOFF].presence.leave(found[0].username)
    response = web.json_response({"ok": True})
    response.del_cookie(COOKIE, path="/staff")
    return response


# --- queue and conversations -------------------------------------------------------------


@routes.get("/staff/api/queue")
@staff_only
async def queue(request: web.Request, account: Account) -> web.Response:
    service = request.app[HANDOFF]
    waiting = [
        {**h.public(), "position": i} for i, h in enumerate(await service.store.queue(), start=1)
    ]
    waiting = await routed_for(service.router, waiting, account)
    active = [h.public() for h in await service.store.claimed()]
    left = [h.public() for h in await service.store.left_messages()]
    return web.json_response({"waiting": waiting, "active": active, "messages": left})


@routes.get("/staff/api/handoffs/{hid}")
@staff_only
async def handoff_detail(request: web.Request, account: Account) -> web.Response:
    service = request.app[HANDOFF]
    hid = request.match_info["hid"]
    handoff = await service.store.get(hid)
    if handoff is None:
        return _error(404, "not_found", "Dit gesprek bestaat niet (meer).")
    if not may_read(account, handoff):
        # A colleague's chat in progress: that it exists and with whom, not what is said.
        return web.json_response({**handoff.public(), "transcript": [], "readable": False})
    transcript = [e.public() for e in await service.transcript.read(hid)]
    await request.app[AUDIT].record(account.username, "opened", hid)
    cid = await service.store.cid_of(hid)  # "je" or "u" (bot/address.py)
    address = await request.app[CORE].address.for_staff(cid) if cid else {}
    return web.json_response(
        {**handoff.public(), "transcript": transcript, "readable": True, **address}
    )


async def routed_for(
    router: Router, waiting: list[dict[str, Any]], account: Account
) -> list[dict[str, Any]]:
    """Each waiting chat with ``routing`` (for whom and why, handoff/routing.py), in queue
    order, except that chats still kept for other colleagues come last. ``position`` stays the
    place in the one queue, the number the parent is told."""
    views = await router.views([w["hid"] for w in waiting], account)
    items = [{**w, "routing": views.get(w["hid"])} for w in waiting]
    later = [w for w in items if w["routing"] and w["routing"]["for"] == Audience.OTHERS]
    return [w for w in items if w not in later] + later


def _conflict() -> web.Response:
    return _error(409, "conflict", "Dit gesprek is al door iemand anders opgepakt of gesloten.")


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
    text = _text(await _body(request, ("text",)))
    if text is None:
        return _error(400, "invalid_text", f"Schrijf een bericht van 1 tot {MAX_TEXT} tekens.")
    entry = await request.app[HANDOFF].send(request.match_info["hid"], account, text)
    if entry is None:
        return _conflict()
    return web.json_response(entry.public())


@routes.post("/staff/api/handoffs/{hid}/notes")
@staff_only
async def note(request: web.Request, account: Account) -> web.Response:
    text = _text(await _body(request, ("text",)))
    if text is None:
        return _error(400, "invalid_text", f"Schrijf een notitie van 1 tot {MAX_TEXT} tekens.")
    entry = await request.app[HANDOFF].note(request.match_info["hid"], account, text)
    if entry is None:
        return _error(404, "not_found", "Dit gesprek bestaat niet (meer).")
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
    to = (await _body(request, ("to",))).get("to")
    target = await request.app[ACCOUNTS].get(to) if isinstance(to, str) else None
    if target is None or target.role not in ("staff", "admin") or target == account:
        return _error(400, "invalid_colleague", "Kies een collega om aan over te dragen.")
    if not await request.app[HANDOFF].transfer(request.match_info["hid"], account, target):
        return _conflict()
    await request.app[AUDIT].record(account.username, "transferred", request.match_info["hid"])
    return web.json_response({"ok": True})


@routes.post("/staff/api/handoffs/{hid}/close")
@staff_only
async def close(request: web.Request, account: Account) -> web.Response:
    body = await _body(request, ("topic", "outcome", "referred_to", "asker"))
    options = registration_options()
    topic, outcome = body.get("topic"), body.get("outcome")
    if topic not in options.topics:
        return _error(400, "invalid_topic", "Kies een onderwerp uit de lijst.")
    if outcome not in options.outcomes:
        return _error(400, "invalid_outcome", "Kies een uitkomst uit de lijst.")
    registration = {"topic": str(topic), "outcome": str(outcome)}
    if options.outcomes[str(outcome)].needs_referral:
        referral = body.get("referred_to")
        if referral not in options.referrals:
            return _error(400, "invalid_referral", "Kies naar wie je hebt doorverwezen.")
        registration["referred_to"] = str(referral)
    asker = body.get("asker") or None  # optional: "weet ik niet" sends nothing
    if asker is not None:
        if asker not in options.askers:
            return _error(400, "invalid_asker", "Kies wie de vraag stelde uit de lijst.")
        registration["asker"] = str(asker)
    if not await request.app[HANDOFF].close(request.match_info["hid"], account, registration):
        return _conflict()
    await request.app[AUDIT].record(account.username, "closed", request.match_info["hid"])
    return web.json_response({"ok": True})


@routes.post("/staff/api/handoffs/{hid}/answer")
@staff_only
async def answer(request: web.Request, account: Account) -> web.Response:
    text = _text(await _body(request, ("text",)))
    if text is None:
        return _error(400, "invalid_text", f"Schrijf een antwoord van 1 tot {MAX_TEXT} tekens.")
    if not await request.app[HANDOFF].answer_message(request.match_info["hid"], account, text):
        return _error(409, "conflict", "Dit bericht is al beantwoord.")
    await request.app[AUDIT].record(account.username, "answered", request.match_info["hid"])
    return web.json_response({"ok": True})


@routes.get("/staff/api/audit")
@staff_only
async def audit(request: web.Request, account: Account) -> web.Response:
    """Who opened which conversation and when; for admins only."""
    if account.role != "admin":
        return _error(403, "forbidden", "Alleen een beheerder kan het logboek inzien.")
    return web.json_response({"entries": await request.app[AUDIT].read()})


@routes.get("/staff/api/history")
@staff_only
async def history(request: web.Request, account: Account) -> web.Response:
    found = await request.app[HANDOFF].store.history(limit=100)
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
        }
    )


@routes.get("/staff/api/staff")
@staff_only
async def staff_list(request: web.Request, account: Account) -> web.Response:
    connected = await request.app[HANDOFF].presence.connected()
    accounts = [a for a in await request.app[ACCOUNTS].all() if a.role in ("staff", "admin")]
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
    status = (await _body(request, ("status",))).get("status")
    if status not in ("online", "away"):
        return _error(400, "invalid_status", "Kies online of afwezig.")
    service = request.app[HANDOFF]
    await service.presence.set_status(account.username, status)
    await events.publish(service.redis, "presence", staff=account.username, status=status)
    return web.json_response({"ok": True})
