"""A professional's question through the real service, Rasa (the trained model) and the action
server: the route for professionals comes first, once, and the conversation counts as a
professional's in the figures. A parent's question on the same topic gets no such route.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request

from bot import Settings, create_app
from bot.app_keys import REDIS
from common.content import topics
from common.professional import professional_texts
from staff.web_keys import ACCOUNTS
from tests.bot.conftest import ClientFactory
from tests.bot.test_web_chat import chat
from tests.conftest import RasaStack, RedisServer
from tests.handoff.test_web_staff import PASSWORD, login
from tests.insight.test_web_insight import count_everything

Client = TestClient[Request, Application]
TEST_DB = 23  # this module's own database
TEACHER = "Ik ben leerkracht en een leerling van mij is heel bang om te falen bij toetsen"
PARENT = "Mijn dochter is heel bang om te falen bij toetsen"


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, redis_server: RedisServer, rasa_stack: RasaStack
) -> AsyncIterator[Client]:
    settings = Settings(
        redis_url=redis_server.url(TEST_DB),
        rasa_url=rasa_stack.url,
        rasa_token=rasa_stack.token,
        pseudonym_secret="p" * 32,
        rasa_timeout=15,
    )
    client = await aiohttp_client(create_app(settings))
    await client.app[REDIS].flushdb()
    await client.app[ACCOUNTS].add("ida", "Ida", PASSWORD, "insight")
    yield client


def routed(replies: list[dict[str, Any]]) -> bool:
    return any(r.get("text") == professional_texts().text() for r in replies)


async def test_a_professionals_question_gets_the_professional_route_and_counts_as_professional(
    client: Client,
) -> None:
    teacher, parent = (f"{n}-{uuid.uuid4().hex[:6]}" for n in ("t", "p"))
    texts = professional_texts()

    first = await chat(client, teacher, TEACHER)
    assert first[0]["text"] == texts.text()  # what the professional reads first
    buttons = {b["payload"]: b["title"] for b in first[0]["buttons"]}  # type: ignore[attr-defined]
    assert buttons == {"/ask_human": texts.consult_button, texts.offers_link: texts.offers_button}
    # Then the topic answer (Rasa sends each paragraph apart), said to be written for parents.
    assert first[1]["text"] == texts.topic_intro
    assert str(first[2]["text"]).startswith(topics()["faalangst"].answer), first[2]["text"]

    later = await chat(client, teacher, "En wat kan ik doen als hij slecht slaapt?")
    assert not routed(later)  # once: the conversation knows it is a professional now

    said = await chat(client, parent, PARENT)
    assert not routed(said) and said[0]["text"] != texts.topic_intro

    await count_everything(client)
    await login(client, "ida")
    found = await (await client.get("/staff/api/insight")).json()
    users = {item["id"]: item["count"] for item in found["user_types"]}
    assert users == {"professional": 1, "unknown": 1}
