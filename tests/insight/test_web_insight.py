"""The figures from real conversations: the chat API with the trained model, the staff API for a
handoff, then the dashboard's JSON, the CSV, the quarterly report and the improvement loop.

Buttons (``/opvoedvraag{"topic": ...}``) make the bot's answers exact, so the counts are too.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request
from redis.asyncio import Redis

from base.registrar import HOUR_PREFIX, OPEN
from bot import Settings, create_app
from bot.app_keys import REDIS
from handoff.web_keys import HANDOFF
from insight.export_examples import export
from insight.web_keys import REGISTRAR
from staff.web_keys import ACCOUNTS
from tests.bot.conftest import ClientFactory
from tests.bot.test_web_chat import chat, cid_of, token_of
from tests.conftest import RasaStack, RedisServer
from tests.handoff.conftest import ALWAYS, content_copy
from tests.handoff.test_web_staff import PASSWORD, close_chat, login
from tests.insight.conftest import TEST_DB

Client = TestClient[Request, Application]
# Every counter field: channel | municipality | metric | code. Codes only: no room for text.
FIELD = re.compile(
    r"^(widget|telegram|api|onbekend)\|(haarlem|zandvoort|bloemendaal|anders|onbekend)\|"
    r"[a-z_]+\|[a-z0-9_>\-]{1,40}$"
)


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
        pseudonym_secret="s" * 32,
        public_url="https://chat.cjg.test",
        rasa_timeout=15,
    )
    client = await aiohttp_client(create_app(settings))
    await client.app[REDIS].flushdb()
    for username, role in (("anne", "staff"), ("ida", "insight"), ("ines", "admin")):
        await client.app[ACCOUNTS].add(username, username.title(), PASSWORD, role)
    yield client


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(str(r.get("text", "")) for r in replies)


async def converse(client: Client) -> dict[str, str]:
    """Seven conversations, each with a known outcome; returns the senders by name."""
    run = uuid.uuid4().hex[:8]
    who = {
        name: f"{name}-{run}"
        for name in ("topic", "offers", "divorce", "unclear", "crisis", "gave_up", "youth")
    }
    await client.app[HANDOFF].heartbeat("anne")  # staff online: handoffs are queued

    await chat(client, who["topic"], '/opvoedvraag{"topic": "slapen"}')

    shown = await chat(
        client, who["offers"], "weerbaarheidstraining voor mijn dochter van 10, we wonen in haarlem"
    )
    buttons = [b["payload"] for r in shown for b in r.get("buttons", [])]  # type: ignore[attr-defined]
    links = [p for p in buttons if "/go/" in p]
    assert links and all(p.startswith("https://chat.cjg.test/go/") for p in links)
    clicked = await client.get(
        links[0].removeprefix("https://chat.cjg.test"), allow_redirects=False
    )
    assert clicked.status == 302 and clicked.headers["Location"].startswith("https://")

    await chat(client, who["divorce"], '/opvoedvraag{"topic": "scheiding_vertellen"}')

    await chat(client, who["unclear"], "Jan Jansen vraagt qwxz blorp fnarg vlimp")  # not understood

    card = await chat(client, who["crisis"], "ik wil er niet meer zijn")
    assert "113" in texts(card)

    await chat(client, who["gave_up"], "/ask_human")
    await chat(client, who["gave_up"], "/cjg_cancel")

    await chat(client, who["youth"], "/ik_ben_jongere")
    youth = await chat(client, who["youth"], '/opvoedvraag{"topic": "gepest_worden"}')
    assert "Kindertelefoon" in texts(youth)
    return who


async def handle_crisis_chat(client: Client, sender: str) -> None:
    """Anne picks up the urgent chat, closes it with a referral and registers the asker as a
    professional (a teacher, say); the user rates it 5."""
    csrf = await login(client, "anne")
    cid = cid_of(client, sender)
    hid = (await client.app[HANDOFF].conversation(cid)).hid
    assert hid is not None  # the crisis message started an urgent handoff
    headers = {"X-CSRF-Token": csrf}
    assert (await client.post(f"/staff/api/handoffs/{hid}/claim", headers=headers)).status == 200
    closed = await close_chat(
        client,
        hid,
        csrf,
        topic="veiligheid",
        outcome="doorverwezen",
        referred_to="veilig_thuis",
        asker="professional",
    )
    assert closed.status == 200
    thanks = await chat(client, sender, "/cjg_rating_5")
    assert "Dank je wel" in texts(thanks)


async def count_everything(client: Client) -> None:
    registrar = client.app[REGISTRAR]
    registrar.idle_seconds = 0  # as if half an hour passed
    await registrar.flush_idle()


async def test_conversations_become_the_figures_on_the_dashboard_and_in_the_csv(
    client: Client,
) -> None:
    who = await converse(client)
    await handle_crisis_chat(client, who["crisis"])
    await count_everything(client)

    await login(client, "ida")
    response = await client.get("/staff/api/insight")
    assert response.status == 200
    found = await response.json()
    totals = found["totals"]
    assert totals["conversations"] == 7
    assert totals["answered_by_bot"] == 4  # topic, offers, divorce, youth
    assert totals["handoffs"] == 2 and totals["abandoned"] == 1
    assert totals["crisis"] == 1 and totals["referred"] == 1
    assert totals["offers_shown"] == 1 and totals["offer_clicks"] == 1
    assert totals["divorce_info"] == 1
    assert (
        totals["anonymous"] == 6
    )  # "Jan Jansen" gave a name (found when Rasa's tracker was redacted)
    counted = {item["id"]: item["count"] for item in found["themes"]}
    assert counted == {
        "opvoeden_jong": 1,
        "groepsaanbod": 1,
        "scheiding": 1,
        "veiligheid": 1,
        "gedrag_emoties": 1,
    }
    users = {item["id"]: item["count"] for item in found["user_types"]}
    assert users == {"unknown": 4, "parent": 1, "youth": 1, "professional": 1}  # staff's asker
    assert {i["id"]: i["count"] for i in found["referrals"]} == {"veilig_thuis": 1}
    assert {i["id"]: i["count"] for i in found["signals"]} == {"suicide": 1}
    assert found["ratings"]["count"] == 1 and found["ratings"]["average"] == 5.0
    assert found["waiting"]["count"] == 1 and found["handling"]["count"] == 1
    assert sum(row["conversations"] for row in found["series"]) == 7

    haarlem = await (await client.get("/staff/api/insight?municipality=haarlem")).json()
    assert haarlem["totals"]["conversations"] == 1 and haarlem["totals"]["offers_shown"] == 1
    widget = await (await client.get("/staff/api/insight?channel=widget")).json()
    assert widget["totals"]["conversations"] == 0

    csv = await client.get("/staff/api/insight.csv?by=month")
    assert csv.status == 200 and csv.headers["Content-Type"].startswith("text/csv")
    rows = (await csv.text()).lstrip("\ufeff").splitlines()
    assert "totaal;conversations;Gesprekken;7" in rows
    assert "thema;veiligheid;Zorg over veiligheid;1" in rows
    assert "tevredenheid;5;Score 5;1" in rows

    report = await client.get("/staff/insight/report")
    html = await report.text()
    assert report.status == 200 and "Aantal en soort vragen" in html
    assert "Bereik van het groepsaanbod" in html and "Tevredenheid" in html


async def test_the_registration_store_holds_no_text_and_no_ids(client: Client) -> None:
    who = await converse(client)
    await handle_crisis_chat(client, who["crisis"])
    await count_everything(client)

    redis: Redis = client.app[REDIS]
    forbidden = [*who.values()]
    forbidden += [cid_of(client, s) for s in who.values()]
    forbidden += [token_of(client, s) for s in who.values()]
    forbidden += ["jansen", "qwxz", "slaapt", "niet meer zijn"]
    keys = [k async for k in redis.scan_iter(f"{HOUR_PREFIX}*")]
    assert keys
    for key in keys:
        assert re.fullmatch(HOUR_PREFIX + r"\d{10}", key)  # the time, to the hour
        for name, value in (await redis.hgetall(key)).items():
            assert isinstance(name, str) and FIELD.match(name), name
            assert str(value).isdigit()
            assert not any(f.lower() in name.lower() for f in forbidden)
    assert await redis.zcard(OPEN) == 0  # the per-conversation records are gone once counted
    assert not [k async for k in redis.scan_iter("cjg:insight:open:*")]


async def test_only_the_insight_role_and_admins_see_the_figures(client: Client) -> None:
    assert (await client.get("/staff/api/insight")).status == 401
    await login(client, "anne")
    assert (await client.get("/staff/api/insight")).status == 403
    assert (await client.get("/staff/api/insight/unclear")).status == 403
    await login(client, "ines")
    assert (await client.get("/staff/api/insight")).status == 200
    assert (await client.get("/go/no-such-offer")).status == 404  # never an open redirect
    bad = await client.get("/staff/api/insight?from=2026-13-01")
    assert bad.status == 400 and "datums" in (await bad.json())["message"]


async def test_unclear_questions_are_redacted_marked_and_exported(
    client: Client, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    await chat(client, f"u-{run}", "Jan Jansen vraagt qwxz blorp fnarg vlimp")
    csrf = await login(client, "ida")
    listed = await (await client.get("/staff/api/insight/unclear")).json()
    (item,) = listed["items"]
    assert "qwxz" in item["text"] and "Jansen" not in item["text"]  # redacted before it is kept
    assert {"id": "opvoedvraag/slapen", "label": "Opvoedvraag: Slapen en naar bed gaan"} in listed[
        "intents"
    ]

    headers = {"X-CSRF-Token": csrf}
    url = f"/staff/api/insight/unclear/{item['id']}"
    refused = await client.post(url, json={"as": "example", "intent": "nope"}, headers=headers)
    assert refused.status == 400
    marked = await client.post(
        url, json={"as": "example", "intent": "opvoedvraag/slapen"}, headers=headers
    )
    assert marked.status == 200

    nlu, suggestions = tmp_path / "staff_examples.yml", tmp_path / "topic_suggestions.yml"
    assert await export(client.app[REDIS], nlu, suggestions) == (1, 0)
    data = yaml.safe_load(nlu.read_text())
    (block,) = data["nlu"]
    assert block["intent"] == "opvoedvraag/slapen"
    assert "qwxz" in block["examples"] and "Jansen" not in block["examples"]
    assert await export(client.app[REDIS], nlu, suggestions) == (0, 0)  # exported once
