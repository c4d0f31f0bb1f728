"""The parent's municipality for routing (handoff/municipality_question.py), through the real
service with the trained Rasa on a real Redis (database 29), two colleagues online with the
divorce profile: Bea of team Bloemendaal and Hans of team Haarlem.

A divorce handoff without a municipality is for both; the waiting message asks "In welke
gemeente woon je?", and "Bloemendaal" (pressed or typed) makes it Bea's first without moving it
in the queue. "Zeg ik liever niet" or no answer leave it for the profile. Urgent chats and
youths are never asked; a place named earlier in the conversation routes without asking.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect
from redis.asyncio import Redis

from base.registrar import open_record
from bot import Settings, create_app
from bot.app_keys import REDIS
from common.content import ContentError
from common.handoff_payload import HandoffRequest
from common.names import Reason
from common.payload import MUNICIPALITY, NOT_SAYING, is_payload
from common.routing_content import routing_content
from handoff import keys
from handoff.municipality_question import ASKED, named
from handoff.presence import Presence
from handoff.routing import Router
from handoff.store import HandoffStore
from handoff.web_keys import HANDOFF
from staff.accounts import Accounts
from staff.web_keys import ACCOUNTS
from tests.bot.conftest import ClientFactory
from tests.bot.test_web_chat import chat, cid_of, issue
from tests.bot.widget.test_widget_browser import Widget
from tests.browser import log_in
from tests.browser import make_service as make_browser_service
from tests.conftest import RasaStack, RedisServer
from tests.handoff.conftest import ALWAYS, ROOT, content_copy, make_service
from tests.handoff.test_routing_console import Console
from tests.handoff.test_web_staff import PASSWORD, Client
from tests.redis_db import fresh_db

DB = 29
QUESTION = "In welke gemeente woon je?"
CHOICES = ["Haarlem", "Zandvoort", "Bloemendaal", "Zeg ik liever niet", "Stoppen met wachten"]
DIVORCE = "Hoe vertel ik mijn kinderen dat we gaan scheiden?"
ASK_PERSON = "Ik wil een medewerker spreken"


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory,
    redis_server: RedisServer,
    rasa_stack: RasaStack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Client]:
    monkeypatch.setenv("CJG_CONTENT_DIR", str(content_copy(tmp_path, ALWAYS)))
    settings = Settings(
        redis_url=redis_server.url(DB),
        rasa_url=rasa_stack.url,
        rasa_token=rasa_stack.token,
        action_server_url=rasa_stack.action_url,
        pseudonym_secret="s" * 32,
        rasa_timeout=15,
        routing_wait_seconds=600,  # the head start lasts the whole test
        rate_per_address=10**6,
        urgent_per_address=(10**6, 600),
        urgent_per_service=(10**6, 600),
    )
    client = await aiohttp_client(create_app(settings))
    await client.app[REDIS].flushdb()
    for username, team in (("bea", "bloemendaal"), ("hans", "haarlem")):
        await client.app[ACCOUNTS].add(username, username.title(), PASSWORD)
        await client.app[ACCOUNTS].set_routing(username, team, ("scheiding",))
    yield client


@pytest.fixture
async def consoles(client: Client) -> AsyncIterator[tuple[Console, Console]]:
    bea, hans = await Console(client, "bea").open(), await Console(client, "hans").open()
    yield bea, hans
    await bea.close()
    await hans.close()


def redis_of(client: Client) -> Redis:
    return client.app[REDIS]


async def hid_of(client: Client, user: str) -> str:
    hid = (await client.app[HANDOFF].conversation(cid_of(client, user))).hid
    assert hid is not None
    return hid


async def divorce_handoff(client: Client, user: str, **context: str) -> list[dict[str, Any]]:
    """A parent offered a talk after signs of a vechtscheiding said "ja" (the request that
    Rasa's action sends, as the conversation core hands it on)."""
    await issue(client, user)
    request = HandoffRequest(Reason.CONFLICT_DIVORCE, context=context)
    return await client.app[HANDOFF].begin(cid_of(client, user), "api", request, [])


def buttons(reply: dict[str, Any]) -> list[dict[str, str]]:
    return list(reply.get("buttons") or [])


def asked(replies: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The reply with the question, if one asks it."""
    return next((r for r in replies if "In welke gemeente" in str(r.get("text"))), None)


async def test_a_divorce_handoff_without_a_municipality_asks_and_bloemendaal_goes_to_bea_first(
    client: Client, consoles: tuple[Console, Console]
) -> None:
    bea, hans = consoles
    await divorce_handoff(client, "before")  # someone is ahead in the queue
    await chat(client, "parent", DIVORCE)
    replies = await chat(client, "parent", ASK_PERSON)
    question = asked(replies)
    assert question is not None, replies
    assert QUESTION in str(question["text"]) and "nummer 2" in str(question["text"])
    assert [b["title"] for b in buttons(question)] == CHOICES
    hid = await hid_of(client, "parent")
    assert (await bea.routing(hid))["for"] == "you"  # the divorce profile, no team yet
    assert (await hans.routing(hid))["for"] == "you"

    (thanks,) = await chat(client, "parent", f"{MUNICIPALITY}bloemendaal")
    assert thanks["text"] == "Dank je wel. Je blijft nummer 2 in de wachtrij."
    assert [b["title"] for b in buttons(thanks)] == ["Stoppen met wachten"]
    mine, theirs = await bea.routing(hid), await hans.routing(hid)
    assert mine["for"] == "you" and mine["label"] == "Bloemendaal · Scheiding"
    assert theirs["for"] == "others" and theirs["opened"] is None
    assert [w["position"] for w in await hans.waiting() if w["hid"] == hid] == [2]  # not moved
    assert await redis_of(client).hget(keys.record(hid), ASKED) is None
    counted = await redis_of(client).hget(open_record(cid_of(client, "parent")), "municipality")
    assert counted == "bloemendaal"  # the figures by municipality count it


async def test_a_parent_who_chose_u_is_asked_in_the_u_form(
    client: Client, consoles: tuple[Console, Console]
) -> None:
    await chat(client, "formal", "zeg maar u")
    await chat(client, "formal", DIVORCE)
    question = asked(await chat(client, "formal", ASK_PERSON))
    assert question is not None
    assert "In welke gemeente woont u?" in str(question["text"])
    assert " je " not in str(question["text"])


async def test_typing_answers_and_zeg_ik_liever_niet_or_silence_leave_it_for_the_profile(
    client: Client, consoles: tuple[Console, Console]
) -> None:
    bea, hans = consoles
    redis = redis_of(client)
    declines, types, ignores = "declines", "types", "ignores"
    for user in (declines, types, ignores):
        assert asked(await divorce_handoff(client, user)) is not None

    (reply,) = await chat(client, declines, NOT_SAYING)
    assert reply["text"] == "Dat is goed. Je blijft nummer 1 in de wachtrij."
    (reply,) = await chat(client, declines, "Duurt het nog lang?")  # an ordinary message
    assert "staat klaar voor de medewerker" in str(reply["text"])
    hid = await hid_of(client, declines)
    assert await redis.hget(keys.record(hid), "route_team") == ""
    assert await redis.hget(keys.record(hid), ASKED) is None
    assert (await hans.routing(hid))["label"] == "Scheiding"
    assert (await hans.routing(hid))["for"] == "you"

    (reply,) = await chat(client, types, "wij wonen in Aerdenhout")
    assert reply["text"] == "Dank je wel. Je blijft nummer 2 in de wachtrij."
    hid = await hid_of(client, types)
    assert (await hans.routing(hid))["for"] == "others"
    assert (await bea.routing(hid))["label"] == "Bloemendaal · Scheiding"
    summary = await client.app[HANDOFF].record(hid)
    assert summary is not None and summary.summary["municipality"] == "bloemendaal"

    hid = await hid_of(client, ignores)
    assert await redis.hget(keys.record(hid), ASKED) == "1"
    assert (await hans.routing(hid))["for"] == "you"
    assert [w["hid"] for w in await hans.waiting()][-1] != hid  # Bloemendaal's comes after


async def test_urgent_chats_and_youths_are_not_asked(
    client: Client, consoles: tuple[Console, Console]
) -> None:
    replies: list[dict[str, Any]] = await chat(client, "crisis", "Ik wil niet meer leven")
    assert any("handoff" in (r.get("custom") or {}) for r in replies), replies
    assert asked(replies) is None
    assert not any(b["payload"].startswith(MUNICIPALITY) for r in replies for b in buttons(r))

    youth = await divorce_handoff(client, "youth", user_type="youth")
    assert youth and asked(youth) is None
    hid = await hid_of(client, "youth")
    assert await redis_of(client).hget(keys.record(hid), ASKED) is None


async def test_a_place_named_earlier_routes_without_asking(
    client: Client, consoles: tuple[Console, Console]
) -> None:
    bea, hans = consoles
    answer = await chat(client, "overveen", f"Wij wonen in Overveen. {DIVORCE}")
    assert any("scheid" in str(r.get("text")).lower() for r in answer), answer  # the topic
    replies = await chat(client, "overveen", ASK_PERSON)
    assert any("wachtrij" in str(r.get("text")) for r in replies), replies
    assert asked(replies) is None
    hid = await hid_of(client, "overveen")
    assert (await bea.routing(hid))["label"] == "Bloemendaal · Scheiding"
    assert (await hans.routing(hid))["for"] == "others"
    counted = await redis_of(client).hget(open_record(cid_of(client, "overveen")), "municipality")
    assert counted == "bloemendaal"


def test_one_municipality_named_counts_two_say_nothing() -> None:
    assert named(["Wij wonen in Overveen"]) == "bloemendaal"
    assert named(["we komen uit Spaarndam-Oost", "hallo"]) == "haarlem"
    assert named(["ik woon in Bentveld", "zijn vader woont in Haarlem"]) is None
    assert named(["we wonen in Spaarndam"]) is None  # west of it is Haarlemmermeer
    assert named(["Haarlemmermeer"]) is None


def test_only_the_real_buttons_are_payloads() -> None:
    assert is_payload(f"{MUNICIPALITY}zandvoort") and is_payload(NOT_SAYING)
    assert not is_payload(f"{MUNICIPALITY}amsterdam")  # text: checked for safety like any


def test_a_question_text_with_an_unknown_blank_is_refused(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "content", tmp_path / "content")
    path = tmp_path / "content" / "routing.yml"
    text = path.read_text()
    assert "nummer {position} in de wachtrij" in text
    path.write_text(text.replace("nummer {position}", "nummer {plek}", 1))
    with pytest.raises(ContentError, match=r"question\.thanks: only \{position\} fits"):
        routing_content(tmp_path / "content")
    assert routing_content().question is not None  # the real file asks


@pytest.fixture
async def teams(redis_server: RedisServer) -> AsyncIterator[Redis]:
    """Bea of Bloemendaal and Hans of Haarlem, both for "scheiding"."""
    async with fresh_db(redis_server, DB) as redis:
        accounts = Accounts(redis)
        for username, team in (("bea", "bloemendaal"), ("hans", "haarlem")):
            await accounts.add(username, username.title(), PASSWORD)
            await accounts.set_routing(username, team, ("scheiding",))
        yield redis


async def test_the_answer_weighs_again_for_whom_the_chat_is(teams: Redis) -> None:
    """Nobody of the team online: for everyone; a chat opened because nobody matched gets its
    head start back when the named team is there; once the wait is over it stays open."""
    redis, service = teams, make_service(teams)
    # as the service's own
    router = Router(redis, HandoffStore(redis, 3600), Presence(redis, 45), 180.0)
    await service.heartbeat("hans")
    request = HandoffRequest(Reason.CONFLICT_DIVORCE)
    await service.begin("c1", "api", request, [])
    hid = (await service.conversation("c1")).hid
    assert hid is not None and await redis.zscore(keys.ROUTED, hid) is not None  # Hans's first
    assert await router.set_team(hid, "bloemendaal") is not None  # Bea is not online
    assert await redis.hget(keys.record(hid), "route_open") == "nobody"
    assert await redis.zscore(keys.ROUTED, hid) is None
    assert await router.set_team(hid, "haarlem") is None  # the team is known now

    await service.begin("c2", "api", request, [])
    second = (await service.conversation("c2")).hid
    assert second is not None
    await redis.hset(keys.record(second), "route_open", "nobody")  # nobody matched at first
    await redis.zrem(keys.ROUTED, second)
    assert await router.set_team(second, "haarlem") is not None  # Hans is online
    assert await redis.hget(keys.record(second), "route_open") is None
    until = int(await redis.hget(keys.record(second), "queued_at") or 0) + router.wait_ms
    assert await redis.zscore(keys.ROUTED, second) == until  # counted from the queue time

    await service.begin("c3", "api", request, [])
    late = (await service.conversation("c3")).hid
    assert late is not None
    await redis.hset(keys.record(late), "queued_at", "1")  # queued long ago: the wait is over
    await redis.zrem(keys.ROUTED, late)
    await redis.hset(keys.record(late), mapping={"route_open": "waited", "route_open_at": "2"})
    assert await router.set_team(late, "haarlem") is not None
    assert await redis.hget(keys.record(late), "route_open") == "waited"
    assert await redis.zscore(keys.ROUTED, late) is None


async def test_the_widget_shows_the_question_and_the_console_the_answer(
    redis_server: RedisServer, rasa_stack: RasaStack, tmp_path: Path, browser: Browser
) -> None:
    """In Chromium: the question's buttons in the widget, "Bloemendaal" pressed, the console's
    list says for whom the chat is now; "Stoppen met wachten" still works."""
    service = make_browser_service(redis_server, rasa_stack, tmp_path, DB, staff=("eva",))
    service.start()
    try:
        console = await (await browser.new_context()).new_page()
        await log_in(console, service.url)  # Eva: no team, so nobody of Bloemendaal is online
        widget = Widget(await (await browser.new_context()).new_page())
        await widget.open(service.url)
        await widget.send(ASK_PERSON)
        choices = widget("button.cjg-button:enabled")
        await expect(choices).to_have_text(CHOICES, timeout=30000)
        item = console.locator("#queue .queue-item")
        await expect(item).to_have_count(1, timeout=15000)

        await choices.filter(has_text="Bloemendaal").click()
        await expect(widget.said("Dank je wel. Je blijft nummer 1")).to_have_count(1)
        await expect(item.locator(".routing")).to_have_text(
            "Voor iedereen: niemand van Bloemendaal is online", timeout=15000
        )
        await widget("button.cjg-button:enabled").filter(has_text="Stoppen met wachten").click()
        await expect(widget.said("Je staat niet meer in de wachtrij")).to_have_count(1)
        await expect(item).to_have_count(0, timeout=15000)
    finally:
        service.stop()
