"""The console's live line (handoff/web_staff_ws.py) against a real redis-server.

It must survive a killed subscription and a Redis restart (and tell the console to reload what
it shows), end with the login behind it, and carry chat text only to who may read it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType
from playwright.async_api import Browser, Page, expect

from bot import Settings, create_app
from bot.app_keys import REDIS
from handoff.web_keys import AUDIT, HANDOFF
from handoff.web_staff_ws import LOGGED_OUT
from staff.accounts import Role
from staff.web_keys import ACCOUNTS
from tests.bot.conftest import ClientFactory
from tests.bot.test_web_chat import as_user
from tests.conftest import RedisServer, free_port
from tests.handoff.conftest import ALWAYS, TEST_DB, content_copy
from tests.handoff.test_web_staff import PASSWORD, Client, login, start_handoff

Event = dict[str, Any]
LOGGED_OUT_TEXT = "Je bent uitgelogd. Log opnieuw in."


async def next_event(
    ws: aiohttp.ClientWebSocketResponse, wanted: Callable[[Event], bool], timeout: float = 15
) -> Event:
    """The first event that ``wanted`` accepts; others are skipped."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, "the event did not come"
        msg = await ws.receive(timeout=left)
        assert msg.type == WSMsgType.TEXT, f"the socket ended: {msg.type} {msg.data}"
        event = json.loads(msg.data)
        if wanted(event):
            return dict(event)


async def closed_with(ws: aiohttp.ClientWebSocketResponse, timeout: float = 15) -> list[Event]:
    """Reads until the socket closes; returns what came before."""
    seen: list[Event] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, "the socket stayed open"
        msg = await ws.receive(timeout=left)
        if msg.type == WSMsgType.TEXT:
            seen.append(json.loads(msg.data))
            continue
        assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED)
        return seen


def kind(name: str) -> Callable[[Event], bool]:
    return lambda event: event.get("type") == name


async def user_writes(client: Client, sender: str, text: str) -> None:
    """A message of the user whose conversation start_handoff began (it holds its token)."""
    headers = as_user(client, sender)
    assert headers, f"{sender} has no conversation yet"
    response = await client.post("/api/chat", json={"message": text}, headers=headers)
    assert response.status == 200


# --- item 1: the feed survives Redis -------------------------------------------------------


async def test_the_feed_survives_a_killed_pubsub_connection(client: Client) -> None:
    await login(client)
    async with client.ws_connect("/staff/api/ws") as ws:
        await next_event(ws, kind("presence"))  # subscribed: its own arrival came through
        killed = await client.app[REDIS].client_kill_filter(_type="pubsub")
        assert killed >= 1
        resync = await next_event(ws, kind("resync"))
        assert resync["message"]  # the console says the queue was reloaded
        hid = await start_handoff(client, "p1")
        queued = await next_event(ws, kind("queue"))
        assert queued["hid"] == hid


