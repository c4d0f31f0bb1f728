"""POST /api/chat against the real trained model, Rasa server, action server and Redis."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application, Request, StreamResponse, json_response

from bot import Settings, create_app
from bot.app_keys import API_TOKENS, CORE, DELIVERY, REDIS
from bot.web_chat import TOKEN_HEADER
from common.handoff_payload import HandoffRequest
from handoff import keys as redis_keys
from handoff.requests import STREAM
from insight.unclear import STREAM as UNCLEAR
from tests.bot.conftest import ClientFactory
from tests.conftest import RasaStack, RedisServer

Client = TestClient[Request, Application]
JSON = {"Content-Type": "application/json"}
# The conversation token the server issued to each test user, per test client: the tests name
# their users ("parent-1"); the server knows only the tokens it handed out.
_TOKENS: weakref.WeakKeyDictionary[Client, dict[str, str]] = weakref.WeakKeyDictionary()


def token_of(client: Client, user: str) -> str:
    return _TOKENS[client][user]


def cid_of(client: Client, user: str) -> str:
    """The conversation's pseudonym, as the service's Redis keys use it."""
    return client.app[CORE].conversation_id("api", token_of(client, user))


def as_user(client: Client, user: str) -> dict[str, str]:
    """The headers of a later call of this user (empty before the first message)."""
    token = _TOKENS.setdefault(client, {}).get(user)
    return {TOKEN_HEADER: token} if token else {}


async def issue(client: Client, user: str) -> str:
    """A conversation token for ``user`` without a first message (tests without Rasa)."""
    known = _TOKENS.setdefault(client, {})
    if user not in known:
        issued = client.app[API_TOKENS]
        token = issued.new()
        await issued.issue(token, client.app[CORE].conversation_id("api", token))
        known[user] = token
    return known[user]


async def chat(client: Client, user: str, message: str) -> list[dict[str, object]]:
    """One message of ``user``: the first starts a conversation and keeps its token."""
    response = await client.post(
        "/api/chat", json={"message": message}, headers=as_user(client, user)
    )
    assert response.status == 200, await response.text()
    issued = response.headers.get(TOKEN_HEADER)
    known = _TOKENS.setdefault(client, {})
    if user in known:
        assert issued is None  # a token is issued once, on the first call
    else:
        assert issued is not None
        known[user] = issued
    body = await response.json()
    assert isinstance(body, list)
    return body


async def test_hallo_gets_a_dutch_welcome_in_rest_format(client: Client) -> None:
    (welcome,) = await chat(client, "parent-1", "hallo")

    assert "recipient_id" not in welcome  # it would be the token
    text = str(welcome["text"])
    assert "CJG" in text and "opvoeden" in text
    assert "geen diagnose" in text  # says what it cannot do
    assert "Privacy" in text  # and the one-line privacy note
    assert {"title": "Ik wil een medewerker spreken", "payload": "/ask_human"} in welcome["buttons"]  # type: ignore[operator]


async def test_a_button_payload_sent_back_as_message_works(client: Client) -> None:
    replies = await chat(client, "parent-2", "/ask_human")

    assert "medewerker" in str(replies[0]["text"])
    assert any("custom" in r for r in replies)


async def test_ask_human_is_recognised_and_recorded_without_text_or_raw_id(
    client: Client, settings: Settings
) -> None:
    replies = await chat(client, "parent-3", "ik wil graag met een medewerker praten")

    requests = [HandoffRequest.from_custom(r.get("custom")) for r in replies]
    request = next(r for r in requests if r is not None)
    assert request.reason == "ask_human"
    redis = aioredis.Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        entries = cast(list[tuple[str, dict[str, str]]], await redis.xrange(STREAM))
        stored = json.dumps([fields for _, fields in entries])
        keys = cast(list[str], await redis.keys("*"))
    finally:
        await redis.aclose()
    assert '"reason": "ask_human"' in stored
    token = token_of(client, "parent-3")
    assert token not in stored and "medewerker praten" not in stored
    assert not any(token in k for k in keys)  # Rasa's tracker key is a pseudonym too


async def test_html_is_passed_on_as_plain_text_not_markup(client: Client) -> None:
    replies = await chat(client, "parent-4", "<img src=x onerror=alert(1)>")

    assert replies and all("<img" not in str(r.get("text", "")) for r in replies)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{}", "missing_message"),
        (b'{"sender": null}', "missing_message"),
        (b"dit is geen json", "invalid_json"),
        (b"[1, 2]", "invalid_json"),
        (os.urandom(512), "invalid_json"),
        (json.dumps({"message": "x" * 100_000}).encode(), "message_too_long"),
        (json.dumps({"message": "   \u0000\u0007  "}).encode(), "empty_message"),
        (json.dumps({"message": 12}).encode(), "missing_message"),
        (json.dumps({"message": "hallo", "message_id": "kort"}).encode(), "invalid_message_id"),
        (json.dumps({"message": "hallo", "message_id": 12345678}).encode(), "invalid_message_id"),
        (json.dumps({"message": "hi", "message_id": "<b>1234</b>"}).encode(), "invalid_message_id"),
    ],
)
async def test_bad_input_gets_a_400_with_a_json_error(
    client: Client, body: bytes, error: str
) -> None:
    response = await client.post("/api/chat", data=body, headers=JSON)

    assert response.status == 400
    payload = await response.json()
    assert payload["error"] == error
    assert payload["message"]  # a Dutch sentence a widget can show
    assert TOKEN_HEADER not in response.headers  # no conversation was started


async def test_a_huge_body_gets_413_json(client: Client) -> None:
    response = await client.post("/api/chat", data=b"x" * (300 * 1024), headers=JSON)

    assert response.status == 413
    assert (await response.json())["error"] == "body_too_large"


async def test_unknown_paths_get_json_errors(client: Client) -> None:
    response = await client.get("/api/nope")
    assert response.status == 404
    assert (await response.json())["error"] == "not_found"
    response = await client.get("/api/chat")
    assert response.status == 405


UNAVAILABLE = {
    "error": "assistant_unavailable",
    "message": "Ik ben even niet bereikbaar. Probeer het over een paar minuten opnieuw. Heb je nu "
    "direct hulp nodig? Bel dan 112 bij gevaar.",
}


async def user_texts(client: Client, token: str) -> list[str]:
    """What Rasa's tracker holds of the user's messages in this conversation."""
    tracker = await client.app[REDIS].get(
        f"rasa:tracker:{client.app[CORE].conversation_id('api', token)}"
    )
    events = json.loads(tracker)["events"] if tracker else []
    return [e["text"] for e in events if e.get("event") == "user"]


async def test_rasa_down_gets_503_with_retry_after_and_the_retry_is_answered_once(
    aiohttp_client: ClientFactory, settings: Settings, closed_port_url: str
) -> None:
    down = await aiohttp_client(
        create_app(Settings(**{**settings.__dict__, "rasa_url": closed_port_url}))
    )

    first = await down.post("/api/chat", json={"message": "hallo"})  # a new conversation
    assert first.status == 503
    assert await first.json() == UNAVAILABLE
    assert first.headers["Retry-After"] == "10"  # CJG_RETRY_AFTER_ASSISTANT
    assert TOKEN_HEADER not in first.headers  # nothing started: the client tries again without

    token = await issue(down, "parent-5")
    question = "mijn dochter van 7 wil niet naar school"
    again = await down.post(
        "/api/chat", json={"message": question}, headers=as_user(down, "parent-5")
    )
    assert again.status == 503 and await again.json() == UNAVAILABLE
    assert await user_texts(down, token) == []  # Rasa never saw it

    # A cry for help does not wait for Rasa: the card and the handoff, as always.
    crisis = await down.post(
        "/api/chat", json={"message": "ik denk aan zelfmoord"}, headers=as_user(down, "parent-5b")
    )
    assert crisis.status == 200
    assert "crisis" in (await crisis.json())[0]["custom"]

    up = await aiohttp_client(create_app(settings))  # Rasa back (same Redis, same secret)
    _TOKENS[up] = {"parent-5": token}
    answered = await chat(up, "parent-5", question)  # the very same message, sent again
    assert answered and "niet bereikbaar" not in json.dumps(answered)
    assert await user_texts(up, token) == [question]  # once


async def test_rasa_too_slow_gets_503_within_the_timeout(
    aiohttp_client: ClientFactory, settings: Settings, rasa_stack: RasaStack
) -> None:
    impatient = Settings(**{**settings.__dict__, "rasa_timeout": 1.0})
    client = await aiohttp_client(create_app(impatient))
    await issue(client, "parent-6")
    rasa_stack.pause()
    try:
        started = time.monotonic()
        slow = await client.post(
            "/api/chat", json={"message": "hallo"}, headers=as_user(client, "parent-6")
        )
        waited = time.monotonic() - started
    finally:
        rasa_stack.resume()

    assert slow.status == 503 and await slow.json() == UNAVAILABLE
    assert slow.headers["Retry-After"] == "10"
    assert waited < 5


async def test_rasa_webhook_and_api_refuse_callers_without_the_token(
    client: Client, rasa_stack: RasaStack
) -> None:
    session = client.session
    hook = f"{rasa_stack.url}/webhooks/cjg/webhook"
    async with session.post(hook, json={"sender": "x", "message": "hallo"}) as response:
        assert response.status == 401
    wrong = {"Authorization": "Bearer wrong"}
    async with session.post(hook, json={"sender": "x", "message": "hallo"}, headers=wrong) as r:
        assert r.status == 401
    async with session.get(f"{rasa_stack.url}/status") as response:
        assert response.status == 401


async def test_a_flood_gets_a_friendly_429_but_a_cry_for_help_still_gets_the_card(
    aiohttp_client: ClientFactory, settings: Settings
) -> None:
    own_db = settings.redis_url.rsplit("/", 1)[0] + "/7"  # its urgent handoff queues apart
    strict = Settings(
        **{**settings.__dict__, "redis_url": own_db, "rate_per_sender": 3, "rate_per_address": 6}
    )
    client = await aiohttp_client(create_app(strict))
    await client.app[REDIS].flushdb()  # no counts left by another test of this database
    for _ in range(3):
        await chat(client, "flood-1", "/greet")
    flooded = await client.post(
        "/api/chat", json={"message": "hallo"}, headers=as_user(client, "flood-1")
    )
    assert flooded.status == 429
    body = await flooded.json()
    assert body["error"] == "rate_limited" and "Wacht even" in body["message"]
    crisis = await chat(client, "flood-1", "ik denk aan zelfmoord")
    assert "crisis" in dict(crisis[0]["custom"])  # type: ignore[call-overload]
    await chat(client, "flood-2", "/greet")  # another sender from the same address ...
    await chat(client, "flood-3", "/greet")
    too_many = await client.post("/api/chat", json={"message": "hallo"})
    assert too_many.status == 429  # ... until the address itself is over its limit
    assert TOKEN_HEADER not in too_many.headers  # and no conversation was started


# --- the conversation token --------------------------------------------------------------


async def _snapshot(client: Client, cid: str) -> dict[str, Any]:
    """Everything the service keeps of one conversation that a stranger could change."""
    redis = client.app[REDIS]
    conversation = cast(dict[str, str], await redis.hgetall(redis_keys.conversation(cid)))
    hid = conversation.get("hid")
    return {
        "conversation": conversation,
        "outbox": await redis.xrange(redis_keys.outbox(cid)),
        "tracker": await redis.get(f"rasa:tracker:{cid}"),
        "record": await redis.hgetall(redis_keys.record(hid)) if hid else None,
        "transcript": await redis.xrange(redis_keys.transcript(hid)) if hid else None,
    }


async def test_the_first_call_issues_a_token_and_only_its_hash_is_kept(
    client: Client, settings: Settings
) -> None:
    await chat(client, "token-1", "hallo")
    token = token_of(client, "token-1")
    assert len(token) >= 22  # at least 128 random bits (token_urlsafe(32): 43 characters)
    redis = client.app[REDIS]
    key = redis_keys.api_conversation(hashlib.sha256(token.encode()).hexdigest())
    assert await redis.get(key) == cid_of(client, "token-1")
    assert 0 < await redis.ttl(key) <= settings.retention_seconds  # as long as the conversation
    names = [k async for k in redis.scan_iter("cjg:*")]
    assert not any(token in k for k in names)
    values = [await redis.get(k) for k in names if await redis.type(k) == "string"]
    assert token not in json.dumps(values)

    again = await chat(client, "token-1", "/greet")  # the same conversation goes on
    assert again and all("recipient_id" not in m for m in again)
    other = await chat(client, "token-2", "hallo")  # no token: a new one
    assert other and token_of(client, "token-2") != token


async def test_a_guessed_foreign_or_expired_token_gets_401_and_nothing_else(
    client: Client,
) -> None:
    await chat(client, "owner", "ik wil graag met een medewerker praten")
    owner = cid_of(client, "owner")
    before = await _snapshot(client, owner)
    # a handoff (or a message being left) that a stranger's /cjg_cancel or /cjg_end would stop
    assert before["conversation"]["state"] in ("waiting", "leaving_message")

    await chat(client, "expired", "hallo")
    expired = token_of(client, "expired")
    expired_key = redis_keys.api_conversation(hashlib.sha256(expired.encode()).hexdigest())
    await client.app[REDIS].pexpire(expired_key, 1)
    guessed = "A" * 43  # the right shape, never issued
    for token in (guessed, expired, "owner", "", "x" * 1000, token_of(client, "owner")[:-1]):
        headers = {TOKEN_HEADER: token}
        for message in ("/cjg_end", "/cjg_rating_1", "/cjg_cancel", "ik denk aan zelfmoord"):
            response = await client.post("/api/chat", json={"message": message}, headers=headers)
            assert response.status == 401, token
            refusal = await response.json()
            # a cry for help still reads the crisis contacts, though nothing is opened
            assert ("crisis" in refusal) == ("zelfmoord" in message)
            assert {k: v for k, v in refusal.items() if k != "crisis"} == {
                "error": "unknown_conversation",
                "message": "Dit gesprek bestaat niet (meer). Begin gerust een nieuw gesprek.",
            }
            if "crisis" in refusal:
                assert "113" in refusal["crisis"]["text"]
            assert TOKEN_HEADER not in response.headers
        updates = await client.get("/api/chat/updates", headers=headers)
        assert updates.status == 401 and "messages" not in await updates.json()
        typing = await client.post("/api/chat/typing", json={}, headers=headers)
        assert typing.status == 401
    for path in ("/api/chat/updates", "/api/chat/updates?sender=owner"):
        missing = await client.get(path)
        assert missing.status == 401 and (await missing.json())["error"] == "missing_conversation"
    assert (await client.post("/api/chat/typing", json={"sender": "owner"})).status == 401

    assert await _snapshot(client, owner) == before  # the owner's chat is untouched


async def test_a_token_of_one_conversation_cannot_read_another(client: Client) -> None:
    await chat(client, "conv-a", "hallo")
    await chat(client, "conv-b", "hallo")
    outbox = client.app[DELIVERY].outbox
    await outbox.push(cid_of(client, "conv-b"), {"text": "alleen voor B"})

    a_feed = await client.get("/api/chat/updates", headers=as_user(client, "conv-a"))
    assert a_feed.status == 200
    assert "alleen voor B" not in await a_feed.text()
    # naming B in the query (the old API) changes nothing: the token decides
    named = await client.get(
        "/api/chat/updates", params={"sender": "conv-b"}, headers=as_user(client, "conv-a")
    )
    assert "alleen voor B" not in await named.text()
    b_feed = await client.get("/api/chat/updates", headers=as_user(client, "conv-b"))
    texts = [m["text"] for m in (await b_feed.json())["messages"]]
    assert texts == ["alleen voor B"]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b'{"message": "ik denk aan zelfmoord"}'),  # a cross-site fetch, no-cors
        ("application/x-www-form-urlencoded", b"message=hallo"),  # an HTML form
        ("multipart/form-data; boundary=x", b"--x--"),
        ("application/octet-stream", b'{"message": "hallo"}'),  # what a body without a type is
    ],
)
async def test_a_body_that_is_not_declared_json_gets_415(
    client: Client, content_type: str, body: bytes
) -> None:
    response = await client.post("/api/chat", data=body, headers={"Content-Type": content_type})
    assert response.status == 415
    answer = await response.json()
    assert answer["error"] == "unsupported_media_type" and answer["message"]
    assert TOKEN_HEADER not in response.headers


async def test_only_the_services_own_and_the_widget_origins_may_post(
    aiohttp_client: ClientFactory, settings: Settings
) -> None:
    allowed = Settings(**{**settings.__dict__, "widget_origins": ("https://www.cjg.example",)})
    client = await aiohttp_client(create_app(allowed))
    own = f"http://{client.server.host}:{client.server.port}"
    redis = client.app[REDIS]
    requests = await redis.xlen(STREAM)
    for origin in ("https://evil.example", "null", "https://www.cjg.example.evil.nl", own + "x"):
        response = await client.post(
            "/api/chat", json={"message": "ik denk aan zelfmoord"}, headers={"Origin": origin}
        )
        assert response.status == 403, origin
        assert (await response.json())["error"] == "bad_origin"
        assert TOKEN_HEADER not in response.headers
        feed = await client.get("/api/chat/updates", headers={"Origin": origin})
        assert feed.status == 403
    assert await redis.xlen(STREAM) == requests  # no urgent handoff was started
    for origin in (own, "https://www.cjg.example"):
        response = await client.post(
            "/api/chat", json={"message": "hallo"}, headers={"Origin": origin}
        )
        assert response.status == 200, origin
    assert (await client.post("/api/chat", json={"message": "hallo"})).status == 200  # no Origin


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"wait": "nan"}, "invalid_wait"),
        ({"wait": "NaN"}, "invalid_wait"),
        ({"wait": "inf"}, "invalid_wait"),
        ({"wait": "-inf"}, "invalid_wait"),
        ({"wait": "-1"}, "invalid_wait"),
        ({"wait": "26"}, "invalid_wait"),
        ({"wait": "1e9"}, "invalid_wait"),
        ({"wait": "99999999999999999999"}, "invalid_wait"),
        ({"wait": ""}, "invalid_wait"),
        ({"wait": " 5"}, "invalid_wait"),
        ({"wait": "5\n"}, "invalid_wait"),
        ({"wait": "0x10"}, "invalid_wait"),
        ({"after": "0\n"}, "invalid_after"),
        ({"after": "abc"}, "invalid_after"),
        ({"after": ""}, "invalid_after"),
        ({"after": "-1"}, "invalid_after"),
        ({"after": "1-2-3"}, "invalid_after"),
        ({"after": "$"}, "invalid_after"),
        ({"after": "+"}, "invalid_after"),
        ({"after": "18446744073709551616-0"}, "invalid_after"),  # over 64 bits: Redis refuses
        ({"after": "1-18446744073709551616"}, "invalid_after"),
        ({"after": "١٢٣"}, "invalid_after"),  # digits, but not ASCII ones
    ],
)
async def test_the_updates_feed_validates_wait_and_after_strictly(
    client: Client, query: dict[str, str], error: str
) -> None:
    await chat(client, "strict", "hallo")
    response = await client.get(
        "/api/chat/updates", params=query, headers=as_user(client, "strict")
    )
    assert response.status == 400
    answer = await response.json()
    assert answer["error"] == error and answer["message"]


async def test_the_updates_feed_accepts_what_it_documents(client: Client) -> None:
    await chat(client, "valid", "hallo")
    for query in (
        {},
        {"wait": "0"},
        {"wait": "0.25"},
        {"after": "0"},
        {"after": "0-0", "wait": "0.1"},
        {"after": "18446744073709551615-18446744073709551615"},
    ):
        response = await client.get(
            "/api/chat/updates", params=query, headers=as_user(client, "valid")
        )
        assert response.status == 200, query
        assert (await response.json())["messages"] == []


# --- honest status codes: a stand-in for Rasa's HTTP API ---------------------------------


class StandInRasa:
    """Rasa's webhook as the service sees it, answering what a test sets; ``/health`` stands
    for the action server. ``hold`` keeps a message waiting until it is set."""

    def __init__(self) -> None:
        self.status = 200
        self.replies: list[dict[str, Any]] = [{"text": "Een antwoord."}]
        self.actions_up = True
        self.hold: asyncio.Event | None = None
        self.received: list[str] = []
        self.message_ids: list[str | None] = []  # what the service passed on as the id
        self.waiting = asyncio.Event()

    def app(self) -> Application:
        app = Application()
        app.router.add_post("/webhooks/cjg/webhook", self._message)
        app.router.add_get("/health", self._health)
        app.router.add_get("/conversations/{sender}/tracker", self._tracker)
        return app

    async def _message(self, request: Request) -> StreamResponse:
        body = await request.json()
        self.received.append(body["message"])
        self.message_ids.append(body.get("message_id"))
        if self.hold is not None:
            self.waiting.set()
            await self.hold.wait()
        if self.status != 200:
            return json_response({"error": "boom"}, status=self.status)
        return json_response([{"recipient_id": "x", **r} for r in self.replies])

    async def _health(self, request: Request) -> StreamResponse:
        return json_response({"status": "ok"}, status=200 if self.actions_up else 503)

    async def _tracker(self, request: Request) -> StreamResponse:
        return json_response({"events": []})


@pytest.fixture
async def stand_in(
    aiohttp_server: Callable[[Application], Awaitable[TestServer]],
) -> tuple[StandInRasa, str]:
    rasa = StandInRasa()
    server = await aiohttp_server(rasa.app())
    return rasa, str(server.make_url("")).rstrip("/")


async def test_rasa_errors_and_a_silent_rasa_without_its_action_server_get_503(
    aiohttp_client: ClientFactory, settings: Settings, stand_in: tuple[StandInRasa, str]
) -> None:
    rasa, url = stand_in
    client = await aiohttp_client(
        create_app(Settings(**{**settings.__dict__, "rasa_url": url, "action_server_url": url}))
    )
    await issue(client, "stand-in")
    headers = as_user(client, "stand-in")

    for status in (500, 502, 401):  # an error of Rasa's (or a wrong token): no answer
        rasa.status = status
        response = await client.post("/api/chat", json={"message": "hallo"}, headers=headers)
        assert response.status == 503, status
        assert await response.json() == UNAVAILABLE and response.headers["Retry-After"] == "10"
    rasa.status = 200

    # With its action server down Rasa answers 200 with nothing: that is no answer either, and
    # the question is not filed as "not understood" for staff.
    rasa.replies, rasa.actions_up = [], False
    unclear = await client.app[REDIS].xlen(UNCLEAR)
    silent = await client.post(
        "/api/chat", json={"message": "kan ik hier iets vragen"}, headers=headers
    )
    assert silent.status == 503 and await silent.json() == UNAVAILABLE
    assert await client.app[REDIS].xlen(UNCLEAR) == unclear
    rasa.actions_up = True  # nothing to say with everything up: a polite "no answer", 200
    nothing = await client.post("/api/chat", json={"message": "0"}, headers=headers)
    assert nothing.status == 200
    assert (await nothing.json())[0]["custom"] == {"service": "no_answer"}


async def test_the_clients_message_id_reaches_rasa_under_the_apis_own_prefix(
    aiohttp_client: ClientFactory, settings: Settings, stand_in: tuple[StandInRasa, str]
) -> None:
    """With the id Rasa keeps a retried message once (tests/bot/test_rasa_message_ids.py); the
    prefix keeps an API client's ids apart from the widget's and Telegram's."""
    rasa, url = stand_in
    client = await aiohttp_client(
        create_app(Settings(**{**settings.__dict__, "rasa_url": url, "action_server_url": url}))
    )
    await issue(client, "with-ids")
    headers = as_user(client, "with-ids")
    for body in ({"message": "hallo", "message_id": "4f1c-0001"}, {"message": "hallo"}):
        assert (await client.post("/api/chat", json=body, headers=headers)).status == 200
    assert rasa.message_ids == ["api-4f1c-0001", None]


