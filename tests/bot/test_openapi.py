"""The OpenAPI description (docs/openapi.yaml) against the running service.

- The document is valid OpenAPI 3.1, and every example in it fits its schema.
- Every route the aiohttp application registers is documented, and every documented path and
  method is registered: a new route without documentation fails here, by name.
- Every documented operation is called on the real service (redis-server, the trained Rasa
  stack; a stand-in only for Telegram's Bot API), with requests built from the document's own
  examples. Each answer's status must be documented for that operation, and its body and
  required headers must fit the documented schemas. By the end, every documented status of
  every operation must have been answered once, and every request example sent once; an
  example that names a status ("... (400 invalid_wait)") must get exactly that status.
- /api/openapi.json serves the document and /api/docs a page made from it, with a strict
  Content-Security-Policy and nothing from the document unescaped.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application, Request
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec
from redis.asyncio import Redis
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from bot import Settings, create_app, web_docs
from bot.rate_limit import WINDOW
from bot.web_chat import TOKEN_HEADER
from handoff import keys
from insight.web_keys import UNCLEAR
from staff.sessions import COOKIE
from tests.bot.conftest import SECRET, ClientFactory
from tests.bot.telegram.fake_bot_api import FakeBotApi
from tests.conftest import ROOT, RasaStack, RedisServer, free_port
from tests.handoff.conftest import ALWAYS, content_copy
from tests.redis_db import fresh_db

Client = TestClient[Request, Application]
ServerFactory = Callable[[Application], Awaitable[TestServer]]

SPEC = web_docs.spec()
URI = "urn:cjg:openapi"
REGISTRY: Registry[Any] = Registry().with_resource(
    URI, Resource.from_contents(SPEC, default_specification=DRAFT202012)
)
METHODS = web_docs.METHODS
SERVICE_DB = 15  # this module's own database (docs/DEVELOPMENT.md), flushed first
PASSWORD = "een-lang-wachtwoord-123"
ACCOUNTS = {"anne": "staff", "bram": "staff", "dora": "admin", "ilse": "insight"}
RATE = 12  # messages a minute per conversation, so the test reaches 429 quickly
WEBHOOK_SECRET = "webhook-secret-0123456789"
TOO_LARGE = {"text": "x" * 300_000}  # over CJG_MAX_BODY_BYTES (256 kB)
STATUS_IN_SUMMARY = re.compile(r"\((\d{3})\b")


# --- the document --------------------------------------------------------------------------


def escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def pointer(*parts: str) -> str:
    return "".join(f"/{escape(p)}" for p in parts)


def lookup(at: str) -> Any:
    node: Any = SPEC
    for part in at.split("/")[1:]:
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def resolved(node: dict[str, Any], at: str) -> tuple[dict[str, Any], str]:
    """The node and where it is, with ``$ref`` followed."""
    while "$ref" in node:
        at = node["$ref"].removeprefix("#")
        node = lookup(at)
    return node, at


def schema_errors(instance: Any, schema_at: str) -> list[str]:
    validator = OAS31Validator({"$ref": f"{URI}#{schema_at}"}, registry=REGISTRY)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(the whole body)'}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path, operation) of every documented operation."""
    for path, method, _, op in web_docs.operations():
        yield method.upper(), path, op


def documented_answers() -> set[tuple[str, str, int]]:
    return {
        (method, path, int(status))
        for method, path, op in operations()
        for status in op["responses"]
    }


def parameters_of(method: str, path: str) -> dict[str, tuple[dict[str, Any], str]]:
    """The operation's parameters by name (path-level ones too), resolved, with where they are."""
    item = SPEC["paths"][path]
    found: dict[str, tuple[dict[str, Any], str]] = {}
    for at, listed in (
        (pointer("paths", path, "parameters"), item.get("parameters", [])),
        (
            pointer("paths", path, method.lower(), "parameters"),
            item[method.lower()].get("parameters", []),
        ),
    ):
        for i, parameter in enumerate(listed):
            node, node_at = resolved(parameter, f"{at}/{i}")
            found[node["name"]] = (node, node_at)
    return found


def request_body(method: str, path: str) -> tuple[dict[str, Any], str] | None:
    op = SPEC["paths"][path][method.lower()]
    if "requestBody" not in op:
        return None
    return resolved(op["requestBody"], pointer("paths", path, method.lower(), "requestBody"))


@dataclass(frozen=True)
class Example:
    """A value from the document; ``status`` when its summary names the answer it gets."""

    value: Any
    status: int | None
    key: tuple[str, str]  # where the examples are, and the name


def examples_at(holder: dict[str, Any], at: str) -> dict[str, Example]:
    found = {}
    for name, example in holder.get("examples", {}).items():
        status = STATUS_IN_SUMMARY.search(example.get("summary", ""))
        found[name] = Example(example["value"], int(status[1]) if status else None, (at, name))
    if "example" in holder:
        found[""] = Example(holder["example"], None, (at, ""))
    return found


def all_request_examples() -> dict[tuple[str, str], Example]:
    """Every request example of the document (parameters and bodies), once each."""
    found: dict[tuple[str, str], Example] = {}
    for method, path, _ in operations():
        for parameter, at in parameters_of(method, path).values():
            for example in examples_at(parameter, at).values():
                found[example.key] = example
        body = request_body(method, path)
        if body is not None:
            for media, content in body[0]["content"].items():
                for example in examples_at(content, body[1] + pointer("content", media)).values():
                    found[example.key] = example
    return found


