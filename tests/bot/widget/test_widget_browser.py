"""The widget on the demo page in Debian's Chromium, against the whole real stack: the trained
model, Redis, the service as its own process (restarted for a forced reconnect) and the staff
console in a second browser context."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, expect
from redis.asyncio import Redis

from bot.pseudonym import pseudonymise
from bot.widget.channel import CHANNEL
from common.content import service_messages
from handoff.transcript import Outbox
from staff.accounts import Account
from tests.browser import Service, log_in, make_service
from tests.conftest import RasaStack, RedisServer
from tests.handoff.conftest import make_service as make_handoff_service

WIDGET_DB = 6
pytestmark = pytest.mark.rasa
EVA = Account("eva", "Eva", "staff")


@pytest.fixture
def service(redis_server: RedisServer, rasa_stack: RasaStack, tmp_path: Path) -> Iterator[Service]:
    service = make_service(redis_server, rasa_stack, tmp_path, WIDGET_DB, staff=("eva",))
    service.start()
    yield service
    service.stop()


class Widget:
    """The parent's browser tab with the demo page; every locator pierces the shadow root."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        page.on("dialog", lambda d: self.dialogs.append(d.message))

    def __call__(self, selector: str) -> Locator:
        return self.page.locator(f"#cjg-chat {selector}")

    @property
    def messages(self) -> Locator:
        return self("#cjg-log .cjg-msg")

    def said(self, text: str) -> Locator:
        return self("#cjg-log .cjg-text").filter(has_text=text)

    async def open(self, url: str) -> None:
        await self.page.goto(url + "/demo")
        await self("#cjg-launcher").click()
        await expect(self("#cjg-panel")).to_be_visible()
        await expect(self('.cjg-msg[data-from="bot"]').first).to_be_visible(timeout=30000)

    async def send(self, text: str) -> None:
        await self("#cjg-input").fill(text)
        await self("#cjg-input").press("Enter")
        await expect(self.said(text)).to_have_count(1)

    async def answered(self, before: int, timeout_s: float = 30) -> None:
        """Waits until the bot has said more than ``before`` messages, and then for quiet."""
        bots = self('.cjg-msg[data-from="bot"]')
        for _ in range(int(timeout_s * 4)):
            if await bots.count() > before:
                await self.page.wait_for_timeout(1500)  # the rest of a several-part answer
                return
            await self.page.wait_for_timeout(250)
        raise AssertionError(f"no answer after {before} bot messages")

    async def session_id(self) -> str:
        return str(await self.page.evaluate("window.cjgChat.sessionId"))


async def test_chat_buttons_reload_and_markup_shown_as_text(
    service: Service, browser: Browser
) -> None:
    widget = Widget(await browser.new_page())
    await widget.open(service.url)
    welcome = widget('.cjg-msg[data-from="bot"]').first
    await expect(welcome).to_contain_text("CJG")
    await expect(widget('.cjg-msg[data-from="user"]')).to_have_count(0)  # /greet is not shown
    await expect(welcome.locator("time")).to_have_count(1)

    button = widget("button.cjg-button:enabled").first
    title = await button.inner_text()
    count = await widget('.cjg-msg[data-from="bot"]').count()
    await button.click()
    await expect(widget('.cjg-msg[data-from="user"] .cjg-text').last).to_have_text(title)
    await widget.answered(count)

    before = await widget('.cjg-msg[data-from="bot"]').count()
    await widget.send("mijn peuter van 3 wil niet slapen")
    await widget.answered(before)
    bots = widget('.cjg-msg[data-from="bot"] .cjg-text')
    assert len(await bots.last.inner_text()) > 40

    attack = "<img src=x onerror=alert(1)> <script>alert(2)</script>"
    before = await widget('.cjg-msg[data-from="bot"]').count()
    await widget.send(attack)
    await expect(widget.said(attack)).to_have_text(attack)  # shown as the text it is
    await expect(widget("#cjg-log img")).to_have_count(0)
    await expect(widget("#cjg-log script")).to_have_count(0)

    await widget.answered(before)
    session = await widget.session_id()
    # The host page's scripts can read sessionStorage: it holds what resuming needs, no text.
    stored = await widget.page.evaluate("JSON.parse(sessionStorage.getItem('cjg-chat'))")
    assert set(stored) == {"sessionId", "lastId", "open", "unread"}
    assert "peuter" not in str(stored) and "CJG" not in str(stored)
    await widget.page.reload()
    await expect(widget("#cjg-panel")).to_be_visible()
    assert await widget.session_id() == session  # the same conversation goes on ...
    await expect(widget("#cjg-send")).to_be_enabled(timeout=15000)
    await expect(widget("#cjg-log .cjg-msg")).to_have_count(0)  # ... without the old texts
    await widget.send("en hij wil ook niet eten")
    await widget.answered(0)
    assert widget.dialogs == []  # no script ever ran


