"""Security headers on every response (bot/web_security.py)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request

Client = TestClient[Request, Application]


async def test_every_response_carries_security_headers(client: Client) -> None:
    for path in ("/health", "/api/chat/updates?sender=x", "/nope", "/widget/widget.js"):
        response = await client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "no-referrer", path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path
    api = await client.get("/api/chat/updates?sender=x")
    assert api.headers["Cache-Control"] == "no-store"
    demo = await client.get("/demo")
    assert "script-src 'self'" in demo.headers["Content-Security-Policy"]  # its own policy stays