# --- calling the service and checking its answers ------------------------------------------


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]  # case-insensitive as aiohttp gives them
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Record:
    """What the calls of one test saw: (METHOD, path, status) and the examples sent."""

    seen: set[tuple[str, str, int]] = field(default_factory=set)
    used: set[tuple[str, str]] = field(default_factory=set)


def check(method: str, path: str, answer: Answer) -> None:
    """The answer against the document: a documented status, the required headers, the body."""
    where = f"{method} {path} answered {answer.status}"
    op = SPEC["paths"][path][method.lower()]
    status = str(answer.status)
    assert status in op["responses"], (
        f"{where}, which docs/openapi.yaml does not document for it (it documents "
        f"{', '.join(op['responses'])}). Body: {answer.body[:300]!r}"
    )
    response, at = resolved(
        op["responses"][status], pointer("paths", path, method.lower(), "responses", status)
    )
    for name, header in response.get("headers", {}).items():
        header, header_at = resolved(header, at + pointer("headers", name))
        value = answer.headers.get(name)
        if value is None:
            assert not header.get("required"), f"{where} without the documented header {name}"
            continue
        errors = schema_errors(value, header_at + "/schema")
        assert not errors, f"{where} with the header {name}: {value!r}: {errors}"
    content = response.get("content")
    if content is None:
        return  # nothing documented about a body (101, 302, 304)
    media = answer.headers.get("Content-Type", "").split(";")[0].strip()
    assert media in content, f"{where} with {media!r}; documented: {', '.join(content)}"
    if "schema" not in content[media]:
        return
    instance = json.loads(answer.body) if media == "application/json" else answer.body.decode()
    errors = schema_errors(instance, at + pointer("content", media, "schema"))
    assert not errors, (
        f"{where}, and the body does not fit the documented schema:\n  "
        + "\n  ".join(errors[:10])
        + f"\nBody: {answer.body[:600]!r}"
    )


class Api:
    """A test client whose every answer is checked against the document and recorded."""

    def __init__(self, client: Client, record: Record) -> None:
        self.client = client
        self.record = record

    def body(self, method: str, path: str, name: str) -> Example:
        found = request_body(method, path)
        assert found is not None, f"{method} {path} documents no request body"
        content = found[0]["content"]
        media = next(iter(content))
        return examples_at(content[media], found[1] + pointer("content", media))[name]

    def parameter(self, method: str, path: str, parameter: str, name: str = "") -> Example:
        node, at = parameters_of(method, path)[parameter]
        found = examples_at(node, at)
        if not name and "" not in found:
            return next(iter(found.values()))  # the first of its named examples
        return found[name]

    def default_request(self, method: str, path: str) -> dict[str, Any]:
        """The operation's first examples: path parameters, required query and headers, body."""
        request: dict[str, Any] = {"params": {}, "query": {}, "headers": {}}
        for name, (node, at) in parameters_of(method, path).items():
            if node["in"] == "path" or node.get("required"):
                kind = {"path": "params", "query": "query", "header": "headers"}[node["in"]]
                request[kind][name] = next(iter(examples_at(node, at).values()))
        body = request_body(method, path)
        if body is not None:
            media, content = next(iter(body[0]["content"].items()))
            request["body"] = next(
                iter(examples_at(content, body[1] + pointer("content", media)).values())
            )
            request["content_type"] = media
        return request

    async def call(
        self,
        method: str,
        path: str,
        expect: int | None,
        *,
        params: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        raw: bytes | None = None,
    ) -> Answer:
        """One request; ``Example`` values count as sent, and one that names a status must
        get it. ``expect`` None: any documented status."""
        sent: list[Example] = []

        def value(item: Any) -> Any:
            if isinstance(item, Example):
                sent.append(item)
                return item.value
            return item

        url = path
        for name, item in (params or {}).items():
            url = url.replace("{" + name + "}", str(value(item)))
        sent_headers = {k: str(value(v)) for k, v in (headers or {}).items()}
        data: bytes | None = raw
        if body is not None:
            shown = value(body)
            data = shown.encode() if isinstance(shown, str) else json.dumps(shown).encode()
        if data is not None:
            sent_headers.setdefault("Content-Type", content_type)
        async with self.client.request(
            method,
            url,
            params={k: str(value(v)) for k, v in (query or {}).items()},
            headers=sent_headers,
            data=data,
            allow_redirects=False,
        ) as response:
            answer = Answer(response.status, response.headers, await response.read())
        check(method, path, answer)
        self.record.seen.add((method, path, answer.status))
        for example in sent:
            self.record.used.add(example.key)
            if example.status is not None:
                assert answer.status == example.status, (
                    f"The example {example.key[1]!r} of {method} {path} says it gets "
                    f"{example.status}; the service answered {answer.status}: {answer.body!r}"
                )
        if expect is not None:
            assert answer.status == expect, (
                f"{method} {url}: expected {expect}, got {answer.status}: {answer.body[:400]!r}"
            )
        return answer

    async def upgrade(self, path: str, query: dict[str, str] | None = None) -> None:
        """A WebSocket upgrade (101), closed again at once."""
        assert "101" in SPEC["paths"][path]["get"]["responses"]
        ws = await self.client.ws_connect(path, params=query)
        await ws.close()
        self.record.seen.add(("GET", path, 101))

    def set_cookie(self, value: str) -> None:
        self.client.session.cookie_jar.update_cookies(
            {COOKIE: value}, response_url=self.client.make_url("/staff")
        )


async def login(api: Api, username: str) -> dict[str, str]:
    """Logs in (the cookie goes into the client's jar); the CSRF header of the session."""
    body = {"username": username, "password": PASSWORD}
    answer = await api.call("POST", "/staff/api/login", 200, body=body)
    return {"X-CSRF-Token": str(answer.json()["csrf"])}


