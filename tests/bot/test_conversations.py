"""Whole conversations through /api/chat, with the real model, action server and Redis."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request

from common.handoff_payload import HandoffRequest
from tests.bot.test_web_chat import chat

Client = TestClient[Request, Application]


def texts(replies: list[dict[str, object]]) -> str:
    return "\n".join(str(r.get("text", "")) for r in replies)


async def test_offer_finder_shows_offers_at_once_and_remembers_what_it_learned(
    client: Client,
) -> None:
    replies = await chat(
        client,
        "form-1",
        "ik zoek een weerbaarheidstraining voor mijn dochter van 10, we wonen in Overveen",
    )
    assert texts(replies).startswith("Dit aanbod over Weerbaarheid voor een kind van 10")
    assert "samenopgroeien.nu" in texts(replies)
    links = [b for r in replies for b in r.get("buttons", [])]  # type: ignore[attr-defined]
    offers = [b for b in links if "/go/" in b["payload"]]
    assert offers and all(b["payload"].startswith("http://127.0.0.1:8080/go/") for b in offers)
    # each button counts its own offer, though all of them link to samenopgroeien.nu today
    assert len({b["payload"] for b in offers}) == len(offers)
    assert not any("offer" in r.get("custom", {}) for r in replies)  # type: ignore[operator]
    path = offers[0]["payload"].removeprefix("http://127.0.0.1:8080")
    followed = await client.get(path, allow_redirects=False)  # counted, then on to the offer
    assert followed.status == 302 and followed.headers["Location"].startswith("https://")

    replies = await chat(client, "form-1", '/zoek_aanbod{"offer_theme": "scheiden"}')
    assert texts(replies).startswith("Dit aanbod over Scheiden voor een kind van 10")  # age kept

    replies = await chat(client, "form-1", "/ask_human")
    request = next(
        r for r in (HandoffRequest.from_custom(m.get("custom")) for m in replies) if r is not None
    )
    assert request.context["child_age"] == "10"
    assert request.context["municipality"] == "bloemendaal"


async def test_an_age_typed_after_the_offers_narrows_them_down(client: Client) -> None:
    replies = await chat(client, "form-2", "hebben jullie cursussen over opvoeden")
    assert texts(replies).endswith(
        "Hoe oud is je kind? Dan laat ik zien wat bij die leeftijd past."
    )
    replies = await chat(client, "form-2", "dochter (14)")
    assert texts(replies).startswith("Dit aanbod over Opvoeden & Opgroeien voor een kind van 14")
    assert "Pubers & Zo" in texts(replies)  # made for 12 to 18
