"""A normal conversation leaves the stack's logs quiet (issue #16): no warning, no error, no
traceback and no message text in what Redis, Rasa, the action server and the messaging service
write, from their start to the end of a 20-turn conversation.

Every process runs as in production (the Procfile): Rasa and the action server through
``assistant/launch.py`` (the session's ``rasa_stack``), the service as ``python -m bot``, Redis
with a config file; each one's stdout and stderr go to its own file, as honcho would show them.
Start-up counts: an operator reads those lines too. The one exception is Redis's memory
overcommit warning, which is about the host's kernel setting (``vm.overcommit_memory``), not the
stack's configuration; it is allowed only on a host where that setting is indeed not 1.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.api_client import ApiConversation
from tests.browser import PASSWORD, Service, make_service
from tests.conftest import RasaStack, RedisServer

DB = 11  # the service's own Redis database: its handoff queue holds this test's chat only

# What a parent writes, in order: 20 turns through /api/chat, buttons sent as their payloads.
GREETING = ["goedemiddag!", "waarmee kan je me allemaal helpen?"]
PARENTING = [
    "onze dochter van 2 wil 's avonds echt niet gaan slapen, ze blijft maar uit bed komen",
    "/zoek_aanbod",  # "Zoek een training of webinar" under the answer
]
OFFERS = [
    "is er een cursus voor ouders van kinderen die snel boos worden?",
    '/zoek_aanbod{"offer_theme": "weerbaarheid"}',  # a theme button
    '/zoek_aanbod{"child_age": 8}',  # an age button
    '/inform{"municipality": "haarlem"}',  # the JSON payload of issue #16
]
DIVORCE = [
    "we gaan uit elkaar, hoe vertellen we dat aan onze kinderen van 6 en 9?",
    "mijn ex en ik hebben alleen nog maar ruzie en de kinderen zitten er middenin",
    "/deny",  # "Nee, nu niet"
]
PERSON = [
    "ben ik nou met een robot aan het chatten?",
    "ik wil graag met een echte medewerker praten",
    "ok, ik wacht wel even",  # while waiting: for the staff member, not for Rasa
]
WITH_STAFF = ["dank je, het gaat vooral om het slapen van onze jongste"]
AFTER = [
    "/cjg_rating_5",
    "slaan jullie op wat ik hier schrijf?",
    "hoeveel zakgeld moet ik mijn zoon van 10 eigenlijk geven?",
    "oke super bedankt",
    "doei doei",
]
TURNS = GREETING + PARENTING + OFFERS + DIVORCE + PERSON + WITH_STAFF + AFTER
STAFF_REPLY = "Hoi, ik ben Eva van het CJG. Vertel eens, hoe gaat het slapen nu?"

# A line at warning level or worse in any of the stack's formats: Python's logging (Rasa's
# "2026-12-04 12:00:00 WARNING  rasa..."; the service's "... ERROR bot.x ..."), Rasa's JSON
# structlog lines ("level": "error"), the warnings module ("x.py:1: DeprecationWarning: ..."),
# tracebacks, and Redis's real warnings ("# WARNING ...").
BAD_LINE = re.compile(
    r"\b(WARNING|WARN|ERROR|CRITICAL|FATAL)\b|\"level\": \"(warning|error|critical)\""
    r"|\b\w*Warning\b:|Traceback \(most recent call last\)|\bException\b"
)
# Redis writes its start and stop banner at its warning level ("#"): those lines are no warnings.
REDIS_LINE = re.compile(r"^\d+:[A-Z] \d\d [A-Z][a-z]{2} \d{4} [\d:.]+ (?P<level>[.*#-]) ")
OVERCOMMIT = "WARNING Memory overcommit must be enabled"


def lines(data: bytes) -> list[str]:
    return data.decode("utf-8", "replace").splitlines()


@dataclass
class Log:
    """One process's log: start-up is what it wrote before it answered."""

    name: str
    path: Path
    ready_at: int
    redis: bool = False

    def text(self) -> str:
        return self.path.read_bytes().decode("utf-8", "replace")

    def parts(self, since: int) -> tuple[list[str], list[str]]:
        """(start-up lines, lines from ``since`` on)."""
        data = self.path.read_bytes()
        return lines(data[: self.ready_at]), lines(data[since:])

    def bad(self, chunk: list[str], startup: bool) -> list[str]:
        """The lines of ``chunk`` that are warnings or worse."""
        if not self.redis:
            return [line for line in chunk if BAD_LINE.search(line)]
        overcommit_off = Path("/proc/sys/vm/overcommit_memory").read_text().strip() != "1"
        found = []
        for line in chunk:
            match = REDIS_LINE.match(line)
            if startup and "WARNING" not in line:
                continue  # the banner ("# Server initialized"): Redis's normal start
            if startup and OVERCOMMIT in line and overcommit_off:
                continue  # true of this host, not of the stack (README: Operations)
            if startup or match is None or match["level"] == "#" or BAD_LINE.search(line):
                found.append(line)
        return found


@pytest.fixture
def service(redis_server: RedisServer, rasa_stack: RasaStack, tmp_path: Path) -> Iterator[Service]:
    service = make_service(redis_server, rasa_stack, tmp_path, DB, staff=("eva",))
    service.start()
    yield service
    service.stop()