# --- the service -----------------------------------------------------------------------------


async def add_accounts(redis_server: RedisServer) -> None:
    """Staff accounts as an administrator makes them: with the real command line tool."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **redis_server.env(SERVICE_DB)}
    for username, role in ACCOUNTS.items():
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "staff.accounts_cli", "add", username),
            *("--name", username.capitalize(), "--role", role, "--password-stdin"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=ROOT,
        )
        _, error = await process.communicate(PASSWORD.encode() + b"\n")
        assert process.returncode == 0, error


def service_settings(redis_server: RedisServer, rasa_stack: RasaStack, **changes: Any) -> Settings:
    return Settings(
        **{
            "redis_url": redis_server.url(SERVICE_DB),
            "rasa_url": rasa_stack.url,
            "rasa_token": rasa_stack.token,
            "action_server_url": rasa_stack.action_url,
            "pseudonym_secret": SECRET,
            "rasa_timeout": 15,
            "rate_per_sender": RATE,
            "rate_per_address": 10**6,  # every call comes from 127.0.0.1
            "urgent_per_address": (10**6, 600),
            "urgent_per_service": (10**6, 600),
            "callback_key": "ab" * 32,
            **changes,
        }
    )


@pytest.fixture
def content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening hours round the clock, so a handoff waits for staff instead of a message."""
    monkeypatch.setenv("CJG_CONTENT_DIR", str(content_copy(tmp_path, ALWAYS)))


# --- the scenarios ---------------------------------------------------------------------------


async def pages_and_files(api: Api) -> None:
    await api.call("GET", "/api/openapi.json", 200)
    await api.call("GET", "/api/docs", 200)
    await api.call("GET", "/health", 200)
    for path in ("/demo", "/privacy", "/staff", "/staff/insight", "/widget/widget.js"):
        await api.call("GET", path, 200)
    for path, name in (("/widget/{name}", "style"), ("/demo/{name}", "style"),
                       ("/staff/static/{name}", "script")):  # fmt: skip
        await api.call("GET", path, 200, params={"name": api.parameter("GET", path, "name", name)})
        await api.call(
            "GET", path, 404, params={"name": api.parameter("GET", path, "name", "missing")}
        )
    # A browser's copy is still current: 304 for every file that documents it.
    for method, path, op in operations():
        if "304" in op["responses"]:
            request = api.default_request(method, path)
            first = await api.call(method, path, 200, params=request["params"])
            etag = first.headers["ETag"]
            await api.call(
                method, path, 304, params=request["params"], headers={"If-None-Match": etag}
            )


@dataclass
class Chats:
    left: str  # the token of a conversation that left a message outside a handoff
    queued: list[str]  # tokens of conversations queued for staff


async def new_conversation(api: Api, message: Any) -> tuple[str, list[dict[str, Any]]]:
    answer = await api.call("POST", "/api/chat", 200, body=message)
    token = answer.headers[TOKEN_HEADER]
    return token, answer.json()


async def chat(api: Api, token: str | Example, message: Any, expect: int = 200) -> Answer:
    return await api.call("POST", "/api/chat", expect, headers={TOKEN_HEADER: token}, body=message)


def events(replies: list[dict[str, Any]]) -> list[str]:
    return [r.get("custom", {}).get("handoff", {}).get("event", "") for r in replies]


async def callback_api(api: Api, redis_server: RedisServer) -> None:
    """A parent asks to be called back through /api/chat; staff take it, see the number and
    register the call (handoff/callbacks.py)."""
    token, replies = await new_conversation(api, {"message": "Kunnen jullie me terugbellen?"})
    assert "Mag ik je telefoonnummer doorgeven" in str(replies[-1]["text"])
    for said in ("/cjg_callback_yes", "06 1234 5678", "/cjg_callback_any"):
        answer = (await chat(api, token, {"message": said})).json()
    assert "We proberen je " in str(answer[-1]["text"])
    csrf = await login(api, "anne")
    listed = (await api.call("GET", "/staff/api/callbacks", 200)).json()
    (request,) = [c for c in listed["callbacks"] if c["state"] == "waiting"]
    assert listed["enabled"] is True and "1234" not in json.dumps(listed)
    base = "/staff/api/callbacks/{cbid}"
    cbid = {"cbid": request["id"]}
    unknown = {"cbid": api.parameter("GET", f"{base}/number", "cbid")}
    await api.call("GET", f"{base}/number", 403, params=cbid)  # not claimed
    await api.call("GET", f"{base}/number", 404, params=unknown)
    await api.call("POST", f"{base}/claim", 200, params=cbid, headers=csrf)
    await api.call("POST", f"{base}/claim", 409, params=cbid, headers=csrf)
    shown = await api.call("GET", f"{base}/number", 200, params=cbid)
    assert shown.json() == {"number": "06 1234 5678"}
    outcome = f"{base}/outcome"

    def example(name: str) -> Example:
        return api.body("POST", outcome, name)

    await api.call("POST", outcome, 400, params=cbid, headers=csrf, body=example("unknown"))
    await api.call("POST", outcome, 200, params=cbid, headers=csrf, body=example("retry"))
    await api.call("POST", outcome, 409, params=cbid, headers=csrf, body=example("reached"))
    await api.call("POST", f"{base}/claim", 200, params=cbid, headers=csrf)
    redis = Redis.from_url(redis_server.url(SERVICE_DB))
    await redis.delete(keys.callback_number(request["id"]))  # as if it expired
    await redis.aclose()
    await api.call("GET", f"{base}/number", 410, params=cbid)
    await api.call("POST", outcome, 200, params=cbid, headers=csrf, body={"outcome": "not_reached"})
    await api.call("GET", f"{base}/number", 404, params=cbid)  # gone with its request


