"""Who is calling the staff APIs: one module for the console's API, its websocket and the
insight pages (insight/web_insight.py), so the session check, the roles and the origin check
are written once. What a call means beyond that (a console's sign of life) the caller hands in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from base.web import api_text, json_error
from staff.accounts import Account, account_from_hash
from staff.sessions import COOKIE, Session
from staff.web_keys import SESSIONS

StaffHandler = Callable[[web.Request, Account], Awaitable[web.StreamResponse]]
Route = Callable[[web.Request], Awaitable[web.StreamResponse]]
OnCall = Callable[[web.Request, Account], Awaitable[None]]


async def authenticate(request: web.Request) -> tuple[Account, Session] | None:
    """The account and session of the request's session cookie; None when not logged in."""
    found = await request.app[SESSIONS].with_account(request.cookies.get(COOKIE))
    if found is None:
        return None
    session, raw = found
    account = account_from_hash(session.username, raw)
    return None if account is None else (account, session)


def same_origin(request: web.Request) -> bool:
    """A browser's request from our own pages (or no ``Origin`` at all, as from a script):
    logins and the live line refuse other sites' pages."""
    origin = request.headers.get("Origin")
    return origin is None or origin.split("://", 1)[-1] == request.host


def for_roles(
    roles: Iterable[str], refused: str, on_call: OnCall | None = None
) -> Callable[[StaffHandler], Route]:
    """Logged in with one of ``roles``, and for changes the CSRF header. ``on_call`` runs for
    every call let through, before the handler (the console: a sign of life of its staff
    member)."""
    allowed = tuple(roles)

    def decorate(handler: StaffHandler) -> Route:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            found = await authenticate(request)
            if found is None:
                return json_error(401, "not_logged_in", api_text("not_logged_in"))
            account, session = found
            if (
                request.method not in ("GET", "HEAD")
                and request.headers.get("X-CSRF-Token") != session.csrf
            ):
                return json_error(403, "csrf", api_text("csrf"))
            if account.role not in allowed:
                return json_error(403, "forbidden", refused)
            if on_call is not None:
                await on_call(request, account)
            return await handler(request, account)

        return wrapped

    return decorate