async def test_redis_away_after_rasa_answered_still_brings_the_answer(
    aiohttp_client: ClientFactory,
    settings: Settings,
    stand_in: tuple[StandInRasa, str],
    tmp_path: Path,
) -> None:
    """Rasa has the message: the answer is not dropped (a retry would reach Rasa twice)."""
    rasa, url = stand_in
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        own = Settings(
            **{**settings.__dict__, "rasa_url": url, "action_server_url": url,
               "redis_url": redis.url(), "rasa_tracker_redis_url": redis.url()}
        )  # fmt: skip
        client = await aiohttp_client(create_app(own))
        await issue(client, "mid-turn")
        rasa.hold = asyncio.Event()
        sent = asyncio.create_task(
            client.post("/api/chat", json={"message": "hallo"}, headers=as_user(client, "mid-turn"))
        )
        await asyncio.wait_for(rasa.waiting.wait(), 10)
        redis.stop()  # away while Rasa thinks
        rasa.hold.set()
        response = await asyncio.wait_for(sent, 20)
        assert response.status == 200
        assert [m.get("text") for m in await response.json()] == ["Een antwoord."]
    finally:
        redis.stop()


# --- plain Rasa REST clients ---------------------------------------------------------------


async def test_a_plain_rasa_rest_client_keeps_its_conversation_with_an_issued_sender(
    client: Client,
) -> None:
    session = await client.post("/api/chat/session")
    assert session.status == 201
    sender = (await session.json())["sender"]
    assert session.headers[TOKEN_HEADER] == sender and len(sender) == 43

    said = ["hallo", "mijn zoon van 4 wil niet slapen", "dank je wel"]
    for text in said:  # exactly what a Rasa REST client sends, to Rasa's own path
        response = await client.post(
            "/webhooks/rest/webhook", json={"sender": sender, "message": text}
        )
        assert response.status == 200, await response.text()
        replies = await response.json()
        assert replies and all(r["recipient_id"] == sender for r in replies)  # Rasa's shape
        assert TOKEN_HEADER not in response.headers
    assert await user_texts(client, sender) == said  # one conversation, in order

    # The token from a first reply's header works as the sender too, on either path.
    first = await client.post("/webhooks/rest/webhook", json={"message": "hallo"})
    issued = first.headers[TOKEN_HEADER]
    assert all("recipient_id" not in r for r in await first.json())  # not echoed: not sent
    more = await client.post("/api/chat", json={"sender": issued, "message": "/greet"})
    assert more.status == 200
    assert await user_texts(client, issued) == ["hallo", "/greet"]