class Staff:
    """Eva at the staff API, as the console uses it."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http, self.url, self.csrf = http, url + "/staff/api", ""

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"X-CSRF-Token": self.csrf} if self.csrf else {}
        async with self.http.request(
            method, self.url + path, json=body, headers=headers
        ) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def log_in(self) -> None:
        self.csrf = (await self.call("POST", "/login", {"username": "eva", "password": PASSWORD}))[
            "csrf"
        ]


async def feed_until(chat: ApiConversation, event: str) -> list[dict[str, Any]]:
    """The user's update feed until a message with ``custom.handoff.event == event``."""
    seen: list[dict[str, Any]] = []
    for _ in range(10):
        seen += (await chat.updates(wait=3))["messages"]
        if any((m.get("custom") or {}).get("handoff", {}).get("event") == event for m in seen):
            return seen
    raise AssertionError(f"no {event!r} in {seen}")


async def test_a_normal_conversation_logs_no_warning_and_no_text(
    redis_server: RedisServer, rasa_stack: RasaStack, service: Service
) -> None:
    logs = [
        Log("redis", redis_server.log, redis_server.ready_at, redis=True),
        Log("rasa", rasa_stack.log("rasa"), rasa_stack.ready_at["rasa"]),
        Log("actions", rasa_stack.log("actions"), rasa_stack.ready_at["actions"]),
        Log("service", service.log, service.log.stat().st_size),
    ]
    since = {log.name: log.path.stat().st_size for log in logs}
    said: list[str] = []
    chat_replies: dict[str, list[dict[str, Any]]] = {}
    jar = aiohttp.CookieJar(unsafe=True)  # the staff cookie on 127.0.0.1
    async with aiohttp.ClientSession() as http, aiohttp.ClientSession(cookie_jar=jar) as eva:
        chat, staff = ApiConversation(http, service.url), Staff(eva, service.url)

        async def say(text: str) -> list[dict[str, Any]]:
            said.append(text)
            chat_replies[text] = await chat.say(text)
            return chat_replies[text]

        for text in GREETING + PARENTING + OFFERS + DIVORCE:
            assert await say(text), text  # the bot answers each one
        themed = " ".join(str(m.get("text")) for m in chat_replies[OFFERS[1]])
        assert "Weerbaarheid" in themed  # the JSON payload reached Rasa unchanged

        await staff.log_in()  # Eva opens the console: someone can take the chat
        await staff.call("POST", "/presence", {"status": "online"})
        for text in PERSON:
            await say(text)
        waiting = (await staff.call("GET", "/queue"))["waiting"]
        assert len(waiting) == 1, [chat_replies[t] for t in PERSON]
        hid = waiting[0]["hid"]
        await staff.call("POST", f"/handoffs/{hid}/claim")
        await staff.call("POST", f"/handoffs/{hid}/messages", {"text": STAFF_REPLY})
        got = await feed_until(chat, "staff_message")
        assert STAFF_REPLY in [m["text"] for m in got]
        for text in WITH_STAFF:
            await say(text)
        choices = await staff.call("GET", "/registration")
        outcome = next(k for k, v in choices["outcomes"].items() if not v["needs_referral"])
        await staff.call(
            "POST",
            f"/handoffs/{hid}/close",
            {"topic": next(iter(choices["topics"])), "outcome": outcome},
        )
        await feed_until(chat, "closed")
        for text in AFTER:
            assert await say(text), text
    assert said == TURNS and len(TURNS) == 20

    texts = [*TURNS, STAFF_REPLY]
    problems: list[str] = []
    for log in logs:
        startup, during = log.parts(since[log.name])
        problems += [f"{log.name} (start-up): {line}" for line in log.bad(startup, True)]
        problems += [f"{log.name}: {line}" for line in log.bad(during, False)]
        whole = log.text()
        for text in texts:
            for form in {text, json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}:
                if form in whole:
                    problems.append(f"{log.name} holds the message text {text!r}")
    assert not problems, "\n".join(problems)


async def test_rasa_logs_no_text_when_a_caller_gave_up(rasa_stack: RasaStack) -> None:
    """Rasa logs a message it could not answer in time (the service stopped waiting) at ERROR,
    with the text, unless the launcher blanks it: a failure must not leak more than a success."""
    text = "onze zoon van 12 wil niet meer naar school sinds de verhuizing"
    log = rasa_stack.log("rasa")
    since = log.stat().st_size
    rasa_stack.pause()  # overloaded: the caller gives up, Rasa finds that out when it goes on
    try:
        async with aiohttp.ClientSession() as http:
            with pytest.raises(TimeoutError):
                await http.post(
                    rasa_stack.url + "/webhooks/cjg/webhook",
                    json={"sender": "quiet-logs-timeout", "message": text},
                    headers={"Authorization": f"Bearer {rasa_stack.token}"},
                    timeout=aiohttp.ClientTimeout(total=1),
                )
    finally:
        rasa_stack.resume()
    for _ in range(100):
        written = log.read_bytes()[since:].decode("utf-8", "replace")
        if "rest.message.received" in written:
            break
        await asyncio.sleep(0.2)
    assert "rest.message.received.timeout" in written  # the failure is logged ...
    assert text not in written and json.dumps(text)[1:-1] not in written  # ... not the text