async def rasa_rest(api: Api) -> None:
    """A plain Rasa REST client: a session first, then its sender at Rasa's own path."""
    webhook, session = "/webhooks/rest/webhook", "/api/chat/session"
    sender = (await api.call("POST", session, 201)).json()["sender"]
    replies = await api.call("POST", webhook, 200, body={"sender": sender, "message": "hallo"})
    assert replies.json() and all(r["recipient_id"] == sender for r in replies.json())
    await api.call("POST", webhook, 401, body=api.body("POST", webhook, "unissued"))
    await api.call("POST", webhook, 401, body=api.body("POST", webhook, "stranger"))
    await api.call("POST", webhook, 400, body={"sender": sender, "message": "   "})
    origin = api.parameter("POST", webhook, "Origin", "other")
    await api.call("POST", webhook, 403, headers={"Origin": origin}, body={"sender": sender})
    await api.call("POST", session, 403, headers={"Origin": origin})
    hallo = json.dumps({"sender": sender, "message": "hallo"}).encode()
    await api.call("POST", webhook, 415, raw=hallo, content_type="text/plain")


async def a_fresh_rate_window(needed: float = 30.0) -> None:
    """Waits for the next minute when less than ``needed`` seconds of this one are left: the
    sliding window estimates a flood split over two minutes (last minute's count weighted by
    its share of the last 60 s), which on a slow machine may let the one message through that
    should get 429; in one minute the count is exact."""
    left = WINDOW - time.time() % WINDOW
    if left < needed:
        await asyncio.sleep(left + 0.1)


async def chat_api(api: Api) -> str:
    """The chat API before any staff member is online; the token of a left message."""
    post, updates, typing = "/api/chat", "/api/chat/updates", "/api/chat/typing"
    token, replies = await new_conversation(api, api.body("POST", post, "hallo"))
    assert replies and all("recipient_id" not in r for r in replies)
    # Nobody online: a handoff becomes a message left for staff.
    asked = (await chat(api, token, api.body("POST", post, "button"))).json()
    assert "leave_message" in events(asked), asked
    left = (await chat(api, token, api.body("POST", post, "left_message"))).json()
    assert "message_left" in events(left), left
    again = await chat(api, token, api.body("POST", post, "service_button"))
    assert again.json()[0]["text"]
    own_sender = await api.call("POST", post, 401, body=api.body("POST", post, "rasa_rest"))
    assert TOKEN_HEADER not in own_sender.headers  # a sender it did not issue opens nothing
    await rasa_rest(api)
    crisis = await api.call("POST", post, 200, body=api.body("POST", post, "crisis"))
    assert "contacts" in crisis.json()[0]["custom"]["crisis"]

    # What is refused, and how.
    hallo = {"message": "hallo"}
    await api.call("POST", post, 415, raw=json.dumps(hallo).encode(), content_type="text/plain")
    origin = api.parameter("POST", post, "Origin", "other")
    await api.call("POST", post, 403, headers={"Origin": origin}, body=hallo)
    for name in ("empty", "not_text", "not_an_object"):
        await api.call("POST", post, 400, body=api.body("POST", post, name))
    too_long = await api.call("POST", post, 400, body={"message": "x" * 2001})
    assert too_long.json()["error"] == "message_too_long"
    stranger = api.parameter("GET", updates, TOKEN_HEADER)  # the right shape, never issued
    unknown = await chat(api, stranger, hallo, 401)
    assert "crisis" not in unknown.json() and TOKEN_HEADER not in unknown.headers
    card = await chat(api, stranger, api.body("POST", post, "crisis"), 401)
    assert card.json()["crisis"]["custom"]["crisis"]["contacts"]
    await a_fresh_rate_window()  # all of the flood in one minute: an exact count
    flood, _ = await new_conversation(api, hallo)
    for _ in range(RATE - 1):
        await chat(api, flood, {"message": "/cjg_cancel"})
    assert (await chat(api, flood, hallo, 429)).json()["error"] == "rate_limited"

    # The update feed and the typing signal.
    own = {TOKEN_HEADER: token}
    start = await api.call("GET", updates, 200, headers=own, query={
        "after": api.parameter("GET", updates, "after", "start"),
        "wait": api.parameter("GET", updates, "wait", "none")})  # fmt: skip
    assert start.json()["handoff"]["state"] == "bot"
    later = {"after": api.parameter("GET", updates, "after", "later"),
             "wait": api.parameter("GET", updates, "wait", "short")}  # fmt: skip
    await api.call("GET", updates, 200, headers=own, query=later)
    await api.call(
        "GET",
        updates,
        400,
        headers=own,
        query={"after": api.parameter("GET", updates, "after", "bad")},
    )
    for name in ("exponent", "too_long"):
        await api.call(
            "GET",
            updates,
            400,
            headers=own,
            query={"wait": api.parameter("GET", updates, "wait", name)},
        )
    this_site = f"http://{api.client.host}:{api.client.port}"
    await api.call("GET", updates, 200, headers={**own, "Origin": this_site})
    for path, method in ((updates, "GET"), (typing, "POST")):
        missing = await api.call(method, path, 401)
        assert missing.json()["error"] == "missing_conversation"
        await api.call(method, path, 401, headers={TOKEN_HEADER: stranger})
        await api.call(method, path, 403, headers={**own, "Origin": origin})
    await api.call("POST", typing, 200, headers=own)
    return token


