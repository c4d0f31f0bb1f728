"""The privacy statement at /privacy, built from content/privacy.yml."""

from __future__ import annotations

from dataclasses import replace

from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request

from bot import Settings, create_app
from tests.bot.conftest import ClientFactory

Client = TestClient[Request, Application]


async def test_the_privacy_page_says_what_is_kept_and_how_long(client: Client) -> None:
    response = await client.get("/privacy")
    assert response.status == 200 and response.content_type == "text/html"
    page = await response.text()
    assert "Privacy in de chat van het CJG" in page
    assert "na 30 dagen automatisch gewist" in page  # from CJG_RETENTION_SECONDS
    assert "en anders na 72 uur" in page  # the number's lifetime: CJG_CALLBACK_NUMBER_SECONDS
    assert "{" not in page  # every placeholder filled in
    assert "Gesprek wissen" in page and "/wissen" in page
    assert "Informatie &amp; Advies" in page  # every text escaped
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


async def test_the_numbers_lifetime_follows_the_setting(
    aiohttp_client: ClientFactory, settings: Settings
) -> None:
    """Half an hour is said as "1 uur" (rounded up), never as "0"."""
    client = await aiohttp_client(create_app(replace(settings, callback_number_seconds=1800)))
    page = await (await client.get("/privacy")).text()
    assert "en anders na 1 uur" in page
