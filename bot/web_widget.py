"""The widget's files (one script tag embeds it) and the demo host page at /demo."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from base.web import WEB, file_response

# What the widget consists of; nothing else under web/ is served from here.
WIDGET_FILES = {
    "widget.js": (WEB / "widget" / "widget.js", "text/javascript"),
    "widget.css": (WEB / "widget" / "widget.css", "text/css"),
    "socket.io.min.js": (WEB / "widget" / "vendor" / "socket.io.min.js", "text/javascript"),
}
DEMO_FILES = {
    "": (WEB / "demo" / "index.html", "text/html"),
    "demo.css": (WEB / "demo" / "demo.css", "text/css"),
}
# The demo page is our own: the same strict policy as the staff console, plus the socket.
DEMO_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}
# Widget files are loaded by other sites' pages, so they may be fetched cross-origin.
WIDGET_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Cache-Control": "no-cache",
}

routes = web.RouteTableDef()


def _serve(found: tuple[Path, str] | None, headers: dict[str, str]) -> web.FileResponse:
    if found is None or not found[0].is_file():
        raise web.HTTPNotFound()
    return file_response(*found, headers)


@routes.get("/widget/{name}")
async def widget_file(request: web.Request) -> web.StreamResponse:
    return _serve(WIDGET_FILES.get(request.match_info["name"]), WIDGET_HEADERS)


@routes.get("/demo")
async def demo_page(request: web.Request) -> web.StreamResponse:
    return _serve(DEMO_FILES[""], DEMO_HEADERS)


@routes.get("/demo/{name}")
async def demo_file(request: web.Request) -> web.StreamResponse:
    return _serve(DEMO_FILES.get(request.match_info["name"]), DEMO_HEADERS)