async def test_a_sender_the_server_did_not_issue_gets_401_and_nothing_else(
    client: Client,
) -> None:
    widget_style = "c" * 32
    for sender in ("default", "parent-1", widget_style, "A" * 43, 12, "", {"a": 1}):
        for path in ("/webhooks/rest/webhook", "/api/chat"):
            for message in ("/cjg_end", "ik denk aan zelfmoord"):
                response = await client.post(path, json={"sender": sender, "message": message})
                assert response.status == 401, (sender, path)
                refusal = await response.json()
                assert refusal["error"] == "unknown_conversation"
                assert ("crisis" in refusal) == ("zelfmoord" in message)  # the card, always
                assert TOKEN_HEADER not in response.headers
        if isinstance(sender, str):
            cid = client.app[CORE].conversation_id("api", sender)
            assert not await client.app[REDIS].exists(
                f"rasa:tracker:{cid}", redis_keys.conversation(cid), redis_keys.outbox(cid)
            )


async def test_the_header_still_works_and_wins_over_a_sender(client: Client) -> None:
    await chat(client, "header-a", "hallo")
    await chat(client, "header-b", "hallo")
    other = token_of(client, "header-b")
    response = await client.post(
        "/api/chat",
        json={"sender": other, "message": "/greet"},
        headers=as_user(client, "header-a"),
    )
    assert response.status == 200
    assert all("recipient_id" not in r for r in await response.json())
    assert await user_texts(client, token_of(client, "header-a")) == ["hallo", "/greet"]
    assert await user_texts(client, other) == ["hallo"]  # B's conversation untouched


async def test_new_sessions_count_against_the_address_limit(
    aiohttp_client: ClientFactory, settings: Settings
) -> None:
    own_db = settings.redis_url.rsplit("/", 1)[0] + "/7"
    strict = Settings(**{**settings.__dict__, "redis_url": own_db, "rate_per_address": 3})
    client = await aiohttp_client(create_app(strict))
    await client.app[REDIS].flushdb()
    made = [await client.post("/api/chat/session") for _ in range(3)]
    assert [r.status for r in made] == [201, 201, 201]
    refused = await client.post("/api/chat/session")
    assert refused.status == 429 and (await refused.json())["error"] == "rate_limited"
    assert TOKEN_HEADER not in refused.headers
    assert len(await client.app[REDIS].keys("cjg:api:conversation:*")) == 3
    foreign = await client.post("/api/chat/session", headers={"Origin": "https://evil.example"})
    assert foreign.status == 403