async def staff_api(api: Api, left_token: str) -> None:
    """The console's API, as staff, a colleague and an admin use it."""
    login_path = "/staff/api/login"

    def login_example(name: str) -> Example:
        return api.body("POST", login_path, name)

    await api.call("GET", "/staff/api/me", 401)
    await api.call("POST", login_path, 400, body=login_example("incomplete"))
    await api.call("POST", login_path, 400, body=[1])
    await api.call("POST", login_path, 401, body=login_example("wrong"))
    elsewhere = {"Origin": "https://elders.example"}
    await api.call("POST", login_path, 403, headers=elsewhere, body=login_example("anne"))
    for _ in range(5):
        await api.call("POST", login_path, 401, body={"username": "carla", "password": "fout"})
    await api.call("POST", login_path, 429, body={"username": "carla", "password": "fout"})
    csrf = await login(api, "anne")
    assert (await api.call("GET", "/staff/api/me", 200)).json()["role"] == "staff"

    queue = (await api.call("GET", "/staff/api/queue", 200)).json()  # anne is online from now on
    (left,) = queue["messages"]
    b, _ = await new_conversation(api, {"message": "/ask_human"})
    await new_conversation(api, {"message": "/ask_human"})
    waiting = (await api.call("GET", "/staff/api/queue", 200)).json()["waiting"]
    assert [h["position"] for h in waiting] == [1, 2], waiting
    hid_b, hid_c = (h["hid"] for h in waiting)
    handoff = "/staff/api/handoffs/{hid}"
    unknown_hid = api.parameter("GET", handoff, "hid")
    detail = await api.call("GET", handoff, 200, params={"hid": hid_b})
    assert detail.json()["readable"] is True
    await api.call("GET", handoff, 404, params={"hid": unknown_hid})

    async def act(action: str, hid: Any, expect: int, body: Any = None) -> Answer:
        path = f"{handoff}/{action}"
        return await api.call("POST", path, expect, params={"hid": hid}, headers=csrf, body=body)

    def example(action: str, name: str) -> Example:
        return api.body("POST", f"{handoff}/{action}", name)

    no_csrf = await api.call("POST", f"{handoff}/claim", 403, params={"hid": hid_b})
    assert no_csrf.json()["error"] == "csrf"
    await act("claim", hid_b, 200)
    await act("claim", hid_b, 409)
    reply = example("messages", "reply")
    await act("messages", hid_b, 200, reply)
    for name in ("empty", "extra_field", "not_text", "bad_id"):
        await act("messages", hid_b, 400, example("messages", name))
    with_id = example("messages", "reply_with_id")  # sent twice: kept once, the same entry
    first = (await act("messages", hid_b, 200, with_id)).json()
    assert (await act("messages", hid_b, 200, with_id)).json()["id"] == first["id"]
    await act("messages", left["hid"], 409, reply)  # not this staff member's chat
    await act("notes", hid_b, 200, reply)
    await act("notes", unknown_hid, 404, reply)
    for name in ("empty", "extra_field", "not_text"):
        await act("notes", hid_b, 400, example("notes", name))
    feed = (await api.call("GET", "/api/chat/updates", 200, headers={TOKEN_HEADER: b})).json()
    assert feed["handoff"]["state"] == "with_staff" and feed["handoff"]["staff"] == "Anne"
    texts = [m["text"] for m in feed["messages"]]  # the reply sent twice reached the user once
    assert texts.count(reply.value["text"]) == 1 and texts.count(with_id.value["text"]) == 1

    await act("transfer", hid_b, 400, example("transfer", "nobody"))
    await act("transfer", hid_b, 200, example("transfer", "bram"))
    await act("release", hid_b, 409)  # bram's chat now
    await act("claim", hid_c, 200)
    await act("release", hid_c, 200)
    await act("claim", hid_c, 200)
    for name in ("unknown_topic", "unknown_outcome", "no_referral", "unknown_asker"):
        await act("close", hid_c, 400, example("close", name))
    await act("close", hid_c, 200, example("close", "referred"))
    await act("close", hid_c, 409, example("close", "advice"))
    await act("transfer", hid_c, 409, example("transfer", "bram"))  # closed
    await act("answer", left["hid"], 400, {"text": " "})
    await act("answer", left["hid"], 200, reply)
    await act("answer", left["hid"], 409, reply)  # once
    answered = await api.call("GET", "/api/chat/updates", 200, headers={TOKEN_HEADER: left_token})
    assert answered.json()["messages"][-1]["custom"]["handoff"]["event"] == "message_answer"

    refused = await api.call("GET", "/staff/api/audit", 403)
    assert refused.json()["error"] == "forbidden"
    history = (await api.call("GET", "/staff/api/history", 200)).json()
    assert hid_c in [h["hid"] for h in history["closed"]]
    await api.call("GET", "/staff/api/canned", 200)
    await api.call("GET", "/staff/api/registration", 200)
    await api.call("GET", "/staff/api/texts", 200)
    colleagues = (await api.call("GET", "/staff/api/staff", 200)).json()["staff"]
    assert {c["username"] for c in colleagues} == {"anne", "bram", "dora"}
    presence = "/staff/api/presence"
    for name in ("away", "online"):
        await api.call("POST", presence, 200, headers=csrf, body=api.body("POST", presence, name))
    await api.call("POST", presence, 400, headers=csrf, body=api.body("POST", presence, "bad"))

    # The console's live line, and what staff may not see.
    await api.upgrade("/staff/api/ws")
    await api.call("GET", "/staff/api/ws", 403, headers=elsewhere)
    await api.call("GET", "/staff/api/insight", 403)
    await api.call("GET", "/staff/insight/report", 403)
    await api.call("POST", "/staff/api/logout", 200, headers=csrf)
    await api.call("GET", "/staff/api/me", 401)
    await api.call("GET", "/staff/api/ws", 401)
    redirect = await api.call("GET", "/staff/insight/report", 302)
    assert redirect.headers["Location"] == "/staff"

    await login(api, "dora")
    audit = (await api.call("GET", "/staff/api/audit", 200)).json()["entries"]
    assert {"login", "opened", "claimed", "transferred", "closed", "answered"} <= {
        e["action"] for e in audit
    }


