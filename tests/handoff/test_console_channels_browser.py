"""The console names every channel in Dutch (content/staff_console.yml via the API), in Debian's
Chromium: a widget chat and a Telegram chat in the queue show their labels, never a bare code.
Its other texts come from the same file: one changed there shows in the console.

The service runs in-process on a real Redis (database 4); the handoffs start in the service, so
no Rasa is needed.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from common.handoff_payload import HandoffRequest
from common.names import Channel, Reason
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


async def test_the_queue_names_a_widget_and_a_telegram_chat_in_dutch(
    client: Client, browser: Browser
) -> None:
    service = client.app[HANDOFF]
    await service.heartbeat("eva")  # someone online: the chats queue
    for cid, channel in (("cid-widget", Channel.WIDGET), ("cid-telegram", Channel.TELEGRAM)):
        await service.begin(cid, channel, HandoffRequest(Reason.ASK_HUMAN), [])
    page = await (await browser.new_context()).new_page()
    try:
        await page.goto(str(client.make_url("/staff")))
        await page.fill("#username", "eva")
        await page.fill("#password", PASSWORD)
        await page.click("#login-form button[type=submit]")
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


async def test_a_text_changed_in_the_content_file_shows_in_the_console(
    client: Client, browser: Browser
) -> None:
    """Staff edit the console's texts in content/staff_console.yml: the console shows the new
    ones (read from the API when it starts), before and after login."""
    path = Path(os.environ["CJG_CONTENT_DIR"]) / "staff_console.yml"
    head, insight = path.read_text().split("\ninsight:\n")  # the console's section is above
    for key, text in (("login_missing", "Vul allebei in."), ("logged_in_as", "Welkom, {name}")):
        head, found = re.subn(rf"(?m)^  {key}: .*$", f'  {key}: "{text}"', head)
        assert found == 1, key
    path.write_text(f"{head}\ninsight:\n{insight}")
    page = await (await browser.new_context()).new_page()
    try:
        await page.goto(str(client.make_url("/staff")))
        await page.click("#login-form button[type=submit]")
        await expect(page.locator("#login-error")).to_have_text("Vul allebei in.")
        await page.fill("#username", "eva")
        await page.fill("#password", PASSWORD)
        await page.click("#login-form button[type=submit]")
        await expect(page.locator("#user-name")).to_have_text("Welkom, Eva")
    finally:
        await page.context.close()
