"""The widget's files and the demo page: served with the right types and headers, nothing more."""

from __future__ import annotations

import json
import re
from pathlib import Path

from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request

from base.web import WEB

Client = TestClient[Request, Application]


async def test_the_widget_files_are_served_for_other_sites(client: Client) -> None:
    for name, kind in (
        ("widget.js", "text/javascript"),
        ("widget.css", "text/css"),
        ("socket.io.min.js", "text/javascript"),
    ):
        response = await client.get(f"/widget/{name}")
        assert response.status == 200, name
        assert response.content_type == kind
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    for other in ("package.json", "..%2Fdemo%2Findex.html", "vendor"):
        assert (await client.get(f"/widget/{other}")).status == 404


async def test_a_page_that_embeds_the_widget_keeps_its_copy_until_it_changes(
    client: Client,
) -> None:
    first = await client.get("/widget/widget.js")
    assert first.charset == "utf-8" and len(await first.read()) > 1000
    etag = first.headers["ETag"]
    again = await client.get("/widget/widget.js", headers={"If-None-Match": etag})
    assert again.status == 304 and await again.read() == b""
    assert again.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    other = await client.get("/widget/widget.css", headers={"If-None-Match": etag})
    assert other.status == 200  # another file's ETag does not match


async def test_the_demo_page_embeds_the_widget_with_one_script_tag(client: Client) -> None:
    response = await client.get("/demo")
    assert response.status == 200 and response.content_type == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    page = await response.text()
    scripts = re.findall(r"<script[^>]*>", page)
    assert len(scripts) == 1 and 'src="/widget/widget.js"' in scripts[0]
    assert "<style" not in page and "style=" not in page  # the strict policy would block them
    assert (await client.get("/demo/demo.css")).status == 200


def test_the_vendored_socketio_client_is_the_locked_version() -> None:
    vendor = WEB / "widget" / "vendor"
    lock = json.loads((vendor / "package-lock.json").read_text())
    version = lock["packages"]["node_modules/socket.io-client"]["version"]
    assert f"Socket.IO v{version}" in (vendor / "socket.io.min.js").read_text()[:200]


def test_the_widget_never_builds_html_from_strings() -> None:
    """Every text is rendered as text: the widget has no way to turn a string into markup."""
    source = Path(WEB / "widget" / "widget.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in source, sink
