"""The insight dashboard in Debian's Chromium: real conversations through the chat API of a
running service, counted by its own sweeper, then the charts on /staff/insight; the admin's
audit log in the console.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect
from redis.asyncio import Redis

from base.client_redis import redis_url_from_env
from base.registrar import OPEN
from insight.unclear import UnclearQuestions
from tests.api_client import ApiConversation
from tests.browser import PASSWORD, Service, make_service
from tests.conftest import RasaStack, RedisServer

BROWSER_DB = 9
pytestmark = pytest.mark.rasa
CHARTS = ("series", "themes", "outcomes", "users", "enough")  # these have data in this test
EMPTY = ("waiting", "ratings")  # no handoff here: these say so instead of drawing nothing


@pytest.fixture
def service(redis_server: RedisServer, rasa_stack: RasaStack, tmp_path: Path) -> Iterator[Service]:
    service = make_service(
        redis_server,
        rasa_stack,
        tmp_path,
        BROWSER_DB,
        staff=("eva", "ida", "ines"),
        roles={"ida": "insight", "ines": "admin"},
        # counted a second after the chat, at the next sweep
        extra_env={"CJG_REGISTRATION_IDLE_SECONDS": "1", "CJG_SWEEP_INTERVAL_SECONDS": "1"},
    )
    service.start()
    yield service
    service.stop()


async def say(http: aiohttp.ClientSession, url: str, text: str) -> None:
    """One message in a new conversation."""
    assert await ApiConversation(http, url).say(text)


async def log_in_as(page: Page, url: str, username: str) -> None:
    await page.goto(url + "/staff")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-form button[type=submit]")


async def test_the_dashboard_shows_the_counted_conversations_as_charts(
    service: Service, browser: Browser
) -> None:
    async with aiohttp.ClientSession() as http:
        for topic in ("slapen", "eten"):
            await say(http, service.url, f'/opvoedvraag{{"topic": "{topic}"}}')
        divorce = ApiConversation(http, service.url)  # answers "Heb je hier genoeg aan ...?"
        assert await divorce.say('/opvoedvraag{"topic": "scheiding_vertellen"}')
        assert await divorce.say("/cjg_enough_nee")
    # A question the bot did not understand, as the service keeps it (the path from the chat
    # to this list is tested in test_web_insight.py); it must show as text, never as markup.
    redis = Redis.from_url(redis_url_from_env(service.env), decode_responses=True)
    await UnclearQuestions(redis, 3600).add("<img src=x onerror=alert(1)> qwxz", "fallback", None)
    for _ in range(60):  # quiet for a second, then the service's sweeper counts them
        if not await redis.zcard(OPEN):
            break
        await asyncio.sleep(0.5)
    assert not await redis.zcard(OPEN), "the service's sweeper did not count the chats"
    await redis.aclose()

    page = await browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    await log_in_as(page, service.url, "ida")
    await expect(page).to_have_url(re.compile(r"/staff/insight(\?|$)"), timeout=15000)
    await expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=20000)

    await expect(page.locator("#tile-conversations")).to_contain_text("3")
    for name in CHARTS:  # every chart was drawn by Chart.js on its canvas
        drawn = await page.evaluate(
            "id => { const c = document.getElementById(id);"
            " return !!(window.Chart && Chart.getChart(c)) && c.width > 0 && c.height > 0; }",
            f"chart-{name}",
        )
        assert drawn, name
    for name in EMPTY:
        part = page.locator(f".chart-part:has(#chart-{name}) .chart-empty")
        await expect(part).to_be_visible()
        await expect(part).to_contain_text("Nog geen gegevens")
    themes = await page.evaluate(
        "() => Chart.getChart(document.getElementById('chart-themes')).data.labels.flat().join(' ')"
    )
    assert "Scheiding" in themes
    enough = page.locator(".chart-part:has(#chart-enough) table")
    await expect(enough).to_contain_text("Na de chatbot")
    await expect(enough.locator("tr", has_text="Nee")).to_contain_text("1")
    await expect(page.locator("#enough-note")).to_contain_text("1 na de chatbot")

    unclear = page.locator("li.unclear-item")
    await expect(unclear).to_have_count(1)
    await expect(unclear.locator(".unclear-text")).to_contain_text("<img src=x onerror=alert(1)>")
    assert await page.locator("li.unclear-item img").count() == 0 and not dialogs
    await unclear.locator("button.unclear-ignore").click()
    await expect(unclear).to_have_class(re.compile(r"\bmarked\b"))

    csv = page.locator("#csv-link")
    assert "/staff/api/insight.csv" in str(await csv.get_attribute("href"))


async def test_admins_read_the_audit_log_and_staff_do_not(
    service: Service, browser: Browser
) -> None:
    page = await browser.new_page()
    await log_in_as(page, service.url, "eva")
    await expect(page.locator("#console")).to_be_visible()
    await expect(page.locator("#audit-open")).to_be_hidden()

    admin = await browser.new_page()
    await log_in_as(admin, service.url, "ines")
    await expect(admin.locator("#console")).to_be_visible()
    await expect(admin.locator("#insight-link")).to_be_visible()
    await admin.click("#audit-open")
    table = admin.locator("#audit-table")
    await expect(table).to_be_visible()
    await expect(table).to_contain_text("ingelogd")
    await expect(table).to_contain_text("eva")
