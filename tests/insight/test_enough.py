""" "Heb je hier genoeg aan om zelf verder te kunnen?" through the real service, Rasa and Redis:
asked once after a sure topic answer (never after a crisis card), asked right after the rating
after a staff chat, counted, and shown on the dashboard, in the CSV and in the quarterly report.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request

from bot import Settings, create_app
from bot.app_keys import REDIS
from handoff.web_keys import HANDOFF
from staff.web_keys import ACCOUNTS
from tests.bot.conftest import ClientFactory
from tests.bot.test_web_chat import as_user, chat, cid_of
from tests.conftest import RasaStack, RedisServer
from tests.handoff.conftest import ALWAYS, content_copy
from tests.handoff.test_web_staff import PASSWORD, close_chat, login
from tests.insight.test_web_insight import count_everything, texts

Client = TestClient[Request, Application]
TEST_DB = 22  # this module's own database
QUESTION = "Heb je hier genoeg aan om zelf verder te kunnen?"
ANSWERS = ["/cjg_enough_ja", "/cjg_enough_beetje", "/cjg_enough_nee"]


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
        redis_url=redis_server.url(TEST_DB),
        rasa_url=rasa_stack.url,
        rasa_token=rasa_stack.token,
        pseudonym_secret="e" * 32,
        rasa_timeout=15,
    )
    client = await aiohttp_client(create_app(settings))
    await client.app[REDIS].flushdb()
    for username, role in (("anne", "staff"), ("ida", "insight")):
        await client.app[ACCOUNTS].add(username, username.title(), PASSWORD, role)
    yield client


def question_in(replies: list[dict[str, Any]]) -> dict[str, Any] | None:
    found = [r for r in replies if r.get("text") == QUESTION]
    assert len(found) <= 1
    return found[0] if found else None


def payloads(message: dict[str, Any]) -> list[str]:
    return [b["payload"] for b in message.get("buttons", [])]


async def updates(client: Client, user: str) -> list[dict[str, Any]]:
    """What the user's outbox holds (staff messages, the questions after a staff chat)."""
    response = await client.get("/api/chat/updates", headers=as_user(client, user))
    assert response.status == 200
    return list((await response.json())["messages"])


async def test_a_topic_answer_is_followed_by_the_question_once_and_a_nee_is_counted(
    client: Client,
) -> None:
    parent, other, crisis = (f"{n}-{uuid.uuid4().hex[:6]}" for n in ("p", "o", "c"))

    answered = await chat(client, parent, '/opvoedvraag{"topic": "slapen"}')
    asked = question_in(answered)
    assert asked is not None and answered[-1] is asked  # after the answer, as the last message
    assert payloads(asked)[:3] == ANSWERS
    assert [b["title"] for b in asked["buttons"]][:3] == ["Ja", "Een beetje", "Nee"]
    # The answer's own buttons come along: the widget keeps only the newest ones working.
    assert "/ask_human" in payloads(asked) and "/ask_human" in payloads(answered[-2])
    assert answered[0]["text"] != QUESTION  # the parent reads the answer first

    thanks = await chat(client, parent, "/cjg_enough_nee")
    assert "Dank je" in texts(thanks) and "/ask_human" in payloads(thanks[0])
    again = await chat(client, parent, "/cjg_enough_ja")  # one answer counts
    assert "hebben we al" in texts(again)

    later = await chat(client, parent, '/opvoedvraag{"topic": "eten"}')
    assert question_in(later) is None  # once per conversation

    # May be ignored: another conversation goes on without answering it.
    ignored = await chat(client, other, '/opvoedvraag{"topic": "scheiding_vertellen"}')
    assert question_in(ignored) is not None
    assert question_in(await chat(client, other, "hallo")) is None

    # Never after a crisis card: not with the card, nor after a later answer.
    card = await chat(client, crisis, "ik wil er niet meer zijn")
    assert "113" in texts(card) and question_in(card) is None
    await chat(client, crisis, "/cjg_cancel")  # stops the urgent handoff's wait (nobody online)
    after_card = await chat(client, crisis, '/opvoedvraag{"topic": "slapen"}')
    assert after_card[0]["text"] != QUESTION and question_in(after_card) is None
    assert "/cjg_enough_nee" not in [p for r in after_card for p in payloads(r)]

    await count_everything(client)
    await login(client, "ida")
    found = await (await client.get("/staff/api/insight")).json()
    bot = {d["id"]: d["count"] for d in found["enough"]["bot"]["distribution"]}
    assert bot == {"ja": 0, "beetje": 0, "nee": 1}
    assert found["enough"]["bot"]["count"] == 1 and found["enough"]["staff"]["count"] == 0


async def test_after_a_staff_chat_the_question_follows_the_rating_and_the_report_splits(
    client: Client,
) -> None:
    parent = f"staff-{uuid.uuid4().hex[:6]}"
    await client.app[HANDOFF].heartbeat("anne")
    await chat(client, parent, "/ask_human")
    hid = (await client.app[HANDOFF].conversation(cid_of(client, parent))).hid
    assert hid is not None
    csrf = await login(client, "anne")
    claimed = await client.post(f"/staff/api/handoffs/{hid}/claim", headers={"X-CSRF-Token": csrf})
    assert claimed.status == 200
    closed = await close_chat(client, hid, csrf, topic="opvoeden_jong", outcome="advies")
    assert closed.status == 200, await closed.text()

    news = await updates(client, parent)
    assert any("/cjg_rating_5" in payloads(m) for m in news)
    assert question_in(news) is None  # one question at a time: the rating first

    rated = await chat(client, parent, "/cjg_rating_4")
    assert "Dank je wel" in texts(rated)
    asked = question_in(rated)  # right after the rating was given
    assert asked is not None and rated[-1] is asked and payloads(asked) == ANSWERS
    thanks = await chat(client, parent, "/cjg_enough_beetje")
    assert "Dank je" in texts(thanks)

    await count_everything(client)
    await login(client, "ida")
    found = await (await client.get("/staff/api/insight")).json()
    staff = {d["id"]: d["count"] for d in found["enough"]["staff"]["distribution"]}
    assert staff == {"ja": 0, "beetje": 1, "nee": 0}
    assert found["enough"]["bot"]["count"] == 0  # a staff chat is its own figure
    assert found["ratings"]["count"] == 1

    csv = (await (await client.get("/staff/api/insight.csv")).text()).splitlines()
    assert "genoeg na medewerker;beetje;Een beetje;1" in csv
    assert "genoeg na chatbot;nee;Nee;0" in csv

    report = await (await client.get("/staff/insight/report")).text()

    def table(caption: str) -> str:
        return report.split(f"Genoeg om zelf verder te kunnen, {caption}")[1].split("</table>")[0]

    assert "Een beetje</th><td>1</td>" in table("na een gesprek met een medewerker")
    assert "Aantal antwoorden</th><td>0</td>" in table("na een antwoord van de chatbot")
