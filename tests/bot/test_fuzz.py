"""Property-based fuzzing of the public entry points: whatever a client sends, /api/chat
answers with JSON and never a 500, and a widget socket never crashes or goes silent."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from base import redact
from bot import Settings, create_app
from bot.web_chat import TOKEN_HEADER
from tests.bot.conftest import ClientFactory
from tests.bot.widget.socket_client import RasaSocketClient
from tests.bot.widget.test_channel import ServerFactory

Client = TestClient[Request, Application]
JSON = {"Content-Type": "application/json"}
EXAMPLES = hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)
messages = st.text(max_size=300) | st.sampled_from(
    ["", " ", "<script>alert(1)</script>", "/cjg_rating_9", "/cjg_end", '/inform{"x": 1}', "\x00"]
)


@pytest.fixture(autouse=True)
async def _redaction_loaded() -> None:
    """deduce (and numpy with it) is imported in a thread when the app starts; hypothesis looks
    at ``sys.modules["numpy"]`` while it draws, so the import must be finished first."""
    await redact.preload()


@pytest.fixture
def roomy(settings: Settings) -> Settings:
    """No rate limits in the way: the fuzzer sends hundreds of messages from one address."""
    return Settings(**{**settings.__dict__, "rate_per_sender": 10**6, "rate_per_address": 10**6})


@pytest.fixture
async def api(aiohttp_client: ClientFactory, roomy: Settings) -> Client:
    return await aiohttp_client(create_app(roomy))


@EXAMPLES
@given(body=json_values, message=messages, raw=st.binary(max_size=200))
async def test_api_chat_never_fails_whatever_the_body(
    api: Client, body: Any, message: str, raw: bytes
) -> None:
    for payload in (
        json.dumps(body),
        json.dumps({"message": message}),
        json.dumps({"sender": None, "message": body}),
        json.dumps({"sender": "fuzz-1", "message": message}),  # not issued: 401
        raw,
    ):
        response = await api.post("/api/chat", data=payload, headers=JSON)
        assert response.status in (200, 400, 401, 413), await response.text()
        # only a "sender" (a Rasa REST client's) the server did not issue is refused as 401
        sent = json.loads(payload) if response.status == 401 else None
        assert sent is None or (isinstance(sent, dict) and sent.get("sender") is not None)
        answer = await response.json()
        if response.status == 400:
            assert answer["message"]  # a Dutch text a user can read
        assert (response.status == 200) == (TOKEN_HEADER in response.headers)
    untyped = await api.post("/api/chat", data=raw)  # not declared JSON
    assert untyped.status == 415 and (await untyped.json())["message"]


# What a client may put in the feed's query: anything, plus the values that once slipped
# through (nan, inf, a trailing newline, numbers past 64 bits).
query_values = (
    st.text(max_size=30)
    | st.floats().map(str)
    | st.integers().map(str)
    | st.from_regex(r"[0-9]{1,25}(-[0-9]{1,25})?\n?", fullmatch=True)
    | st.sampled_from(["nan", "-nan", "inf", "1e9", "0x10", "٣", "0%0A", "0\n", "$", "+", "-"])
)
VALID_WAIT = re.compile(r"[0-9]{1,2}(\.[0-9]{1,3})?")


@pytest.fixture
async def feed_token(api: Client) -> str:
    response = await api.post("/api/chat", json={"message": "/greet"})
    assert response.status == 200
    return response.headers[TOKEN_HEADER]


@EXAMPLES
@given(
    after=query_values,
    wait=query_values,
    extra=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
)
async def test_the_updates_feed_never_fails_whatever_the_query(
    api: Client, feed_token: str, after: str, wait: str, extra: dict[str, str]
) -> None:
    # a valid long wait would only wait (tested in test_web_chat); the fuzzer skips the slow ones
    assume(not (VALID_WAIT.fullmatch(wait) and float(wait) > 0.2))
    response = await api.get(
        "/api/chat/updates",
        params={**extra, "after": after, "wait": wait},
        headers={TOKEN_HEADER: feed_token},
    )
    assert response.status in (200, 400), await response.text()
    answer = await response.json()
    if response.status == 400:
        assert answer["error"] in ("invalid_after", "invalid_wait") and answer["message"]
    else:
        assert isinstance(answer["messages"], list) and isinstance(answer["next"], str)
        assert 0 <= float(wait) <= 25 and "\n" not in after + wait


@EXAMPLES
@given(token=st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=60))
async def test_a_made_up_token_is_refused_on_every_route(api: Client, token: str) -> None:
    headers = {TOKEN_HEADER: token}
    for response in (
        await api.post("/api/chat", json={"message": "/cjg_end"}, headers=headers),
        await api.get("/api/chat/updates", headers=headers),
        await api.post("/api/chat/typing", headers=headers),
    ):
        assert response.status == 401, token
        assert (await response.json())["error"] == "unknown_conversation"


@pytest.fixture
async def socket(aiohttp_server: ServerFactory, roomy: Settings) -> AsyncIterator[RasaSocketClient]:
    server = await aiohttp_server(create_app(roomy))
    client = RasaSocketClient(str(server.make_url("/")))
    await client.connect()
    yield client
    await client.close()


@EXAMPLES
@given(request=json_values, data=json_values, message=messages)
async def test_the_socket_survives_anything_and_always_answers(
    socket: RasaSocketClient, request: Any, data: Any, message: str
) -> None:
    await socket.sio.emit("session_request", request)
    await socket.next("session_confirm")
    socket.drain("cjg_status")
    await socket.sio.emit("cjg_user_typing", data)
    for uttered in (data, {"message": message, "session_id": socket.session_id}):
        await socket.sio.emit("user_uttered", uttered)
        reply = await socket.next("bot_uttered")
        assert isinstance(reply, dict)
        while await socket.quiet(seconds=0.05) is False:
            socket.drain("bot_uttered")
    assert socket.sio.connected
