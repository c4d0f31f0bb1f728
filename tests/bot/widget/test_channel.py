"""The widget's Socket.IO channel with a standard python-socketio client, the real Rasa stack
and Redis: Rasa's socketio events, acknowledgements, reconnects, handoff news and erasing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from aiohttp.web import Application

from bot import Settings, create_app
from bot.app_keys import CORE, DELIVERY, REDIS, WIDGET
from bot.widget.channel import CHANNEL
from common.content import service_messages
from handoff import keys
from handoff.web_keys import HANDOFF
from staff.accounts import Account, AccountError, Accounts
from tests.bot.widget.socket_client import RasaSocketClient
from tests.handoff.conftest import ALWAYS, content_copy

ServerFactory = Callable[[Application], Awaitable[TestServer]]
ANNE = Account("anne", "Anne", "staff")


@pytest.fixture
async def servers(
    aiohttp_server: ServerFactory,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> list[TestServer]:
    """Two service instances on one Redis, as behind a load balancer."""
    monkeypatch.setenv("CJG_CONTENT_DIR", str(content_copy(tmp_path, ALWAYS)))
    return [await aiohttp_server(create_app(settings)) for _ in range(2)]


@pytest.fixture
async def clients(servers: list[TestServer]) -> AsyncIterator[Callable[[int], RasaSocketClient]]:
    made: list[RasaSocketClient] = []

    def make(instance: int = 0) -> RasaSocketClient:
        made.append(RasaSocketClient(str(servers[instance].make_url("/"))))
        return made[-1]

    yield make
    for client in made:
        if client.sio.connected:
            await client.close()


async def answer(client: RasaSocketClient, text: object) -> list[dict[str, Any]]:
    """Everything the bot says to one message (it may send several)."""
    await client.say(text)
    replies = [await client.next("bot_uttered")]
    while not await client.quiet(seconds=0.8):
        replies.extend(client.drain("bot_uttered"))
    return replies


# What Rasa 3.6's socketio channel sends (rasa/core/channels/socketio.py): a client that did
# not opt in to the extensions gets these shapes and nothing else.
RASA_SHAPES = ({"text"}, {"text", "quick_replies"}, {"text", "buttons"}, {"attachment"})


def rasa_shaped(message: dict[str, Any]) -> bool:
    if set(message) not in RASA_SHAPES:
        return False
    replies = message.get("quick_replies", message.get("buttons", []))
    return all(
        (set(r) == {"content_type", "title", "payload"} and r["content_type"] == "text")
        or (set(r) == {"type", "title", "url"} and r["type"] == "web_url")
        for r in replies
    )


async def test_a_plain_rasa_client_gets_exactly_rasas_shapes(
    clients: Callable[[int], RasaSocketClient],
) -> None:
    """rasa-webchat shows a message only when it has exactly Rasa's keys."""
    client = clients(0)
    session = await client.connect(session_id=None, last_id=None)  # no last_id: not opted in
    assert len(session) == 32 and int(session, 16) >= 0

    welcome = await answer(client, "/greet")
    assert all(rasa_shaped(m) for m in welcome), welcome
    assert "CJG" in welcome[0]["text"]
    assert len(welcome) > 1  # split at blank lines, as Rasa does ...
    assert all(m["quick_replies"] == [] for m in welcome[:-1])  # ... buttons on the last part
    buttons = welcome[-1]["quick_replies"]
    assert buttons and all(q["content_type"] == "text" for q in buttons)

    offers = await answer(client, "/zoek_aanbod")  # offers: link buttons
    assert all(rasa_shaped(m) for m in offers), offers
    links = [b for m in offers for b in m.get("buttons", [])]
    offer_links = [b for b in links if not b["title"].startswith("Al het aanbod")]
    assert offer_links and all(b["url"].startswith("http") for b in links)
    assert all("/go/" in b["url"] for b in offer_links)  # counted per offer; the overview is not

    question = await answer(client, "mijn peuter van 3 wil niet slapen")
    assert all(rasa_shaped(m) for m in question) and len(question[0]["text"]) > 40
    for event in ("cjg_status", "cjg_typing", "cjg_forgotten"):  # no extension events at all
        assert client.drain(event) == [], event