async def insight_api(api: Api) -> None:
    """The figures and the improvement loop, as the insight role uses them."""
    await new_conversation(api, {"message": "qwxz blorpt vrmbl"})  # not understood
    await login(api, "ilse")
    await api.call("GET", "/staff/api/queue", 403)  # not a console role
    await api.call("GET", "/staff/api/ws", 401)
    figures = "/staff/api/insight"
    period = {
        "from": api.parameter("GET", figures, "from", "day"),
        "to": api.parameter("GET", figures, "to"),
    }
    found = (await api.call("GET", figures, 200, query=period)).json()
    assert found["period"] == {"from": "2026-10-01", "to": "2026-12-31", "by": "week"}
    await api.call("GET", figures, 200)  # the last 8 weeks
    await api.call(
        "GET", figures, 200, query={"by": "month", "channel": "api", "municipality": "haarlem"}
    )
    await api.call(
        "GET", figures, 400, query={"from": api.parameter("GET", figures, "from", "bad")}
    )
    csv = await api.call("GET", "/staff/api/insight.csv", 200)
    assert csv.body.startswith("\ufeffonderdeel;".encode())
    await api.call("GET", "/staff/api/insight.csv", 400, query={"by": "dag"})
    report = "/staff/insight/report"
    await api.call(
        "GET", report, 200, query={"quarter": api.parameter("GET", report, "quarter", "q4")}
    )
    await api.call(
        "GET", report, 400, query={"quarter": api.parameter("GET", report, "quarter", "bad")}
    )
    await api.call("GET", report, 200)

    unclear = (await api.call("GET", "/staff/api/insight/unclear", 200)).json()
    if not unclear["items"]:  # the model may guess; the question is kept the same way then
        await api.client.app[UNCLEAR].add("qwxz blorpt vrmbl", "fallback", None)
        unclear = (await api.call("GET", "/staff/api/insight/unclear", 200)).json()
    item = unclear["items"][0]["id"]
    assert "ask_human" in {i["id"] for i in unclear["intents"]}
    mark = "/staff/api/insight/unclear/{item_id}"
    ilse = {"X-CSRF-Token": (await api.call("GET", "/staff/api/me", 200)).json()["csrf"]}
    for name in ("topic", "ignore", "example"):
        kept = await api.call(
            "POST",
            mark,
            200,
            params={"item_id": item},
            headers=ilse,
            body=api.body("POST", mark, name),
        )
        assert kept.json()["mark"]["as"] == name
    await api.call(
        "POST",
        mark,
        400,
        params={"item_id": item},
        headers=ilse,
        body=api.body("POST", mark, "bad"),
    )
    await api.call("POST", mark, 404, params={"item_id": api.parameter("POST", mark, "item_id")},
                   headers=ilse, body=api.body("POST", mark, "ignore"))  # fmt: skip
    marked = (await api.call("GET", "/staff/api/insight/unclear", 200)).json()
    assert marked["items"][0]["mark"] == {"as": "example", "intent": "ask_human"}


async def service_paths(api: Api) -> None:
    offer = "/go/{offer_id}"
    known = await api.call(
        "GET",
        offer,
        302,
        params={"offer_id": api.parameter("GET", offer, "offer_id", "known")},
        query={"via": api.parameter("GET", offer, "via")},
    )
    assert known.headers["Location"].startswith("https://")
    await api.call(
        "GET", offer, 404, params={"offer_id": api.parameter("GET", offer, "offer_id", "unknown")}
    )
    await api.call(
        "POST", "/telegram/webhook", 404, body=api.body("POST", "/telegram/webhook", "help")
    )


async def socket_io(api: Api) -> None:
    """Engine.IO's own answers; the events themselves are the widget tests' (tests/bot/widget)."""
    path = "/socket.io/"
    polling = {
        "EIO": api.parameter("GET", path, "EIO"),
        "transport": api.parameter("GET", path, "transport"),
    }
    handshake = await api.call("GET", path, 200, query=polling)
    sid = json.loads(handshake.body[1:])["sid"]
    connect = api.body("POST", path, "connect")
    await api.call(
        "POST", path, 200, query={**polling, "sid": sid}, body=connect, content_type="text/plain"
    )
    await api.call(
        "POST", path, 400, query={**polling, "sid": "nope"}, body=connect, content_type="text/plain"
    )
    elsewhere = {"Origin": "https://elders.example"}
    await api.call("GET", path, 400, query=polling, headers=elsewhere)
    await api.call("GET", path, 400, query={**polling, "EIO": "3"})
    await api.call("OPTIONS", path, 200, query=polling)
    await api.call("OPTIONS", path, 400, query=polling, headers=elsewhere)
    await api.upgrade(path, {"EIO": "4", "transport": "websocket"})


def refused(op: dict[str, Any]) -> bool:
    """Whether the operation refuses a missing CSRF header or a role (``Refused``)."""
    answer = op["responses"].get("403", {})
    return bool(answer.get("$ref", "").endswith("/Refused"))


