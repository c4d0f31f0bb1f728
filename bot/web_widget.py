"""The widget's files (one script tag embeds it) and the demo host page at /demo."""

from __future__ import annotations

import hashlib
import json
import logging
from functools import lru_cache
from pathlib import Path

from aiohttp import web

from base.web import WEB, file_response
from bot.widget.texts import widget_texts
from common.content import ContentError

log = logging.getLogger(__name__)

# widget.js with its texts (content/widget_texts.yml) put in where this mark is.
WIDGET_SCRIPT = WEB / "widget" / "widget.js"
TEXTS_MARK = "{} /* CJG_WIDGET_TEXTS */"
# The widget's other files, served as they are; nothing else under web/ is served from here.
WIDGET_FILES = {
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


@lru_cache(maxsize=4)  # bounded: a new key only when widget.js or its texts change
def _script(changed_ns: int, texts: str) -> tuple[bytes, str]:
    source = WIDGET_SCRIPT.read_text(encoding="utf-8")
    if source.count(TEXTS_MARK) != 1:  # a bug in widget.js, not in content
        raise RuntimeError(f"{WIDGET_SCRIPT}: needs '{TEXTS_MARK}' once, for its texts")
    body = source.replace(TEXTS_MARK, texts).encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


_last_good: list[tuple[bytes, str]] = []  # what pages get while staff fix a broken texts file
_warned: set[str] = set()  # each mistake once in the log, not at every page load


def widget_script() -> tuple[bytes, str]:
    """widget.js with its texts filled in, and its ETag: an edit of the texts changes both, so
    a page gets the new texts at its next load. Raises ContentError (file and key) when the
    texts file is wrong and nothing was served yet; later, pages keep the last good texts."""
    try:
        texts = json.dumps(widget_texts().texts, ensure_ascii=False, sort_keys=True)
    except ContentError as exc:
        if not _last_good:
            raise
        if str(exc) not in _warned:
            _warned.add(str(exc))
            log.warning("%s; the widget keeps its last good texts until it is fixed", exc)
        return _last_good[0]
    served = _script(WIDGET_SCRIPT.stat().st_mtime_ns, texts)
    _last_good[:] = [served]
    _warned.clear()
    return served


@routes.get("/widget/widget.js")  # before /widget/{name}: the first route that fits wins
async def widget_js(request: web.Request) -> web.Response:
    body, etag = widget_script()
    headers = {**WIDGET_HEADERS, "ETag": etag}
    wanted = request.headers.get("If-None-Match", "")
    if etag in (tag.strip().removeprefix("W/") for tag in wanted.split(",")):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="text/javascript", charset="utf-8", headers=headers)


@routes.get("/widget/{name}")
async def widget_file(request: web.Request) -> web.StreamResponse:
    return _serve(WIDGET_FILES.get(request.match_info["name"]), WIDGET_HEADERS)


@routes.get("/demo")
async def demo_page(request: web.Request) -> web.StreamResponse:
    return _serve(DEMO_FILES[""], DEMO_HEADERS)


@routes.get("/demo/{name}")
async def demo_file(request: web.Request) -> web.StreamResponse:
    return _serve(DEMO_FILES.get(request.match_info["name"]), DEMO_HEADERS)