async def test_the_widget_opts_in_and_keeps_its_extensions(
    clients: Callable[[int], RasaSocketClient],
) -> None:
    client = clients(0)
    await client.connect(session_id=None, last_id="0")  # the widget's handshake
    assert (await client.next("cjg_status"))["state"] == "bot"
    welcome = await answer(client, "/greet")
    assert len(welcome) == 1  # one message, unsplit, with its id and time
    assert welcome[0]["id"] and welcome[0]["at"] > 0 and "\n\n" in welcome[0]["text"]
    buttons = welcome[0]["quick_replies"]
    assert buttons and all(q["content_type"] == "text" for q in buttons)
    assert await client.next("cjg_typing") == {"who": "bot", "typing": True}


async def test_session_ids_the_server_did_not_issue_are_replaced(
    clients: Callable[[int], RasaSocketClient],
) -> None:
    client = clients(0)
    assert await client.connect(session_id="1234") != "1234"
    other = clients(0)
    chosen = "a" * 32  # the server's own format, but never issued
    issued = await other.connect(session_id=chosen)
    assert issued != chosen and len(issued) == 32
    again = clients(1)
    assert await again.connect(session_id=issued) == issued  # an issued one is resumed


async def test_user_uttered_never_adopts_a_session_id_it_was_not_given(
    servers: list[TestServer], clients: Callable[[int], RasaSocketClient]
) -> None:
    """A Rasa client that skips session_request may name only an issued session."""
    app = servers[0].app
    owner = clients(0)
    session = await owner.connect()
    await answer(owner, "/greet")

    stranger = clients(0)
    await stranger.sio.connect(stranger.url, socketio_path="socket.io", transports=["websocket"])
    chosen = "b" * 32
    await stranger.sio.emit("user_uttered", {"message": "/cjg_end", "session_id": chosen})
    reply = await stranger.next("bot_uttered")
    assert reply == {"text": service_messages().get("no_session")}  # Rasa's shape: no handshake
    assert stranger.drain("session_confirm") == []
    chosen_cid = app[CORE].conversation_id(CHANNEL, chosen)
    assert not await app[REDIS].exists(keys.conversation(chosen_cid), keys.outbox(chosen_cid))
    assert not await app[REDIS].exists(f"rasa:tracker:{chosen_cid}")

    # An issued id still works without a handshake (Rasa clients do that), and only that one.
    await stranger.sio.emit("user_uttered", {"message": "/greet", "session_id": session})
    assert await stranger.next("session_confirm") == session


async def test_an_erased_session_cannot_be_resumed(
    servers: list[TestServer], clients: Callable[[int], RasaSocketClient]
) -> None:
    tab = clients(0)
    session = await tab.connect()
    await answer(tab, "/greet")
    assert await tab.sio.call("cjg_forget", {"session_id": session}, timeout=20) is True
    later = clients(1)
    assert await later.connect(session_id=session) != session


async def test_bad_input_gets_friendly_dutch_and_the_socket_lives_on(
    clients: Callable[[int], RasaSocketClient], settings: Settings
) -> None:
    client = clients(0)
    await client.connect()
    for bad, code in (
        (b"\x00\xff binary", "invalid_request"),
        (None, "invalid_request"),
        ({"html": "<b>"}, "invalid_request"),
        ("   ", "empty_message"),
        ("x" * (settings.max_message_chars + 1), "message_too_long"),
        ("y" * (settings.max_message_chars * 3), "message_too_long"),
    ):
        (reply,) = await answer(client, bad)
        assert reply["custom"]["service"] == code
        assert reply["text"] and "error" not in reply["text"].lower()
    await client.sio.emit("user_uttered", "not even an object")
    assert (await client.next("bot_uttered"))["custom"]["service"] == "invalid_request"
    assert (await answer(client, "hallo"))[0]["text"]  # still connected and answering


