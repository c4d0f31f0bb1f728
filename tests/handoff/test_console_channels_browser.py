"""The console names every channel in Dutch (content/staff_console.yml via the API), in Debian's
Chromium: a widget chat and a Telegram chat in the queue show their labels, never a bare code.
Its other texts come from the same file: one changed there shows in the console, and on the
figures page (its section ``insight``).

The service runs in-process on a real Redis (database 4); the handoffs start in the service, so
no Rasa is needed.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from common.handoff_payload import HandoffRequest
from common.names import Channel, Reason, StaffRole
from handoff.staff_content import console_texts
from handoff.web_keys import HANDOFF
from staff.web_keys import ACCOUNTS
from tests.handoff.conftest import StaffService
from tests.handoff.test_web_staff import PASSWORD, Client

DB = 4


@pytest.fixture
async def client(staff_service: StaffService) -> AsyncIterator[Client]:
    client = await staff_service(DB)
    await client.app[ACCOUNTS].add("eva", "Eva", PASSWORD)
    yield client


async def log_in(page: Page, client: Client, username: str) -> None:
    await page.goto(str(client.make_url("/staff")))
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-form button[type=submit]")


async def test_the_queue_names_a_widget_and_a_telegram_chat_in_dutch(
    client: Client, browser: Browser
) -> None:
    service = client.app[HANDOFF]
    await service.heartbeat("eva")  # someone online: the chats queue
    for cid, channel in (("cid-widget", Channel.WIDGET), ("cid-telegram", Channel.TELEGRAM)):
        await service.begin(cid, channel, HandoffRequest(Reason.ASK_HUMAN), [])
    page = await (await browser.new_context()).new_page()
    try:
        await log_in(page, client, "eva")
        meta = page.locator("#queue .queue-item .item-meta")
        await expect(meta).to_have_count(2, timeout=15000)
        labels = console_texts().channels
        await expect(meta).to_have_text(
            [labels[Channel.WIDGET], labels[Channel.TELEGRAM]], timeout=15000
        )
        assert labels[Channel.WIDGET] == "Chatvenster op de website"
        for code in ("widget", "telegram"):
            await expect(page.locator("#queue")).not_to_contain_text(code)
    finally:
        await page.context.close()


def edit_page_texts(console: dict[str, str], insight: dict[str, str]) -> None:
    """Changes texts in the service's copy of content/staff_console.yml, as staff would."""
    path = Path(os.environ["CJG_CONTENT_DIR"]) / "staff_console.yml"
    sections = path.read_text().split("\ninsight:\n")  # the console's section is above
    for at, edits in enumerate((console, insight)):
        for key, text in edits.items():
            sections[at], found = re.subn(rf"(?m)^  {key}: .*$", f'  {key}: "{text}"', sections[at])
            assert found == 1, key
    path.write_text("\ninsight:\n".join(sections))


async def test_a_text_changed_in_the_content_file_shows_in_the_console(
    client: Client, browser: Browser
) -> None:
    """Staff edit the console's texts in content/staff_console.yml: the console shows the new
    ones (read from the API when it starts), before and after login: what its script says and
    the page's own words (a heading, the title, a name a screen reader reads out)."""
    edit_page_texts(
        {
            "login_missing": "Vul allebei in.",
            "logged_in_as": "Welkom, {name}",
            "login_heading": "Log in bij het CJG",
            "page_title": "Console van het CJG",
            "sidebar_label": "Lijsten",
        },
        {},
    )
    page = await (await browser.new_context()).new_page()
    try:
        await page.goto(str(client.make_url("/staff")))
        await expect(page.locator("#login-form h2")).to_have_text("Log in bij het CJG")
        await expect(page).to_have_title("Console van het CJG")
        await page.click("#login-form button[type=submit]")
        await expect(page.locator("#login-error")).to_have_text("Vul allebei in.")
        await page.fill("#username", "eva")
        await page.fill("#password", PASSWORD)
        await page.click("#login-form button[type=submit]")
        await expect(page.locator("#user-name")).to_have_text("Welkom, Eva")
        await expect(page.get_by_role("complementary", name="Lijsten")).to_be_visible()
        await expect(page.locator("#queue-heading")).to_have_text("Wachtrij")  # as shipped
    finally:
        await page.context.close()


async def test_a_text_changed_in_the_content_file_shows_on_the_figures_page(
    client: Client, browser: Browser
) -> None:
    """The figures page's own words come from the same file (its ``insight`` section); its
    channel filter is filled from the figures."""
    await client.app[ACCOUNTS].add("ida", "Ida", PASSWORD, StaffRole.INSIGHT)
    edit_page_texts({}, {"app_title": "Cijfers van het CJG", "chart_empty": "Nog leeg."})
    page = await (await browser.new_context()).new_page()
    try:
        await log_in(page, client, "ida")
        await expect(page.locator("h1")).to_have_text("Cijfers van het CJG", timeout=15000)
        await expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=15000)
        empty = page.locator(".chart-part:has(#chart-series) .chart-empty")
        await expect(empty).to_have_text("Nog leeg.")
        await expect(empty).to_be_visible()
        await expect(page.locator("label[for=filter-from]")).to_have_text("Van")  # as shipped
        # The channel options come with the figures (content/insight.yml); a reload with a
        # channel in the address keeps it chosen.
        await page.goto(str(client.make_url("/staff/insight?channel=telegram")))
        await expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=15000)
        channel = page.locator("#filter-channel")
        await expect(channel).to_have_value("telegram")
        await expect(channel.locator("option:checked")).to_have_text("Telegram")
        await expect(channel.locator("option")).to_have_text(
            ["Alle kanalen", "Website-chat", "Telegram", "API"]
        )
    finally:
        await page.context.close()