async def app_client(
    aiohttp_client: ClientFactory, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Client:
    """The whole service on ``redis_url`` (emptied), with staff member anne."""
    monkeypatch.setenv("CJG_CONTENT_DIR", str(content_copy(tmp_path, ALWAYS)))
    settings = Settings(
        redis_url=redis_url,
        rasa_url=f"http://127.0.0.1:{free_port()}",  # not needed here
        rasa_token="t" * 32,
        pseudonym_secret="s" * 32,
    )
    client = await aiohttp_client(create_app(settings))
    await client.app[REDIS].flushdb()
    await client.app[ACCOUNTS].add("anne", "Anne", PASSWORD)
    return client


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory,
    redis_server: RedisServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Client:
    url = redis_server.url(TEST_DB)
    return await app_client(aiohttp_client, url, tmp_path, monkeypatch)


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A private redis-server, so stopping it does not disturb the other tests."""
    server = RedisServer(tmp_path / "redis")
    server.directory.mkdir()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def own_client(
    aiohttp_client: ClientFactory,
    own_redis: RedisServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Client:
    return await app_client(aiohttp_client, own_redis.url(), tmp_path, monkeypatch)


async def test_the_feed_survives_a_redis_restart(
    own_client: Client, own_redis: RedisServer
) -> None:
    client = own_client
    await login(client)
    async with client.ws_connect("/staff/api/ws") as ws:
        await next_event(ws, kind("presence"))
        await asyncio.to_thread(own_redis.stop)
        lost = await next_event(ws, kind("feed"), timeout=30)
        assert lost["status"] == "lost" and lost["message"]
        await asyncio.to_thread(own_redis.start)  # same port and data directory
        await next_event(ws, kind("resync"), timeout=30)
        hid = await start_handoff(client, "p1")
        queued = await next_event(ws, kind("queue"))
        assert queued["hid"] == hid


# --- item 2: the line ends with the login --------------------------------------------------


async def watch_claimed_chat(client: Client, ws: aiohttp.ClientWebSocketResponse) -> str:
    """Anne claims a chat and opens it in her console."""
    hid = await start_handoff(client, "p1")
    csrf = (await (await client.get("/staff/api/me")).json())["csrf"]
    claim = await client.post(f"/staff/api/handoffs/{hid}/claim", headers={"X-CSRF-Token": csrf})
    assert claim.status == 200
    await ws.send_json({"type": "watch", "hid": hid})
    await user_writes(client, "p1", "Hallo, ik ben er")
    event = await next_event(ws, kind("message"))
    assert event["entry"]["text"] == "Hallo, ik ben er"  # allowed: she has it and it is open
    return hid


async def test_logout_closes_the_line_before_any_more_chat_text(client: Client) -> None:
    csrf = await login(client)
    async with client.ws_connect("/staff/api/ws") as ws:
        await watch_claimed_chat(client, ws)
        logout = await client.post("/staff/api/logout", headers={"X-CSRF-Token": csrf})
        assert logout.status == 200
        await user_writes(client, "p1", "Dit mag niemand meer lezen")
        seen = await closed_with(ws)
        assert ws.close_code == LOGGED_OUT
        assert "Dit mag niemand meer lezen" not in json.dumps(seen)
    assert not await client.app[HANDOFF].is_connected("anne")


async def test_an_expired_session_closes_the_line_with_a_dutch_reason(client: Client) -> None:
    await login(client)
    async with client.ws_connect("/staff/api/ws") as ws:
        await next_event(ws, kind("presence"))
        redis = client.app[REDIS]
        for name in await redis.keys("cjg:staff:session:*"):
            await redis.delete(name)  # what the key's time limit does
        await ws.send_json({"type": "ping"})
        msg = await ws.receive(timeout=15)
        while msg.type == WSMsgType.TEXT:
            msg = await ws.receive(timeout=15)
        assert msg.type == WSMsgType.CLOSE
        assert msg.data == LOGGED_OUT and msg.extra == LOGGED_OUT_TEXT
    assert not await client.app[HANDOFF].is_connected("anne")


async def test_a_removed_account_loses_its_line_without_pinging(client: Client) -> None:
    await login(client)
    async with client.ws_connect("/staff/api/ws") as ws:
        await next_event(ws, kind("presence"))
        assert await client.app[ACCOUNTS].remove("anne")
        await closed_with(ws)  # the server checks by itself, not only on the console's ping
        assert ws.close_code == LOGGED_OUT
    assert not await client.app[HANDOFF].is_connected("anne")


# --- item 3: chat text only for who may read it, and audited -------------------------------


async def console(
    client: Client, username: str, role: Role = "staff"
) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse, str]:
    """Another person's browser: a session of its own, logged in, with its live line open."""
    if await client.app[ACCOUNTS].get(username) is None:
        await client.app[ACCOUNTS].add(username, username.title(), PASSWORD, role)
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    response = await session.post(
        str(client.make_url("/staff/api/login")), json={"username": username, "password": PASSWORD}
    )
    assert response.status == 200
    csrf = str((await response.json())["csrf"])
    ws = await session.ws_connect(str(client.make_url("/staff/api/ws")))
    return session, ws, csrf


async def test_chat_text_goes_only_to_the_claimer_and_admins_who_watch_it(client: Client) -> None:
    csrf = await login(client)
    hid = await start_handoff(client, "p1")
    claim = await client.post(f"/staff/api/handoffs/{hid}/claim", headers={"X-CSRF-Token": csrf})
    assert claim.status == 200
    bram = await console(client, "bram")  # a colleague who tries to read along
    carla = await console(client, "carla", "admin")  # supervision
    dirk = await console(client, "dirk")  # has another conversation open, or none
    try:
        async with client.ws_connect("/staff/api/ws") as anne:
            for ws in (anne, bram[1], carla[1]):
                await ws.send_json({"type": "watch", "hid": hid})
            await asyncio.sleep(0.3)  # the watch messages are read before the chat goes on
            await user_writes(client, "p1", "Mijn zoon van 9 slaapt slecht")

            def message(event: Event) -> bool:
                return event.get("type") == "message" and event.get("hid") == hid

            got = {
                name: await next_event(ws, message)
                for name, ws in (("anne", anne), ("bram", bram[1]), ("carla", carla[1]))
            }
            got["dirk"] = await next_event(dirk[1], message)
            assert got["anne"]["entry"]["text"] == "Mijn zoon van 9 slaapt slecht"
            assert got["carla"]["entry"]["text"] == "Mijn zoon van 9 slaapt slecht"
            assert got["bram"] == {"type": "message", "hid": hid}  # that it moved, not what
            assert got["dirk"] == {"type": "message", "hid": hid}

            # the API follows the same rule: the colleague sees with whom, not what is said
            detail = await bram[0].get(str(client.make_url(f"/staff/api/handoffs/{hid}")))
            body = await detail.json()
            assert body["staff"] == "anne" and body["transcript"] == [] and not body["readable"]

        entries = await client.app[AUDIT].read()
        received = {(e["staff"], e["hid"]) for e in entries if e["action"] == "received"}
        assert received == {("anne", hid), ("carla", hid)}
        assert "slaapt" not in json.dumps(entries)  # who read what, never the text
    finally:
        for session, ws, _ in (bram, carla, dirk):
            await ws.close()
            await session.close()


async def test_a_waiting_chat_is_readable_by_the_team_when_opened(client: Client) -> None:
    await login(client)
    hid = await start_handoff(client, "p1")
    async with client.ws_connect("/staff/api/ws") as ws:
        await ws.send_json({"type": "watch", "hid": hid})
        await asyncio.sleep(0.3)
        await user_writes(client, "p1", "Is er al iemand?")
        event = await next_event(ws, kind("message"))
        assert event["entry"]["text"] == "Is er al iemand?"
        await ws.send_json({"type": "watch", "hid": None})  # the panel is closed
        await asyncio.sleep(0.3)
        await user_writes(client, "p1", "Hallo?")
        event = await next_event(ws, kind("message"))
        assert "entry" not in event


# --- the console in Debian's Chromium ------------------------------------------------------


async def console_page(browser: Browser, client: Client) -> Page:
    page = await (await browser.new_context()).new_page()
    await page.goto(str(client.make_url("/staff")))
    await page.fill("#username", "anne")
    await page.fill("#password", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#console")).to_be_visible()
    return page


async def test_the_console_says_when_its_login_ended(client: Client, browser: Browser) -> None:
    page = await console_page(browser, client)
    await expect(page.locator("#presence")).to_be_visible()
    await asyncio.sleep(1)  # the live line is open
    redis = client.app[REDIS]
    for name in await redis.keys("cjg:staff:session:*"):
        await redis.delete(name)  # expired, or logged out in another tab
    await expect(page.locator("#login-form")).to_be_visible(timeout=15000)
    await expect(page.locator("#login-error")).to_have_text(LOGGED_OUT_TEXT)
    await expect(page.locator("#console")).to_be_hidden()


async def test_the_console_shows_a_lost_feed_and_reloads_when_it_is_back(
    own_client: Client, own_redis: RedisServer, browser: Browser
) -> None:
    client = own_client
    page = await console_page(browser, client)
    await asyncio.sleep(1)  # the live line is open
    await asyncio.to_thread(own_redis.stop)
    status = page.locator("#status-line")
    await expect(status).to_contain_text("live-updates zijn even weg", timeout=30000)
    await asyncio.to_thread(own_redis.start)
    await expect(status).to_contain_text("Live-updates hersteld", timeout=30000)
    await start_handoff(client, "p1")
    await expect(page.locator("#queue .queue-item")).to_have_count(1, timeout=15000)


async def test_the_console_gets_the_text_of_the_chat_it_opened(
    client: Client, browser: Browser
) -> None:
    page = await console_page(browser, client)
    hid = await start_handoff(client, "p1")
    item = page.locator("#queue .queue-item")
    await expect(item).to_have_count(1, timeout=15000)
    await item.locator("button.claim").click()  # claiming opens the conversation
    await expect(page.locator("#conversation")).to_be_visible()
    await user_writes(client, "p1", "Mijn dochter wil niet naar school")
    transcript = page.locator("#transcript .entry .text")
    await expect(transcript.filter(has_text="niet naar school")).to_have_count(1, timeout=15000)
    entries = await client.app[AUDIT].read()
    assert {"staff": "anne", "action": "received", "hid": hid}.items() <= next(
        e for e in entries if e["action"] == "received"
    ).items()


async def test_after_a_transfer_only_the_new_colleague_reads_on(client: Client) -> None:
    csrf = await login(client)
    hid = await start_handoff(client, "p1")
    await client.post(f"/staff/api/handoffs/{hid}/claim", headers={"X-CSRF-Token": csrf})
    bram = await console(client, "bram")
    try:
        async with client.ws_connect("/staff/api/ws") as anne:
            for ws in (anne, bram[1]):
                await ws.send_json({"type": "watch", "hid": hid})
            moved = await client.post(
                f"/staff/api/handoffs/{hid}/transfer",
                json={"to": "bram"},
                headers={"X-CSRF-Token": csrf},
            )
            assert moved.status == 200
            await user_writes(client, "p1", "Ben je er nog?")

            def message(event: Event) -> bool:
                return event.get("type") == "message" and event.get("hid") == hid

            assert (await next_event(bram[1], message))["entry"]["text"] == "Ben je er nog?"
            assert await next_event(anne, message) == {"type": "message", "hid": hid}
    finally:
        await bram[1].close()
        await bram[0].close()