async def without_access(api: Api) -> None:
    """Every staff and insight operation without a login (401), and with a login of the
    other kind of role or without the CSRF header (403)."""
    api.client.session.cookie_jar.clear()
    for method, path, op in operations():
        if "staffSession" in str(op.get("security")) and "401" in op["responses"]:
            request = api.default_request(method, path)
            await api.call(method, path, 401, params=request["params"], body=request.get("body"))
    for user, tag in (("ilse", "staff"), ("anne", "insight")):
        await login(api, user)
        for method, path, op in operations():
            if tag in op["tags"] and refused(op):
                request = api.default_request(method, path)
                await api.call(
                    method, path, 403, params=request["params"], body=request.get("body")
                )


async def bodies_too_large(api: Api) -> None:
    """Every operation that reads a body refuses one over 256 kB (here as an admin, who may
    use both the console and the figures)."""
    csrf = await login(api, "dora")
    for method, path, op in operations():
        if "413" not in op["responses"] or path == "/telegram/webhook":
            continue  # the webhook's is checked with Telegram on (below)
        request = api.default_request(method, path)
        refused = await api.call(
            method, path, 413, params=request["params"], headers=csrf, body=TOO_LARGE
        )
        assert refused.json()["error"] == "body_too_large"


async def redis_away(api: Api) -> None:
    """With Redis away, every operation that documents 503 answers it, with Retry-After; the
    rest answer as documented."""
    api.set_cookie("s" * 43)  # a session cookie that needs Redis to be looked up
    for method, path, op in operations():
        request = api.default_request(method, path)
        headers = {"X-CSRF-Token": "c" * 32, **request["headers"]}
        answer = await api.call(
            method, path, 503 if "503" in op["responses"] else None,
            params=request["params"], query=request["query"], headers=headers,
            body=request.get("body"), content_type=request.get("content_type", "application/json"),
        )  # fmt: skip
        if answer.status == 503 and path != "/health":
            assert answer.json()["error"] in ("storage_unavailable", "busy")


async def telegram_webhook(api: Api, bot_api: FakeBotApi) -> None:
    path = "/telegram/webhook"
    update = api.body("POST", path, "help")
    bot_api.user_id = update.value["message"]["chat"]["id"]  # whose messages it records
    secret = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    await api.call("POST", path, 403, body=update)
    await api.call(
        "POST", path, 403, headers={"X-Telegram-Bot-Api-Secret-Token": "fout"}, body=update
    )
    await api.call("POST", path, 400, headers=secret, raw=b"geen json")
    await api.call("POST", path, 413, headers=secret, body=TOO_LARGE)
    await api.call("POST", path, 200, headers=secret, body=update)
    (reply,) = await bot_api.wait_for("sendMessage", 1)  # the update was handled
    assert "/wissen" in reply["text"]


# --- the tests -------------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"] == "3.1.0"
    validate_spec(SPEC)  # the OpenAPI 3.1 schema, resolvable $refs, unique operationIds


def test_every_example_fits_its_schema() -> None:
    """Request examples that name no error status, and every response example."""
    for example in all_request_examples().values():
        if example.status is not None:
            continue
        at = example.key[0]  # a parameter, or a body's media type: both hold the schema
        errors = schema_errors(example.value, f"{at}/schema")
        assert not errors, f"The example {example.key[1]!r} at {at}: {errors}"
    for method, path, op in operations():
        for status, response in op["responses"].items():
            node, at = resolved(
                response, pointer("paths", path, method.lower(), "responses", status)
            )
            for media, content in node.get("content", {}).items():
                if "example" in content:
                    errors = schema_errors(
                        content["example"], at + pointer("content", media, "schema")
                    )
                    assert not errors, f"The example of {method} {path} {status}: {errors}"


def registered_routes(app: web.Application) -> set[tuple[str, str, str]]:
    """(METHOD, path, handler) of every route, sub-applications included (their paths carry
    their prefix); ``HEAD`` only where there is no ``GET`` (aiohttp adds one to every ``GET``)."""
    found: set[tuple[str, str, str]] = set()
    for resource in app.router.resources():
        if isinstance(resource, web.PrefixedSubAppResource):
            found |= registered_routes(resource._app)
            continue
        methods = {route.method for route in resource}
        for route in resource:
            if route.method == "HEAD" and "GET" in methods:
                continue
            handler = getattr(route.handler, "__qualname__", repr(route.handler))
            module = getattr(route.handler, "__module__", "?")
            found.add((route.method, resource.canonical, f"{module}.{handler}"))
    return found


def undocumented(app: web.Application) -> list[str]:
    documented = {(method, path) for method, path, _ in operations()}
    return sorted(
        f"{method} {path} (handler {handler})"
        for method, path, handler in registered_routes(app)
        if (method, path) not in documented
    )


def not_registered(app: web.Application) -> list[str]:
    registered = {(method, path) for method, path, _ in registered_routes(app)}
    return sorted(f"{m} {p}" for m, p, _ in operations() if (m, p) not in registered)


def bare_app() -> web.Application:
    return create_app(Settings(rasa_token="t" * 32, pseudonym_secret="s" * 32))


def test_every_route_is_documented_and_every_documented_route_exists() -> None:
    app = bare_app()
    missing = undocumented(app)
    assert not missing, (
        "Routes the service registers that docs/openapi.yaml does not document:\n  "
        + "\n  ".join(missing)
        + "\nDocument each (parameters, request body, every answer with its schema) and call it "
        "in tests/bot/test_openapi.py."
    )
    stale = not_registered(app)
    assert not stale, "Documented in docs/openapi.yaml, but no such route: " + ", ".join(stale)


