"""Whole conversations through /api/chat, with the real model, action server and Redis."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request

from common.handoff_payload import HandoffRequest
from tests.bot.test_web_chat import chat

Client = TestClient[Request, Application]


def texts(replies: list[dict[str, object]]) -> str:
    return "\n".join(str(r.get("text", "")) for r in replies)


async def test_offer_finder_asks_only_what_is_missing_and_remembers_it(client: Client) -> None:
    replies = await chat(
        client, "form-1", "ik zoek een weerbaarheidstraining voor mijn dochter van 10"
    )
    assert texts(replies) == "In welke gemeente woon je?"  # theme and age were understood

    replies = await chat(client, "form-1", "we wonen in Overveen")
    assert "Dit aanbod over Weerbaarheid voor een kind van 10" in texts(replies)
    links = [b for r in replies for b in r.get("buttons", [])]  # type: ignore[attr-defined]
    assert links and all(b["payload"].startswith("http://127.0.0.1:8080/go/") for b in links)
    path = links[0]["payload"].removeprefix("http://127.0.0.1:8080")
    followed = await client.get(path, allow_redirects=False)  # counted, then on to the offer
    assert followed.status == 302 and followed.headers["Location"].startswith("https://")

    replies = await chat(client, "form-1", "/zoek_aanbod")
    assert texts(replies).startswith(
        "Waar gaat je vraag over?"
    )  # age and place are not asked again

    replies = await chat(client, "form-1", '/inform{"offer_theme": "scheiden"}')
    assert "Dit aanbod over Scheiden voor een kind van 10" in texts(replies)

    replies = await chat(client, "form-1", "/ask_human")
    request = next(
        r for r in (HandoffRequest.from_custom(m.get("custom")) for m in replies) if r is not None
    )
    assert request.context["child_age"] == "10"
    assert request.context["municipality"] == "bloemendaal"


async def test_age_in_words_and_in_brackets(client: Client) -> None:
    await chat(client, "form-2", "/zoek_aanbod")
    await chat(client, "form-2", '/inform{"offer_theme": "opvoeden_opgroeien"}')
    replies = await chat(client, "form-2", "dochter (14)")
    assert texts(replies) == "In welke gemeente woon je?"
