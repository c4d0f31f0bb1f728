"""The safety layer in the conversation core, through /api/chat with the real stack: the crisis
card comes first, on every state, and an urgent handoff goes to the front of the queue."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, cast

import pytest
from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request

from bot import Settings, create_app
from bot.app_keys import REDIS
from handoff.web_keys import HANDOFF
from staff.accounts import Account
from tests.bot.conftest import ClientFactory
from tests.bot.test_web_chat import chat as post_chat
from tests.bot.test_web_chat import cid_of
from tests.handoff.conftest import ALWAYS, NEVER, content_copy

Client = TestClient[Request, Application]
ANNE = Account("anne", "Anne", "staff")
CRISIS = "ik denk de laatste tijd steeds aan zelfmoord"
MakeClient = Callable[[dict[str, list[str]]], Coroutine[Any, Any, Client]]


@pytest.fixture
def make_client(
    aiohttp_client: ClientFactory,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> MakeClient:
    async def make(hours: dict[str, list[str]]) -> Client:
        monkeypatch.setenv("CJG_CONTENT_DIR", str(content_copy(tmp_path / uuid.uuid4().hex, hours)))
        return await aiohttp_client(create_app(settings))

    return make


async def chat(client: Client, sender: str, text: str) -> list[dict[str, Any]]:
    return cast(list[dict[str, Any]], await post_chat(client, sender, text))


def sender() -> str:
    return f"safety-{uuid.uuid4().hex[:10]}"


def crisis_card(replies: list[dict[str, Any]]) -> dict[str, Any]:
    card = replies[0]  # always first
    assert "crisis" in card["custom"]
    for number in ("112", "0800-2000", "0800-0432", "0800-0113"):
        assert number in card["text"]
    return card


async def test_crisis_card_first_and_an_urgent_handoff_ahead_of_the_queue(
    make_client: MakeClient,
) -> None:
    client = await make_client(ALWAYS)
    service = client.app[HANDOFF]
    await service.heartbeat("anne")
    waiting = sender()
    await chat(client, waiting, "/ask_human")  # someone is already waiting

    parent = sender()
    replies = await chat(client, parent, CRISIS)
    card = crisis_card(replies)
    assert card["text"].index("0800-0113") < card["text"].index("0800-2000")  # 113 first here
    assert replies[1]["custom"]["crisis"] == {"cjg_open": True}
    assert any("nummer 1" in str(r.get("text")) for r in replies)  # ahead of the one waiting

    cid = cid_of(client, parent)
    hid = (await service.conversation(cid)).hid
    record = await service.record(hid or "")
    assert record and record.urgent and record.reason == "safety"
    assert (await service.queue())[0].hid == hid
    transcript = [e.text for e in await service.transcript(hid or "")]
    assert CRISIS in transcript  # staff read what was written
    tracker = await client.app[REDIS].get(f"rasa:tracker:{cid}")
    assert tracker is None or "zelfmoord" not in str(tracker)  # never went to the bot


async def test_outside_opening_hours_the_card_stays_and_says_so(make_client: MakeClient) -> None:
    client = await make_client(NEVER)
    replies = await chat(client, sender(), CRISIS)
    crisis_card(replies)
    assert replies[1]["custom"]["crisis"] == {"cjg_open": False}
    assert "niet bereikbaar" in str(replies[1]["text"])
    assert any("bericht" in str(r.get("text")) for r in replies[2:])  # a message can be left


async def test_during_a_chat_with_staff_the_card_shows_and_staff_see_it_urgent(
    make_client: MakeClient,
) -> None:
    client = await make_client(ALWAYS)
    service = client.app[HANDOFF]
    await service.heartbeat("anne")
    parent = sender()
    await chat(client, parent, "/ask_human")
    cid = cid_of(client, parent)
    hid = (await service.conversation(cid)).hid or ""
    assert await service.claim(hid, ANNE)

    replies = await chat(client, parent, CRISIS)
    crisis_card(replies)
    record = await service.record(hid)
    assert record and record.urgent
    assert CRISIS in [e.text for e in await service.transcript(hid)]
    assert (await service.conversation(cid)).state == "with_staff"  # never ended by itself
    assert await service.close(hid, ANNE, {"topic": "anders"})


async def test_everyday_worries_get_an_ordinary_answer(make_client: MakeClient) -> None:
    client = await make_client(ALWAYS)
    for text in ("mijn peuter slaat als hij boos is", "ik ga dood van het lachen om mijn zoon"):
        replies = await chat(client, sender(), text)
        assert all("crisis" not in (r.get("custom") or {}) for r in replies), text


@pytest.mark.parametrize(
    "disguised",
    [
        "/ik wil dood",  # a slash in front made it a "payload" that skipped the check
        "/greet ik wil dood",
        "ik wil d\u200bood",  # a zero-width space split the word for the phrase list
        "ik wil do\u00adod",  # a soft hyphen
        "\uff49\uff4b \uff57\uff49\uff4c \uff44\uff4f\uff4f\uff44",  # fullwidth letters
    ],
)
async def test_a_disguised_cry_for_help_still_gets_the_card(
    make_client: MakeClient, disguised: str
) -> None:
    client = await make_client(NEVER)
    replies = await chat(client, sender(), disguised)
    crisis_card(replies)


async def test_text_with_a_slash_in_front_reaches_rasa_as_text(make_client: MakeClient) -> None:
    client = await make_client(NEVER)
    user = sender()
    replies = await chat(client, user, "/greet extra text")
    assert replies and "crisis" not in str(replies[0].get("custom"))
    cid = cid_of(client, user)
    tracker = str(await client.app[REDIS].get(f"rasa:tracker:{cid}"))
    assert "greet extra text" in tracker and "/greet extra text" not in tracker
    await chat(client, user, "/greet")  # the buttons' own payloads still work
    tracker = str(await client.app[REDIS].get(f"rasa:tracker:{cid}"))
    assert '"text": "/greet"' in tracker
