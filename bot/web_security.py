"""Security headers on every response, so no route can forget them.

Pages (the demo, the staff console) set their own, stricter Content-Security-Policy; everything
else (JSON, widget files, Socket.IO) gets a policy that allows nothing to run or frame it.
"""

from __future__ import annotations

from aiohttp import web

from bot.app_keys import SETTINGS

DEFAULTS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cross-Origin-Opener-Policy": "same-origin",
}


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in DEFAULTS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith(("/api/", "/staff/api/")):
        response.headers.setdefault("Cache-Control", "no-store")
    if request.app[SETTINGS].secure_cookies:  # i.e. behind TLS
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