async def test_a_reconnect_loses_nothing_and_repeats_nothing(
    servers: list[TestServer], clients: Callable[[int], RasaSocketClient]
) -> None:
    app = servers[0].app
    first = clients(0)
    session = await first.connect()
    seen = await answer(first, "/greet")
    last_id = seen[-1]["id"]
    cid = app[CORE].conversation_id(CHANNEL, session)
    await asyncio.sleep(0.3)
    assert await app[REDIS].xlen(keys.outbox(cid)) == 0  # acknowledged messages are dropped
    await first.close()

    outbox = app[DELIVERY].outbox
    missed = [await outbox.push(cid, {"text": f"gemist {n}"}) for n in range(3)]
    again = clients(1)  # back on the other instance, as after a load balancer switch
    assert await again.connect(session_id=session, last_id=last_id) == session
    replayed = await again.replies(3)
    assert [m["text"] for m in replayed] == ["gemist 0", "gemist 1", "gemist 2"]
    assert [m["id"] for m in replayed] == missed
    assert await again.quiet()

    # A client that reconnects with an older id gets the unacknowledged rest only once.
    live = await outbox.push(cid, {"text": "live"})
    assert (await again.next("bot_uttered"))["id"] == live
    assert await again.quiet()


async def test_handoff_news_reaches_the_socket_on_another_instance(
    servers: list[TestServer], clients: Callable[[int], RasaSocketClient]
) -> None:
    app_a, app_b = servers[0].app, servers[1].app
    client = clients(0)
    session = await client.connect()
    await client.next("cjg_status")
    with contextlib.suppress(AccountError):  # the account may be there from another test
        await Accounts(app_b[REDIS]).add("anne", "Anne", "een lang wachtwoord 123")
    await app_b[HANDOFF].heartbeat("anne")
    queued = await answer(client, "/ask_human")
    assert any((m.get("custom") or {}).get("handoff", {}).get("event") == "queue" for m in queued)
    waiting = await client.next("cjg_status")
    assert waiting["state"] == "waiting" and waiting["position"] >= 1

    cid = app_a[CORE].conversation_id(CHANNEL, session)
    staff_side = app_b[HANDOFF]  # the staff member's console talks to instance B
    hid = (await staff_side.conversation(cid)).hid
    assert hid and await staff_side.claim(hid, ANNE)
    joined = await client.next("bot_uttered")
    assert joined["custom"]["handoff"] == {"event": "staff_joined", "staff": "Anne"}
    status = await client.next("cjg_status")
    assert status["state"] == "with_staff" and status["staff"] == "Anne"

    client.drain("cjg_typing")  # the bot's own typing while it answered
    await staff_side.staff_typing(hid, ANNE)
    assert await client.next("cjg_typing") == {"who": "staff", "typing": True, "name": "Anne"}
    await staff_side.send(hid, ANNE, "Hoi, ik ben Anne. <b>vet</b>")
    message = await client.next("bot_uttered")
    assert message["text"] == "Hoi, ik ben Anne. <b>vet</b>"  # text as text; the widget shows it so
    assert message["custom"]["handoff"]["staff"] == "Anne"

    await client.say("Dank je, mijn vraag gaat over slapen")
    await asyncio.sleep(0.5)
    transcript = [e.text for e in await staff_side.transcript(hid)]
    assert "Dank je, mijn vraag gaat over slapen" in transcript  # to staff, not to Rasa
    assert await staff_side.close(hid, ANNE, {"topic": "anders"})
    closing = await client.replies(2)
    assert closing[-1]["quick_replies"]  # the 1-5 rating question