def test_a_new_route_without_documentation_is_named() -> None:
    async def hidden(request: web.Request) -> web.Response:
        return web.json_response({})

    app = bare_app()
    app.router.add_post("/webhooks/other/webhook", hidden)
    extra = web.Application()
    extra.router.add_get("/list", hidden)
    app.add_subapp("/admin", extra)
    found = undocumented(app)
    assert [line.split(" (handler ")[0] for line in found] == [
        "GET /admin/list",
        "POST /webhooks/other/webhook",
    ]
    assert all(line.endswith("<locals>.hidden)") for line in found)  # where to look


def test_an_answer_that_does_not_fit_the_document_fails_the_check() -> None:
    def answer(status: int, body: Any) -> Answer:
        headers = {"Content-Type": "application/json"}
        return Answer(status, headers, json.dumps(body).encode())

    healthy = {"status": "ok", "failing": [], "components": {
        "redis": {"status": "ok"}, "action_server": {"status": "ok"},
        "rasa": {"status": "ok", "replicas": {"rasa-1": {"status": "ok"}}}}}  # fmt: skip
    check("GET", "/health", answer(200, healthy))
    with pytest.raises(AssertionError, match="does not fit the documented schema"):
        check("GET", "/health", answer(200, {**healthy, "status": "fine"}))
    with pytest.raises(AssertionError, match="does not fit the documented schema"):
        check("GET", "/health", answer(200, {**healthy, "extra": 1}))
    with pytest.raises(AssertionError, match="does not document"):
        check("GET", "/health", answer(500, {"error": "internal_error", "message": "x"}))
    error = {"error": "storage_unavailable", "message": "Even niet."}
    with pytest.raises(AssertionError, match="without the documented header Retry-After"):
        check("POST", "/api/chat", answer(503, error))


async def test_the_document_and_its_page_are_served(
    aiohttp_client: ClientFactory, redis_server: RedisServer
) -> None:
    settings = Settings(
        redis_url=redis_server.url(SERVICE_DB),
        rasa_url=f"http://127.0.0.1:{free_port()}",
        rasa_token="t" * 32,
        pseudonym_secret="s" * 32,
    )
    client = await aiohttp_client(create_app(settings))
    served = await client.get("/api/openapi.json")
    assert served.status == 200 and await served.json() == SPEC

    page = await client.get("/api/docs")
    assert page.status == 200 and page.content_type == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'; style-src 'sha256-")
    assert "script-src" not in policy and "unsafe-inline" not in policy
    html = await page.text()
    assert "<script" not in html.lower()
    for _, path, op in operations():
        assert f'id="{op["operationId"]}"' in html and f"<code>{path}</code>" in html, path
    # The document's texts are escaped: an example with markup shows as text.
    assert "&lt;b&gt;hoi&lt;/b&gt;" in html and "<b>hoi</b>" not in html


async def test_every_documented_answer_of_the_running_service(
    aiohttp_server: ServerFactory,  # first: the stand-in for Telegram must outlive the service
    aiohttp_client: ClientFactory,
    redis_server: RedisServer,
    rasa_stack: RasaStack,
    content: None,
) -> None:
    record = Record()
    async with fresh_db(redis_server, SERVICE_DB):
        pass
    await add_accounts(redis_server)
    main = Api(await aiohttp_client(create_app(service_settings(redis_server, rasa_stack))), record)
    await pages_and_files(main)
    left_token = await chat_api(main)
    await staff_api(main, left_token)
    await callback_api(main, redis_server)
    await insight_api(main)
    await service_paths(main)
    await socket_io(main)
    await without_access(main)
    await bodies_too_large(main)

    away = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    down = Api(
        await aiohttp_client(
            create_app(service_settings(redis_server, rasa_stack, redis_url=away))
        ),
        record,
    )
    await redis_away(down)

    # Rasa away: the message is not answered, and says so (and a session flood is refused).
    nowhere = f"http://127.0.0.1:{free_port()}"
    no_rasa = Api(
        await aiohttp_client(
            create_app(service_settings(redis_server, rasa_stack, rasa_url=nowhere))
        ),
        record,
    )
    unanswered = await no_rasa.call("POST", "/api/chat", 503, body={"message": "hallo"})
    assert unanswered.json()["error"] == "assistant_unavailable"
    assert unanswered.headers["Retry-After"]
    few = service_settings(redis_server, rasa_stack, rate_per_address=1)
    sessions = Api(await aiohttp_client(create_app(few)), record)
    flood = [(await sessions.call("POST", "/api/chat/session", None)).status for _ in range(3)]
    assert 429 in flood, flood

    bot_api = FakeBotApi()
    telegram = await aiohttp_server(bot_api.app)
    hooked = service_settings(
        redis_server,
        rasa_stack,
        telegram_token="123456:TEST-token",
        telegram_api_url=str(telegram.make_url("/bot")),
        telegram_mode="webhook",
        telegram_webhook_url="https://cjg.example/telegram/webhook",
        telegram_webhook_secret=WEBHOOK_SECRET,
    )
    await telegram_webhook(Api(await aiohttp_client(create_app(hooked)), record), bot_api)

    never = sorted(documented_answers() - record.seen)
    assert not never, "Documented answers no call got: " + ", ".join(
        f"{m} {p} {s}" for m, p, s in never
    )
    unsent = sorted(set(all_request_examples()) - record.used)
    assert not unsent, "Request examples never sent: " + ", ".join(
        f"{name or 'example'} at {at}" for at, name in unsent
    )
