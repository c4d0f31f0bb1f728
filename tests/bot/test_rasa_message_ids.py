"""A message that Rasa stored but whose answer the service could not keep is sent again with its
own id, and Rasa keeps it once (assistant/channels/token_rest.py, issue #18): against the real
Rasa with the trained model. The service's Redis is database 2; Rasa's trackers are in 0."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiohttp.web import Application
from redis.asyncio import Redis

from bot import Settings, create_app
from bot.app_keys import CORE
from bot.client_rasa import RasaClient
from bot.web_chat import CHANNEL as API_CHANNEL
from bot.web_chat import TOKEN_HEADER
from bot.widget.channel import CHANNEL
from tests.bot.conftest import SECRET
from tests.bot.widget.socket_client import RasaSocketClient
from tests.conftest import RasaStack, RedisServer

pytestmark = pytest.mark.rasa
ServerFactory = Callable[[Application], Awaitable[TestServer]]
DB = 2
QUESTION = "mijn zoon van 4 wil niet slapen"  # answered by the action server (a topic)


@pytest.fixture
async def rasa_db(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url(0), decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def rasa(rasa_stack: RasaStack) -> AsyncIterator[RasaClient]:
    async with aiohttp.ClientSession() as session:
        yield RasaClient(session, rasa_stack.url, rasa_stack.token, timeout=30)


async def tracker(redis: Redis, cid: str) -> list[dict[str, Any]]:
    """Rasa's tracker of the conversation, as Rasa stored it (endpoints.yml's key prefix)."""
    raw = await redis.get(f"rasa:tracker:{cid}")
    events: list[dict[str, Any]] = json.loads(raw)["events"] if raw else []
    return events


def user_turns(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["text"], e["message_id"]) for e in events if e["event"] == "user"]


async def test_a_message_sent_again_is_one_turn_and_gets_the_same_answer(
    rasa: RasaClient, rasa_db: Redis
) -> None:
    cid = "message-ids-replay"
    await rasa_db.delete(f"rasa:tracker:{cid}")
    first = await rasa.send(cid, QUESTION, "m-0001-replay")
    assert first and any(m.get("text") for m in first)
    assert await rasa.send(cid, QUESTION, "m-0001-replay") == first
    assert user_turns(await tracker(rasa_db, cid)) == [(QUESTION, "m-0001-replay")]
    # The same words with another id, or none, are new messages.
    assert await rasa.send(cid, QUESTION, "m-0002-replay")
    assert await rasa.send(cid, QUESTION)
    said = user_turns(await tracker(rasa_db, cid))
    assert [text for text, _ in said] == [QUESTION] * 3
    assert [mid for _, mid in said][:2] == ["m-0001-replay", "m-0002-replay"]


async def test_the_same_message_twice_at_once_is_one_turn(rasa: RasaClient, rasa_db: Redis) -> None:
    """Two requests for one message (two instances): Rasa's lock for the conversation lets one
    take it as new; the other finds it and replays its answer."""
    cid = "message-ids-race"
    await rasa_db.delete(f"rasa:tracker:{cid}")
    one, two = await asyncio.gather(*(rasa.send(cid, QUESTION, "m-0004-race") for _ in range(2)))
    assert one and one == two
    assert user_turns(await tracker(rasa_db, cid)) == [(QUESTION, "m-0004-race")]


async def test_a_turn_whose_actions_died_runs_again_without_a_second_user_turn(
    rasa: RasaClient, rasa_db: Redis
) -> None:
    """Rasa logs an action that failed (its action server died) and goes on: the turn is
    stored with no bot message. Sent again, the turn runs again from the user's message."""
    cid = "message-ids-rerun"
    key = f"rasa:tracker:{cid}"
    await rasa_db.delete(key)
    answer = await rasa.send(cid, QUESTION, "m-0003-rerun")
    stored = json.loads(await rasa_db.get(key) or "{}")
    stored["events"] = [e for e in stored["events"] if e["event"] != "bot"]  # lost on the way
    await rasa_db.set(key, json.dumps(stored), keepttl=True)
    turn = [e["event"] for e in stored["events"]].index("user")
    died = [e.get("name") for e in stored["events"][turn + 1 :] if e["event"] == "action"]
    assert died == ["action_answer_topic", "action_listen"]

    assert await rasa.send(cid, QUESTION, "m-0003-rerun") == answer
    events = await tracker(rasa_db, cid)
    assert user_turns(events) == [(QUESTION, "m-0003-rerun")]
    # Rasa's store only appends: the failed actions are undone (Rasa's "undo"), then run again.
    done = ("action", "undo", "bot")
    after = [e.get("name") or e["event"] for e in events[turn + 1 :] if e["event"] in done]
    again = [*died, "undo", "undo", "action_answer_topic"]
    assert after[: len(again)] == again and after[-1] == "action_listen"
    assert set(after[len(again) : -1]) == {"bot"}