async def test_keyboard_only_and_gesprek_wissen(
    service: Service, browser: Browser, redis_server: RedisServer
) -> None:
    page = await browser.new_page()
    widget = Widget(page)
    await page.goto(service.url + "/demo")
    for _ in range(30):  # Tab through the page until the launcher has focus
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement?.id") == "cjg-chat" and (
            await page.evaluate("document.activeElement.shadowRoot.activeElement?.id")
            == "cjg-launcher"
        ):
            break
    else:
        raise AssertionError("the launcher cannot be reached with Tab")
    await page.keyboard.press("Enter")
    await expect(widget("#cjg-input")).to_be_focused()
    await expect(widget('.cjg-msg[data-from="bot"]').first).to_be_visible(timeout=30000)
    greeting = await widget('.cjg-msg[data-from="bot"]').count()
    await page.keyboard.type("mijn dochter van 6 plast weer in bed")
    await page.keyboard.press("Enter")
    await widget.answered(greeting)
    await page.keyboard.press("Escape")
    await expect(widget("#cjg-panel")).to_be_hidden()
    await expect(widget("#cjg-launcher")).to_be_focused()

    await widget("#cjg-launcher").click()
    session = await widget.session_id()
    redis = Redis.from_url(redis_server.url(0))  # Rasa's tracker store (endpoints.yml)
    cid = pseudonymise(service.env["CJG_PSEUDONYM_SECRET"], CHANNEL, session)
    assert await redis.exists(f"rasa:tracker:{cid}")
    await widget("#cjg-clear").click()
    await widget("#cjg-clear-no").click()
    await expect(widget('.cjg-msg[data-from="user"]')).to_have_count(1)  # "Nee" keeps it
    await widget("#cjg-clear").click()
    await widget("#cjg-clear-yes").click()
    await expect(widget('.cjg-msg[data-from="user"]')).to_have_count(0)
    await widget.answered(0)  # a fresh welcome
    assert await widget.session_id() != session
    assert not await redis.exists(f"rasa:tracker:{cid}")
    assert "plast" not in str(await page.evaluate("JSON.stringify(sessionStorage)"))
    await redis.aclose()


async def test_handoff_with_staff_and_a_forced_reconnect(
    service: Service, browser: Browser, redis_server: RedisServer
) -> None:
    console = await (await browser.new_context()).new_page()
    await log_in(console, service.url)
    widget = Widget(
        await (await browser.new_context(viewport={"width": 320, "height": 640})).new_page()
    )
    await widget.open(service.url)

    await widget.send("ik wil graag een medewerker spreken")
    await expect(widget("#cjg-status")).to_contain_text("nummer 1", timeout=30000)
    item = console.locator("#queue .queue-item")
    await expect(item).to_have_count(1, timeout=15000)
    await item.locator("button.claim").click()
    await expect(widget("#cjg-status")).to_contain_text("Eva", timeout=15000)
    await expect(widget.said("Eva van het CJG is er nu")).to_have_count(1)

    await console.fill("#reply", "Hoi, ik ben Eva.")
    await console.press("#reply", "x")  # typing shows in the widget
    await expect(widget("#cjg-typing")).to_contain_text("Eva", timeout=10000)
    await console.fill("#reply", "Hoi, ik ben Eva.")
    await console.click("#send")
    staff_message = widget('.cjg-msg[data-from="staff"]')
    await expect(staff_message).to_have_count(1, timeout=15000)
    await expect(staff_message).to_contain_text("Eva")

    await widget.send("mijn zoon van 6 plast nog in bed")
    await expect(
        console.locator("#transcript .entry .text").filter(has_text="plast nog")
    ).to_have_count(1)

    # A forced reconnect: the service goes down; meanwhile Eva's message comes in through
    # another instance (here: the test's own HandoffService on the same Redis).
    before = await widget("#cjg-log .cjg-text").all_inner_texts()
    await widget("#cjg-close").click()
    service.stop()
    await expect(widget("#cjg-send")).to_be_disabled(timeout=15000)
    redis = Redis.from_url(redis_server.url(WIDGET_DB), decode_responses=True)
    other_instance = make_handoff_service(redis)
    cid = pseudonymise(service.env["CJG_PSEUDONYM_SECRET"], CHANNEL, await widget.session_id())
    hid = (await other_instance.conversation(cid)).hid
    assert hid and await other_instance.send(hid, EVA, "Ben je er nog? Ik lees mee.")
    link = {"text": "Hier lees je meer.", "buttons": [{"title": "Samen opgroeien",
            "payload": "https://samenopgroeien.nu"}]}  # fmt: skip
    await Outbox(redis, 3600).push(cid, link)  # as an answer from the bot
    service.start()
    await expect(widget("#cjg-unread")).to_have_text("2", timeout=30000)
    await widget("#cjg-launcher").click()
    await expect(widget.said("Ben je er nog? Ik lees mee.")).to_have_count(1)
    after = await widget("#cjg-log .cjg-text").all_inner_texts()
    new = ["Ben je er nog? Ik lees mee.", "Hier lees je meer."]
    assert after == [*before, *new]  # nothing lost, nothing twice
    anchor = widget("a.cjg-link")  # a link only where the content made one
    await expect(anchor).to_have_attribute("href", "https://samenopgroeien.nu")
    await expect(anchor).to_have_attribute("target", "_blank")
    await expect(anchor).to_have_attribute("rel", "noopener noreferrer")
    await expect(widget("#cjg-log")).to_have_attribute("aria-live", "polite")
    box = await widget("#cjg-panel").bounding_box()
    assert box and box["width"] <= 320  # fits a 320 px screen ...
    assert await widget.page.evaluate("document.documentElement.scrollWidth") <= 320  # no sideways

    await other_instance.close(hid, EVA, {"topic": "anders"})
    rating = service_messages().get("rating_question")
    await expect(widget.said(rating[:30])).to_have_count(1, timeout=15000)
    await widget("button.cjg-button").filter(has_text="5").last.click()
    await expect(widget.said("Dank je wel")).to_have_count(1, timeout=15000)
    await redis.aclose()
