"""The privacy statement at /privacy, built from content/privacy.yml."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request

Client = TestClient[Request, Application]


async def test_the_privacy_page_says_what_is_kept_and_how_long(client: Client) -> None:
    response = await client.get("/privacy")
    assert response.status == 200 and response.content_type == "text/html"
    page = await response.text()
    assert "Privacy in de chat van het CJG" in page
    assert "na 30 dagen automatisch gewist" in page  # from CJG_RETENTION_SECONDS
    assert "Gesprek wissen" in page and "/wissen" in page
    assert "Informatie &amp; Advies" in page  # every text escaped
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
