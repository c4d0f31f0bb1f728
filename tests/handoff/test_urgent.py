"""Floods on the safety path: crisis phrases from many senders cannot bury real urgent chats.

A real service (aiohttp's test client, a real Redis) with a staff member online; no Rasa is
needed, as the phrase check answers before it (the history Rasa would add is just missing).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse
from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request

from bot import Settings, create_app
from bot.app_keys import CORE, REDIS
from bot.conversation import Incoming
from common.handoff_payload import HandoffRequest
from common.names import Reason
from handoff.service import HandoffService
from handoff.store import Handoff
from handoff.web_keys import HANDOFF
from staff import events
from staff.web_keys import ACCOUNTS
from tests.bot.conftest import ClientFactory
from tests.conftest import RedisServer, free_port
from tests.handoff.conftest import ALWAYS, content_copy
from tests.redis_db import fresh_db

Client = TestClient[Request, Application]
FLOOD_DB = 7  # the flood tests' own database, flushed before each test
PASSWORD = "een-lang-wachtwoord-123"
CRISIS = "ik denk aan zelfmoord"


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory,
    redis_server: RedisServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Client]:
    monkeypatch.setenv("CJG_CONTENT_DIR", str(content_copy(tmp_path, ALWAYS)))
    async with fresh_db(redis_server, FLOOD_DB):
        pass  # emptied
    settings = Settings(
        redis_url=redis_server.url(FLOOD_DB),
        rasa_url=f"http://127.0.0.1:{free_port()}",  # the phrase check answers before Rasa
        rasa_token="t" * 32,
        pseudonym_secret="s" * 32,
        urgent_per_sender=(1, 1800),  # the defaults, spelled out
        urgent_per_address=(3, 600),
        urgent_per_service=(20, 600),
    )
    client = await aiohttp_client(create_app(settings))
    await client.app[ACCOUNTS].add("anne", "Anne", PASSWORD)
    yield client


async def post(client: Client, sender: str, text: str, address: str) -> list[dict[str, Any]]:
    """One user message from one client address, as a channel hands it to the service."""
    replies = await client.app[CORE].handle(Incoming("api", sender, text, address=address))
    return [dict(reply) for reply in replies]


def has_card(replies: list[dict[str, Any]]) -> bool:
    custom = replies[0].get("custom")
    return isinstance(custom, dict) and "contacts" in custom.get("crisis", {})


async def login(client: Client) -> str:
    response = await client.post(
        "/staff/api/login", json={"username": "anne", "password": PASSWORD}
    )
    assert response.status == 200
    return str((await response.json())["csrf"])


async def start_normal_handoff(client: Client, sender: str) -> str:
    """What the conversation core does when Rasa's reply asks for a person."""
    service: HandoffService = client.app[HANDOFF]
    cid = client.app[CORE].conversation_id("api", sender)
    await service.begin(cid, "api", HandoffRequest(Reason.ASK_HUMAN), [])
    conv = await service.conversation(cid)
    assert conv.hid is not None
    return conv.hid


async def hid_of(client: Client, sender: str) -> str:
    conv = await client.app[HANDOFF].conversation(client.app[CORE].conversation_id("api", sender))
    assert conv.hid is not None
    return conv.hid


async def listening(client: Client, ws: ClientWebSocketResponse) -> None:
    """Waits until the console's socket hears the service's events (it subscribes after the
    handshake)."""
    for _ in range(100):
        await events.publish(client.app[REDIS], "probe")
        with contextlib.suppress(TimeoutError):
            while json.loads((await ws.receive(timeout=0.1)).data)["type"] != "probe":
                pass
            return
    raise AssertionError("the console socket never subscribed")


async def events_until(ws: ClientWebSocketResponse, done: Any) -> list[dict[str, Any]]:
    """Console events until ``done(event)``; fails after 10 s of silence."""
    seen: list[dict[str, Any]] = []
    while not seen or not done(seen[-1]):
        seen.append(json.loads((await ws.receive(timeout=10)).data))
    return seen


async def queue(client: Client) -> list[Handoff]:
    return await client.app[HANDOFF].queue()