class LosingProxy:
    """Rasa's HTTP API through a proxy that can lose Rasa's answers: Rasa handles (and stores)
    the message, the service gets HTTP 502, as when the answer did not come back."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.lose = False
        self.app = web.Application()
        self.app.router.add_route("*", "/{path:.*}", self.forward)

    async def forward(self, request: web.Request) -> web.Response:
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method,
                self.target + request.rel_url.path_qs,
                headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
                data=await request.read(),
            ) as answer,
        ):
            body = await answer.read()
        if self.lose:
            return web.Response(status=502)
        return web.Response(status=answer.status, body=body, content_type=answer.content_type)


@pytest.fixture
async def losing(
    aiohttp_server: ServerFactory, redis_server: RedisServer, rasa_stack: RasaStack
) -> tuple[LosingProxy, TestServer]:
    """The service on the real Rasa, behind a proxy that loses Rasa's answers when told to."""
    proxy = LosingProxy(rasa_stack.url)
    rasa_url = str((await aiohttp_server(proxy.app)).make_url("")).rstrip("/")
    settings = Settings(
        redis_url=redis_server.url(DB),
        rasa_tracker_redis_url=redis_server.url(0),
        rasa_url=rasa_url,
        rasa_token=rasa_stack.token,
        action_server_url=rasa_stack.action_url,
        pseudonym_secret=SECRET,
        rasa_timeout=15,
    )
    return proxy, await aiohttp_server(create_app(settings))


async def test_a_widget_message_sent_again_after_kept_nothing_is_one_turn_in_rasa(
    losing: tuple[LosingProxy, TestServer], rasa_db: Redis
) -> None:
    proxy, service = losing
    widget = RasaSocketClient(str(service.make_url("/")))
    try:
        await widget.connect()
        cid = service.app[CORE].conversation_id(CHANNEL, widget.session_id or "")
        mid = "0c1d2e3f-dedupe-4a5b6c7d"
        data = {"message": QUESTION, "session_id": widget.session_id, "cjg_retry": True}
        proxy.lose = True
        ack = await widget.sio.call("user_uttered", {**data, "cjg_mid": mid}, timeout=30)
        assert ack["ok"] is False and ack["error"] == "assistant_unavailable"  # kept nothing
        assert user_turns(await tracker(rasa_db, cid)) == [(QUESTION, mid)]  # but Rasa did
        widget.drain("bot_uttered")

        proxy.lose = False  # the widget sends it again by itself, with its id
        ack = await widget.sio.call("user_uttered", {**data, "cjg_mid": mid}, timeout=30)
        assert ack == {"ok": True}
        answers = [await widget.next("bot_uttered")]
        await asyncio.sleep(1)  # anything more, or twice, would be here by now
        answers += widget.drain("bot_uttered")
        assert any(m.get("text") for m in answers)
        assert len({m["id"] for m in answers}) == len(answers)
        assert user_turns(await tracker(rasa_db, cid)) == [(QUESTION, mid)]  # once
    finally:
        await widget.close()


async def test_an_api_message_sent_again_with_its_id_is_one_turn_in_rasa(
    losing: tuple[LosingProxy, TestServer], rasa_db: Redis
) -> None:
    """The chat API's optional ``message_id``: the retry after a 503 (Rasa kept the message, its
    answer was lost) is answered, and Rasa's tracker holds the message once."""
    proxy, service = losing
    async with aiohttp.ClientSession() as http:
        async with http.post(service.make_url("/api/chat/session")) as started:
            assert started.status == 201
            token = started.headers[TOKEN_HEADER]
        cid = service.app[CORE].conversation_id(API_CHANNEL, token)
        body = {"message": QUESTION, "message_id": "a7e3-api-retry"}
        proxy.lose = True
        async with http.post(
            service.make_url("/api/chat"), json=body, headers={TOKEN_HEADER: token}
        ) as lost:
            assert lost.status == 503  # kept nothing, says the service; but Rasa did
        assert user_turns(await tracker(rasa_db, cid)) == [(QUESTION, "api-a7e3-api-retry")]
        proxy.lose = False
        async with http.post(
            service.make_url("/api/chat"), json=body, headers={TOKEN_HEADER: token}
        ) as again:
            assert again.status == 200
            assert any(m.get("text") for m in await again.json())
    assert user_turns(await tracker(rasa_db, cid)) == [(QUESTION, "api-a7e3-api-retry")]