async def test_gesprek_wissen_erases_and_tells_every_tab(
    servers: list[TestServer], clients: Callable[[int], RasaSocketClient]
) -> None:
    app = servers[0].app
    tab = clients(0)
    session = await tab.connect()
    await answer(tab, "mijn dochter van 6 plast weer in bed")
    other_tab = clients(1)
    await other_tab.connect(session_id=session)
    cid = app[CORE].conversation_id(CHANNEL, session)
    assert await app[REDIS].exists(f"rasa:tracker:{cid}")

    assert await tab.sio.call("cjg_forget", {"session_id": session}, timeout=20) is True
    assert await other_tab.next("cjg_forgotten") == {}
    assert not await app[REDIS].exists(f"rasa:tracker:{cid}", keys.outbox(cid))
    await tab.sio.emit("session_request", {"session_id": None, "last_id": "0"})
    assert await tab.next("session_confirm") != session  # a fresh start


async def test_at_shutdown_the_sockets_are_closed_so_widgets_reconnect_at_once(
    servers: list[TestServer], clients: Callable[[int], RasaSocketClient]
) -> None:
    """The server would otherwise wait for each open socket until its shutdown timeout."""
    client = clients(0)
    await client.connect()
    dropped = asyncio.Event()
    client.sio.on("disconnect", lambda *_: dropped.set())
    await servers[0].app[WIDGET].close_sockets()
    await asyncio.wait_for(dropped.wait(), 5)
    assert not client.sio.connected

    again = clients(1)  # the other instance takes the widget back
    assert await again.connect(session_id=client.session_id) == client.session_id


async def test_a_plain_client_gets_handoff_news_and_staff_messages_as_text_once(
    servers: list[TestServer], clients: Callable[[int], RasaSocketClient]
) -> None:
    app = servers[0].app
    client = clients(0)
    session = await client.connect(last_id=None)
    with contextlib.suppress(AccountError):
        await Accounts(app[REDIS]).add("anne", "Anne", "een lang wachtwoord 123")
    await app[HANDOFF].heartbeat("anne")
    queued = await answer(client, "/ask_human")
    assert queued and all(rasa_shaped(m) for m in queued)
    hid = (await app[HANDOFF].conversation(app[CORE].conversation_id(CHANNEL, session))).hid
    assert hid and await app[HANDOFF].claim(hid, ANNE)
    joined = await client.next("bot_uttered")  # with the button to end the chat
    assert rasa_shaped(joined) and "Anne" in joined["text"] and joined["quick_replies"]
    await app[HANDOFF].send(hid, ANNE, "Hoi, ik ben Anne.")
    assert await client.next("bot_uttered") == {"text": "Hoi, ik ben Anne."}
    assert await client.quiet()  # once
    for event in ("cjg_status", "cjg_typing"):
        assert client.drain(event) == [], event


async def _handshake(server: TestServer, origin: str) -> int:
    """An Engine.IO handshake (the first request of every Socket.IO client) from ``origin``."""
    async with aiohttp.ClientSession() as http:
        response = await http.get(
            server.make_url("/socket.io/"),
            params={"EIO": "4", "transport": "polling"},
            headers={"Origin": origin},
        )
        return response.status


async def test_the_services_own_pages_connect_as_well_as_the_listed_sites(
    aiohttp_server: ServerFactory, settings: Settings
) -> None:
    """With CJG_WIDGET_ORIGINS set, /demo (its own origin) still connects, and so does the
    origin of CJG_PUBLIC_URL; any other site is refused."""
    listed = replace(
        settings,
        widget_origins=("https://www.cjg.example",),
        public_url="https://chat.cjg.example/",
    )
    server = await aiohttp_server(create_app(listed))
    own = f"http://{server.host}:{server.port}"
    for origin in (own, "https://www.cjg.example", "https://chat.cjg.example"):
        assert await _handshake(server, origin) == 200, origin
    for origin in ("https://evil.example", "null", "https://www.cjg.example.evil.nl", own + "1"):
        assert await _handshake(server, origin) == 400, origin

    unlisted = await aiohttp_server(create_app(settings))  # no list: only its own pages
    own = f"http://{unlisted.host}:{unlisted.port}"
    assert await _handshake(unlisted, own) == 200
    assert await _handshake(unlisted, "https://www.cjg.example") == 400
