"""End to end: a parent on /api/chat, a staff member in the console in Debian's Chromium.

Everything is real: Redis, the trained Rasa model, the action server, the messaging service as
its own process (restarted in the middle), and the browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Route, expect

from tests.api_client import ApiConversation
from tests.browser import Service, log_in, make_service
from tests.conftest import RasaStack, RedisServer

BROWSER_DB = 5
pytestmark = pytest.mark.rasa


@pytest.fixture
def service(redis_server: RedisServer, rasa_stack: RasaStack, tmp_path: Path) -> Iterator[Service]:
    service = make_service(redis_server, rasa_stack, tmp_path, BROWSER_DB)
    service.start()
    yield service
    service.stop()


class Parent:
    """The parent's side, through the plain chat API: send, and read the update feed."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.chat = ApiConversation(http, url)
        self.seen: list[str] = []

    async def say(self, text: str) -> list[dict[str, Any]]:
        return await self.chat.say(text)

    async def wait_for(self, fragment: str) -> dict[str, Any]:
        for _ in range(20):
            body = await self.chat.updates(wait=3)
            self.seen += [m["text"] for m in body["messages"]]
            if any(fragment in t for t in self.seen):
                return dict(body["handoff"])
        raise AssertionError(f"never saw {fragment!r}; saw {self.seen}")


async def test_parent_and_staff_talk_and_a_restart_loses_nothing(
    service: Service, browser: Browser
) -> None:
    page = await (await browser.new_context()).new_page()
    await log_in(page, service.url)
    colleague = await (await browser.new_context()).new_page()  # own cookies: another person
    await log_in(colleague, service.url, "bram")

    # a new connection per request, like a browser after the server restarted
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        parent = Parent(http, service.url)
        await parent.say("hallo")
        replies = await parent.say("ik wil graag een medewerker spreken")
        texts = " ".join(str(r.get("text", "")) for r in replies)
        assert "leest eerst dit gesprek terug" in texts  # told before the handoff happens
        assert "nummer 1" in texts
        waiting = await parent.say("ben je er al?")
        assert "nummer 1" in str(waiting[0]["text"])  # not answered by the bot

        service.stop()  # a restart in the middle of a waiting conversation
        service.start()
        assert await parent.say("ik wacht nog even") != []

        item = page.locator("#queue .queue-item")
        await expect(item).to_have_count(1, timeout=15000)
        await expect(page.locator("#queue-badge")).to_have_text("1")
        await expect(colleague.locator("#queue .queue-item")).to_have_count(1, timeout=15000)
        await item.locator("button.claim").click()
        # the colleague's console moves it from the queue to "Collega's" without a reload: by
        # the socket, or, while it is still in its reconnect backoff after the restart (up to
        # 10 s), by the refresh it does when it is back
        await expect(colleague.locator("#queue .queue-item")).to_have_count(0, timeout=15000)
        await expect(colleague.locator("#others .conversation-item")).to_have_count(1)
        await expect(page.locator("#summary")).to_contain_text("Vroeg zelf om een medewerker")
        transcript = page.locator("#transcript .entry .text")
        await expect(transcript.filter(has_text="ik wacht nog even")).to_have_count(1)
        all_texts = await transcript.all_inner_texts()
        order = [all_texts.index(t) for t in ("hallo", "ben je er al?", "ik wacht nog even")]
        assert order == sorted(order)  # in the order the parent wrote them

        state = await parent.wait_for("Eva van het CJG is er nu")
        assert state["state"] == "with_staff"

        await page.fill("#reply", "Hoi, ik ben Eva. <b>Waar</b> kan ik mee helpen?")
        await page.click("#send")
        await parent.wait_for("Hoi, ik ben Eva. <b>Waar</b> kan ik mee helpen?")

        # The answer to a reply is lost (a proxy restarting): the server kept the reply, the
        # console says it failed and keeps the text; sent again, it reaches the parent once.
        async def lost_answer(route: Route) -> None:
            await route.fetch()  # the service gets the reply and keeps it
            await route.abort("connectionreset")

        lost = "Ik kijk even met je mee."
        await page.route("**/messages", lost_answer)
        await page.fill("#reply", lost)
        await page.click("#send")
        await expect(page.locator("#status-line")).to_contain_text("Geen verbinding")
        await expect(page.locator("#reply")).to_have_value(lost)
        await page.unroute("**/messages", lost_answer)
        await page.click("#send")
        await expect(page.locator("#reply")).to_have_value("")
        await expect(transcript.filter(has_text=lost)).to_have_count(1)
        await parent.wait_for(lost)
        parent.seen += [m["text"] for m in (await parent.chat.updates(wait=2))["messages"]]
        assert parent.seen.count(lost) == 1, parent.seen
        queue = await page.evaluate("fetch('/staff/api/queue').then(r => r.json())")
        (mine,) = queue["active"]
        kept = await page.evaluate(
            f"fetch('/staff/api/handoffs/{mine['hid']}').then(r => r.json())"
        )
        assert [e["text"] for e in kept["transcript"]].count(lost) == 1

        await parent.say("mijn zoon van 6 plast nog in bed")
        await expect(transcript.filter(has_text="plast nog in bed")).to_have_count(1)
        await expect(page.locator("#transcript b")).to_have_count(0)  # text, never markup

        await page.select_option("#close-topic", "opvoeden_school")
        await page.select_option("#close-outcome", "advies")
        await page.select_option("#close-asker", "parent")  # optional: who asked
        await page.click("#close-submit")
        await parent.wait_for("Hoe tevreden ben je")
        history = await page.evaluate("fetch('/staff/api/history').then(r => r.json())")
        assert history["closed"][0]["registration"] == {
            "topic": "opvoeden_school",
            "outcome": "advies",
            "asker": "parent",
        }
        thanks = await parent.say("/cjg_rating_5")
        assert "Dank je wel" in str(thanks[0]["text"])
        back = await parent.say("hallo")
        assert "CJG" in str(back[0]["text"])  # the bot answers again