async def test_130_crisis_messages_from_130_senders_keep_the_queue_usable(client: Client) -> None:
    csrf = await login(client)
    async with client.ws_connect("/staff/api/ws") as ws:
        await listening(client, ws)
        normal = await start_normal_handoff(client, "parent-before")

        for i in range(130):  # a script behind five addresses
            replies = await post(client, f"flood-{i}", CRISIS, f"203.0.113.{i % 5}")
            assert has_card(replies), f"sender {i} got no crisis card"

        waiting = await queue(client)
        urgent = [h for h in waiting if h.urgent]
        assert len(urgent) == 5 * 3  # three per address, within the service's 20
        assert len(waiting) == 131  # nobody's message was dropped: the rest wait as normal
        limited = [h for h in waiting if not h.urgent and h.reason == "safety"]
        assert len(limited) == 115 and all(h.safety for h in limited)  # labelled for staff
        notice = await events_until(
            ws, lambda e: e["type"] == "urgent_limited" and e["count"] == 115
        )
        text = notice[-1]["text"]
        assert text.startswith("Veel crisismeldingen tegelijk: 115 meldingen niet als urgent")

        # A normal handoff can still be started and claimed.
        later = await start_normal_handoff(client, "parent-after")
        claim = await client.post(
            f"/staff/api/handoffs/{later}/claim", headers={"X-CSRF-Token": csrf}
        )
        assert claim.status == 200
        assert (await client.post(f"/staff/api/handoffs/{normal}/claim",
                                  headers={"X-CSRF-Token": csrf})).status == 200  # fmt: skip

        # A real cry for help from a fresh sender and address is urgent, ahead of every
        # normal item, and staff hear the alarm.
        replies = await post(client, "real-child", CRISIS, "198.51.100.23")
        assert has_card(replies)
        assert "vooraan in de wachtrij" in str(replies[1]["text"])
        real = await hid_of(client, "real-child")
        order = [h.hid for h in await queue(client)]
        assert order.index(real) == len(urgent)  # right behind the urgent ones before it
        alarm = await events_until(ws, lambda e: e.get("hid") == real and e["type"] == "queue")
        assert alarm[-1]["urgent"] is True


async def test_past_a_limit_the_user_is_told_honestly_and_the_service_limit_holds(
    client: Client,
) -> None:
    await login(client)
    async with client.ws_connect("/staff/api/ws") as ws:
        await listening(client, ws)
        for i in range(25):  # every one from its own address
            await post(client, f"spread-{i}", CRISIS, f"192.0.2.{i}")
        waiting = await queue(client)
        assert sum(h.urgent for h in waiting) == 20
        replies = await post(client, "spread-last", CRISIS, "192.0.2.200")
        assert has_card(replies)
        busy = str(replies[1]["text"])
        assert "vooraan" not in busy and "erg druk" in busy  # no promise it cannot keep
        assert replies[1]["custom"] == {"crisis": {"cjg_open": True, "urgent": False}}
        notice = await events_until(ws, lambda e: e["type"] == "urgent_limited" and e["count"] == 6)
        assert notice[-1]["limit"] == "service"


async def test_one_sender_opens_one_urgent_handoff_per_window(client: Client) -> None:
    await login(client)
    async with client.ws_connect("/staff/api/ws"):
        first = await post(client, "again", CRISIS, "192.0.2.1")
        assert "vooraan" in str(first[1]["text"])
        await post(client, "again", "/cjg_cancel", "192.0.2.1")  # stops waiting ...
        assert await queue(client) == []
        second = await post(client, "again", CRISIS, "192.0.2.1")  # ... and starts over
        assert has_card(second)
        (waiting,) = await queue(client)
        assert not waiting.urgent and waiting.safety  # a normal place, labelled


async def test_a_repeat_inside_an_urgent_handoff_raises_no_new_alarm(client: Client) -> None:
    await login(client)
    async with client.ws_connect("/staff/api/ws") as ws:
        await listening(client, ws)
        await post(client, "repeat", CRISIS, "192.0.2.9")
        hid = await hid_of(client, "repeat")
        await events_until(ws, lambda e: e["type"] == "queue" and e.get("hid") == hid)
        await ws.send_json({"type": "watch", "hid": hid})  # text goes to the console that watches
        for _ in range(3):
            replies = await post(client, "repeat", "ik wil dood, echt", "192.0.2.9")
            assert has_card(replies)
        await post(client, "repeat", "hallo?", "192.0.2.9")  # a plain message ends the burst
        seen = await events_until(ws, lambda e: e["type"] == "message" and "hallo" in str(e))
        assert not [e for e in seen if e["type"] in ("safety", "queue", "urgent_limited")]
        assert len([e for e in seen if e["type"] == "message"]) == 4  # every word reaches staff
        (waiting,) = await queue(client)
        assert waiting.urgent
