"""Routing as the staff live it: two colleagues of different teams online (the real service on
a real Redis, database 18; the console's API and websocket as the console uses them), and the
reason in the console's list in Chromium.

A Bloemendaal divorce chat is for the Bloemendaal colleague with the divorce profile first and
for everyone after the configured wait (short here); urgent chats are for everyone at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from common.handoff_payload import HandoffRequest
from common.names import Reason
from handoff.web_keys import HANDOFF
from staff.web_keys import ACCOUNTS
from tests.bot.test_web_chat import cid_of, issue
from tests.handoff.conftest import StaffService
from tests.handoff.test_web_staff import PASSWORD, Client
from tests.handoff.test_web_staff_ws import Event, next_event

DB = 18
WAIT = 2.0  # CJG_ROUTING_WAIT_SECONDS in this test


@pytest.fixture
async def client(staff_service: StaffService) -> AsyncIterator[Client]:
    client = await staff_service(DB, routing_wait_seconds=WAIT, sweep_interval_seconds=0.2)
    accounts = client.app[ACCOUNTS]
    for username, team, profiles in (
        ("bea", "bloemendaal", ("scheiding",)),
        ("hans", "haarlem", ("opvoedkunde",)),
    ):
        await accounts.add(username, username.title(), PASSWORD)
        await accounts.set_routing(username, team, profiles)
    yield client


class Console:
    """One colleague's browser session: logged in, with the live line open."""

    def __init__(self, client: Client, username: str) -> None:
        self.client, self.username = client, username
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def open(self) -> Console:
        url = str(self.client.make_url("/staff/api/login"))
        login = await self.session.post(url, json={"username": self.username, "password": PASSWORD})
        assert login.status == 200
        self.csrf = str((await login.json())["csrf"])
        self.ws = await self.session.ws_connect(str(self.client.make_url("/staff/api/ws")))
        await next_event(self.ws, lambda e: e.get("type") == "presence")  # its own arrival
        return self

    async def waiting(self) -> list[dict[str, Any]]:
        response = await self.session.get(str(self.client.make_url("/staff/api/queue")))
        assert response.status == 200
        return list((await response.json())["waiting"])

    async def routing(self, hid: str) -> dict[str, Any]:
        found = [w for w in await self.waiting() if w["hid"] == hid]
        assert found, f"{hid} is not in {self.username}'s list"
        return dict(found[0]["routing"])

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


async def parent_asks(client: Client, sender: str, urgent: bool = False) -> str:
    """A Bloemendaal parent asks for a colleague after the bot's divorce answer (what the
    conversation core does with the handoff request in Rasa's reply)."""
    await issue(client, sender)
    cid = cid_of(client, sender)
    context = {"municipality": "bloemendaal", "topic": "scheiding_vertellen", "user_type": "parent"}
    request = HandoffRequest(Reason.ASK_HUMAN, urgent=urgent, context=context)
    await client.app[HANDOFF].begin(cid, "api", request, [])
    hid = (await client.app[HANDOFF].conversation(cid)).hid
    assert hid is not None
    return hid


def queue_event(hid: str, routing: str | None = None) -> Any:
    def wanted(event: Event) -> bool:
        return (
            event.get("type") == "queue"
            and event.get("hid") == hid
            and (routing is None or event.get("routing") == routing)
        )

    return wanted


async def test_a_bloemendaal_divorce_chat_is_for_bea_first_and_for_everyone_after_the_wait(
    client: Client,
) -> None:
    bea, hans = await Console(client, "bea").open(), await Console(client, "hans").open()
    try:
        hid = await parent_asks(client, "p1")
        asked = time.monotonic()
        for console in (bea, hans):  # every console hears of it and fetches the queue
            await next_event(console.ws, queue_event(hid))

        mine = await bea.routing(hid)
        assert mine["for"] == "you" and mine["label"] == "Bloemendaal · Scheiding"
        theirs = await hans.routing(hid)
        assert theirs["for"] == "others" and theirs["opened"] is None
        assert theirs["label"] == "Bloemendaal · Scheiding"

        # After the wait the sweeper opens it: Hans's console hears it and it is his too.
        opened = await next_event(hans.ws, queue_event(hid, "waited"), timeout=WAIT + 10)
        assert time.monotonic() - asked >= WAIT - 0.2, "opened before the wait was over"
        assert opened["routing"] == "waited"
        theirs = await hans.routing(hid)
        assert theirs["for"] == "everyone" and theirs["opened"] == "waited"
        assert theirs["open_at"] is not None
        assert (await bea.routing(hid))["for"] == "you"  # still hers, now everyone's too

        # Urgent: everyone's at once, no head start.
        urgent = await parent_asks(client, "p2", urgent=True)
        await next_event(hans.ws, queue_event(urgent))
        now = await hans.routing(urgent)
        assert now["for"] == "everyone" and now["opened"] == "urgent"
        assert (await hans.waiting())[0]["hid"] == urgent  # at the front, for everyone
    finally:
        await bea.close()
        await hans.close()


async def test_a_chat_kept_for_a_colleague_comes_last_but_may_be_claimed(client: Client) -> None:
    bea, hans = await Console(client, "bea").open(), await Console(client, "hans").open()
    try:
        kept = await parent_asks(client, "p1")
        await issue(client, "p2")
        plain = HandoffRequest(Reason.ASK_HUMAN, context={"topic": "slapen"})  # no route: everyone
        await client.app[HANDOFF].begin(cid_of(client, "p2"), "api", plain, [])
        his = await hans.waiting()
        assert [w["hid"] for w in his][-1] == kept  # after the newer chat that is for him
        assert [w["position"] for w in his] == [2, 1]  # the one queue's places, unchanged
        assert [w["hid"] for w in await bea.waiting()] == [kept, his[0]["hid"]]  # queue order

        # A colleague may help out before the wait is over (routing orders and alerts).
        claim = await hans.session.post(
            str(client.make_url(f"/staff/api/handoffs/{kept}/claim")),
            headers={"X-CSRF-Token": hans.csrf},
        )
        assert claim.status == 200
    finally:
        await bea.close()
        await hans.close()


async def test_the_console_shows_why_a_chat_is_in_the_list(
    client: Client, browser: Browser
) -> None:
    pages = {}
    for username in ("bea", "hans"):
        page = await (await browser.new_context()).new_page()
        await page.goto(str(client.make_url("/staff")))
        await page.fill("#username", username)
        await page.fill("#password", PASSWORD)
        await page.click("#login-form button[type=submit]")
        await expect(page.locator("#console")).to_be_visible()
        pages[username] = page
    await asyncio.sleep(0.3)  # both live lines subscribed
    await parent_asks(client, "p1")
    bea_line = pages["bea"].locator("#queue .queue-item .routing")
    await expect(bea_line).to_have_text("Bloemendaal · Scheiding")
    hans_item = pages["hans"].locator("#queue .queue-item")
    await expect(hans_item).to_have_class("queue-item routing-others")
    await expect(hans_item.locator(".routing")).to_contain_text("Voor Bloemendaal · Scheiding")
    await expect(hans_item.locator(".routing")).to_have_text(
        "Bloemendaal · Scheiding · voor iedereen sinds 0 min", timeout=(WAIT + 10) * 1000
    )
    await expect(hans_item).not_to_have_class("queue-item routing-others")
    for page in pages.values():
        await page.context.close()
