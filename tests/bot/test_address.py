""" "Je" or "u" across a conversation through /api/chat, with the trained Rasa (Redis db 20),
and the outbox read in the chosen form (db 21)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request

from bot import Settings, create_app
from bot.address import AddressBook, VoicedOutbox
from bot.app_keys import CORE, REDIS
from common.address import Address, address_content, outside_quotes, to_u
from common.handoff_payload import HandoffRequest
from common.names import Reason
from common.payload import ADDRESS_JE, ADDRESS_U
from handoff import keys
from handoff.staff_content import console_texts
from tests.bot.conftest import ClientFactory
from tests.bot.test_web_chat import chat, cid_of, token_of
from tests.conftest import RedisServer
from tests.handoff.conftest import ANNE
from tests.handoff.conftest import make_service as make_handoff_service
from tests.redis_db import fresh_db

Client = TestClient[Request, Application]
JE = re.compile(r"\b(je|jij|jou|jouw)\b", re.IGNORECASE)
QUESTION = "mijn baby huilt heel veel, wat kan ik doen?"


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, settings: Settings, redis_server: RedisServer
) -> AsyncIterator[Client]:
    async with fresh_db(redis_server, 20):
        yield await aiohttp_client(
            create_app(dataclasses.replace(settings, redis_url=redis_server.url(20)))
        )


def answer(replies: list[dict[str, object]]) -> str:
    return "\n".join(str(r["text"]) for r in replies if r.get("text"))


async def test_after_zeg_maar_u_a_topic_answer_comes_in_the_u_form(client: Client) -> None:
    as_je = answer(await chat(client, "je-parent", QUESTION))
    assert JE.search(as_je)  # the answer has something to rewrite

    (confirmed,) = await chat(client, "u-parent", "zeg maar u")
    assert confirmed["custom"] == {"service": "address", "address": "u"}
    assert "uw vraag" in str(confirmed["text"])
    as_u = answer(await chat(client, "u-parent", QUESTION))

    assert as_u == to_u(as_je)
    assert not JE.search(outside_quotes(as_u))
    assert re.search(r"\b(u|uw)\b", as_u, re.IGNORECASE)
    stored = await client.app[REDIS].hget(keys.conversation(cid_of(client, "u-parent")), "address")
    assert stored == "u"


async def test_the_choice_lasts_and_can_be_undone_with_the_widget_payload(client: Client) -> None:
    await chat(client, "switcher", "Mag het formeel?")
    assert not JE.search(outside_quotes(answer(await chat(client, "switcher", "dank je"))))

    (back,) = await chat(client, "switcher", "/cjg_address_je")
    assert back["custom"] == {"service": "address", "address": "je"}
    assert JE.search(answer(await chat(client, "switcher", QUESTION)))


async def test_a_youth_keeps_je_whatever_is_asked(client: Client) -> None:
    await chat(client, "youth", "/ik_ben_jongere")
    (kept,) = await chat(client, "youth", "zeg maar u")
    assert kept["custom"] == {"service": "address", "address": "je"}
    assert "jongeren" in str(kept["text"])

    replies = await chat(client, "youth", "ik word gepest op school")
    assert JE.search(answer(replies))


async def test_erasing_the_conversation_erases_the_choice(client: Client) -> None:
    await chat(client, "eraser", "zeg maar u")
    name = keys.conversation(cid_of(client, "eraser"))
    assert await client.app[REDIS].hget(name, "address") == "u"
    await client.app[CORE].forget("api", token_of(client, "eraser"))
    assert not await client.app[REDIS].exists(name)


async def test_the_outbox_is_read_in_the_chosen_form_but_staff_words_stay(
    redis_server: RedisServer,
) -> None:
    async with fresh_db(redis_server, 21) as redis:
        book = AddressBook(redis, Address.JE, 60)
        outbox = VoicedOutbox(redis, 60, book)
        queue = {"text": "Je bent nu nummer 2 in de wachtrij.", "custom": {"handoff": {}}}
        staff = {
            "text": "Hoi, ik lees je vraag.",
            "custom": {"handoff": {"event": "staff_message", "staff": "Anne"}},
        }
        await outbox.push_all("c1", [queue, staff])
        assert [m["text"] for _, m in await outbox.read("c1")] == [queue["text"], staff["text"]]

        await book.choose("c1", Address.U)
        assert [m["text"] for _, m in await outbox.read("c1")] == [
            "U bent nu nummer 2 in de wachtrij.",
            "Hoi, ik lees je vraag.",  # staff's own words are never rewritten
        ]
        await book.note_youth("c1")
        assert (await outbox.read("c1"))[0][1]["text"] == queue["text"]


async def test_the_default_form_is_a_setting(redis_server: RedisServer) -> None:
    async with fresh_db(redis_server, 21) as redis:
        book = AddressBook(redis, Address.U, 60)
        assert await book.form("new") == Address.U
        await book.choose("new", Address.JE)
        assert await book.form("new") == Address.JE
        assert await redis.ttl(keys.conversation("new")) > 0  # erased with the retention time


async def test_an_answer_to_a_left_message_follows_the_choice_but_not_the_staff_words(
    redis_server: RedisServer,
) -> None:
    """The "Antwoord van ... op je bericht:" line is the service's: it follows the choice. What
    the staff member wrote stays exactly as written, "je" and all."""
    async with fresh_db(redis_server, 21) as redis:
        book = AddressBook(redis, Address.JE, 60)
        outbox = VoicedOutbox(redis, 60, book)
        service = make_handoff_service(redis, open_hours=False, outbox=outbox)
        await service.begin("c1", "api", HandoffRequest(Reason.ASK_HUMAN), [])
        await service.leave_message("c1", "api", "Kunnen jullie me terugbellen?")
        (left,) = await service.left_messages()
        own = "Je kunt je kind morgen zelf bellen, als je wilt."
        assert await service.answer_message(left.hid, ANNE, own)

        await book.choose("c1", Address.U)
        (_, message), *_ = [m for m in await outbox.read("c1") if "Antwoord" in m[1]["text"]]
        assert message["text"] == f"Antwoord van Anne (CJG) op uw bericht: {own}"
        await book.choose("c1", Address.JE)
        (_, message), *_ = [m for m in await outbox.read("c1") if "Antwoord" in m[1]["text"]]
        assert message["text"] == f"Antwoord van Anne (CJG) op je bericht: {own}"


async def test_the_widget_control_and_the_console_label_follow_the_state(
    redis_server: RedisServer,
) -> None:
    async with fresh_db(redis_server, 21) as redis:
        book = AddressBook(redis, Address.JE, 60)
        control = await book.control("c1")
        assert control["form"] == "je" and control["youth"] is False
        assert control["labels"]["u"] == address_content().widget.u
        assert control["payloads"] == {"je": ADDRESS_JE, "u": ADDRESS_U}
        assert control["strings"] == {}  # the widget's own texts as they are
        assert await book.for_staff("c1") == {"address": "je", "address_label": None}

        await book.choose("c1", Address.U)
        control = await book.control("c1")
        assert control["form"] == "u"
        assert control["strings"]["placeholder"] == "Typ uw vraag…"
        label = console_texts().get("address_u")
        assert await book.for_staff("c1") == {"address": "u", "address_label": label}

        await book.note_youth("c1")  # youths always get "je": no control, no label
        assert {k: v for k, v in (await book.control("c1")).items() if k != "labels"} == {
            "form": "je",
            "youth": True,
            "payloads": {"je": ADDRESS_JE, "u": ADDRESS_U},
            "strings": {},
        }
        assert await book.for_staff("c1") == {"address": "je", "address_label": None}
