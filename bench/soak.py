"""Soak run with chaos: parents, youths and staff consoles on the production-like layout while
one part after another is restarted; counts every message per leg and fails on any loss.

The layout (cluster/: nginx with TLS in front of two service instances, two Rasa replicas, an
action server, a Redis master, replica and three sentinels) runs on loopback. Through nginx:

- parents and youths are Socket.IO clients that do what the widget does (``session_request``
  with ``last_id``, every message with an id of its own (``cjg_mid``) and ``cjg_retry``, sent
  again with the same id until acknowledged, replies acknowledged and deduplicated by id,
  reconnecting by themselves). Most talk to the bot; some ask for a person and write to the
  staff member until every message is answered; youths say "Ik ben jongere" first;
- staff consoles log in through /staff/api, keep their websocket (with pings) and claim the
  waiting chats; they answer every parent message, and after a gap in the live feed (a
  ``resync``, a reconnect) they read their chats' transcripts again, as the console does.

A chaos task restarts one part at a time every ``--chaos-every`` seconds and waits until the
layout is healthy again before the next: a service instance, a Rasa replica, the Redis master
(killed, so Sentinel promotes the replica; then started again as the new replica), a sentinel,
the action server, nginx.

Three legs are counted: parent -> bot (acknowledged = ``{"ok": true}``, delivered = a reply
arrived; Rasa's tracker must hold the message exactly once), parent -> staff (acknowledged,
delivered = a console saw it; the transcript must hold it exactly once) and staff -> parent
(acknowledged = the console's 200, delivered = the parent's socket got it). Acknowledged and
never delivered is lost; delivered twice (two outbox ids, two tracker or transcript entries) is
duplicated. Exit code 1 when anything was lost, duplicated or failed, or a part did not come
back; everything started is stopped on every way out (errors, Ctrl-C, SIGTERM).

    .venv/bin/python bench/soak.py --minutes 10        # about 14 minutes in all
    .venv/bin/python bench/soak.py --smoke             # a few seconds of load, no restart
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import random
import shutil
import signal
import ssl
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio
import yaml
from redis.asyncio import Redis
from redis.exceptions import RedisError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from base.client_redis import RedisTarget, aclose_redis, redis_client  # noqa: E402
from bench.handoff_relay import _interrupted, gathered, letters, pct  # noqa: E402
from bot import safety  # noqa: E402
from bot.pseudonym import pseudonymise  # noqa: E402
from cluster import Layout  # noqa: E402
from cluster.sentinel import command  # noqa: E402
from handoff import keys  # noqa: E402
from staff.accounts import Accounts  # noqa: E402
from tests.servers import RasaStack  # noqa: E402

BOT_MESSAGES = [
    "mijn zoon van 4 wil niet slapen",
    "wat kan deze chat allemaal?",
    "mijn dochter van 9 wil niet naar school",
    "hoe zit het met mijn privacy",
    "onze peuter krijgt veel driftbuien",
    "ben jij een robot?",
    "dank je wel",
]
YOUTH_MESSAGES = [
    "blijft dit anoniem?",
    "weten mijn ouders dit?",
    "ik word gepest op school",
    "mijn ouders gaan scheiden",
]
DAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
PASSWORD = "soak-wachtwoord-lang-genoeg"
LEGS = ("parent -> bot", "parent -> staff", "staff -> parent")
ACK_TIMEOUT = 60.0  # the widget's: no acknowledgement this long, and it sends again
ASSISTANT_RETRIES = (2.0, 4.0, 8.0, 16.0)  # the widget's schedule; then it gives up
STORAGE_RETRY = 16.0  # the widget keeps trying every 16 s while storage is away
HEALTHY_TIMEOUT = 180.0  # a restarted part must be back (and /health ok) within this
PROGRESS_EVERY = 15.0
MAX_CHATS = 4  # chats one console takes at a time


class SoakFailed(Exception):
    """The run cannot go on; the message says why."""


@dataclass
class Sent:
    """One message as its sender saw it, and what became of it."""

    leg: str
    text: str
    started: float
    acked_at: float | None = None
    delivered_at: float | None = None
    deliveries: int = 0
    failed: str | None = None
    kept: int | None = None  # how often the server's record holds it, where the soak reads it

    def deliver(self) -> None:
        self.deliveries += 1
        if self.delivered_at is None:
            self.delivered_at = time.monotonic()


@dataclass
class Tally:
    messages: list[Sent] = field(default_factory=list)
    to_staff: dict[str, Sent] = field(default_factory=dict)  # parent's handoff text -> it
    replies: dict[str, Sent] = field(default_factory=dict)  # staff reply text -> it
    # per conversation pseudonym, the texts of acknowledged and of all messages to the bot
    bot_acked: dict[str, Counter[str]] = field(default_factory=dict)
    bot_sent: dict[str, Counter[str]] = field(default_factory=dict)
    server_lost: Counter[str] = field(default_factory=Counter)  # per leg (Rasa's trackers)
    # each copy more than was sent, as the server recorded it: leg, wall-clock time
    extra_copies: list[tuple[str, float]] = field(default_factory=list)
    conversations: Counter[str] = field(default_factory=Counter)  # per kind
    redelivered: int = 0  # a message id the client had already: dropped, as the widget does
    problems: list[str] = field(default_factory=list)  # what went wrong besides the counts
    # part, wall-clock start and end, outcome
    chaos: list[tuple[str, float, float, str]] = field(default_factory=list)

    def add(self, sent: Sent) -> Sent:
        self.messages.append(sent)
        return sent

    def leg(self, name: str) -> list[Sent]:
        return [m for m in self.messages if m.leg == name]


@dataclass
class Soak:
    """What every simulated client shares."""

    url: str
    ssl: ssl.SSLContext
    secret: str
    rng: random.Random
    tally: Tally = field(default_factory=Tally)
    load_until: float = 0.0  # no new conversation or message after this
    give_up_at: float = 0.0  # nothing is waited for after this
    stopping: bool = False
    think: tuple[float, float] = (2.0, 6.0)
    redis: Redis | None = None  # the service's Redis, through the sentinels: what was kept
    smoke: bool = False

    async def pause(self, low: float | None = None, high: float | None = None) -> None:
        await asyncio.sleep(self.rng.uniform(low or self.think[0], high or self.think[1]))


def _newer(entry_id: str, than: str) -> bool:
    def parts(value: str) -> tuple[int, int]:
        ms, _, seq = value.partition("-")
        return int(ms), int(seq or 0)

    return parts(entry_id) > parts(than)


def _resolve(future: asyncio.Future[Any], *args: Any) -> None:
    if not future.done():
        future.set_result(args[0] if args else None)


class WidgetUser:
    """One conversation in the widget: a Socket.IO client as web/widget/widget.js is one."""

    def __init__(self, soak: Soak, kind: str) -> None:
        self.soak = soak
        self.kind = kind
        self.session_id: str | None = None
        self.last_id = "0"
        self.state = "bot"
        self.bot_replies = 0
        self.confirmed = asyncio.Event()
        self.generation = 0  # one more at every confirmed (re)connection
        self.news = asyncio.Event()  # anything arrived
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=soak.ssl))
        self.client = socketio.AsyncClient(
            reconnection=True,
            reconnection_delay=1,
            reconnection_delay_max=5,
            http_session=self.http,
        )
        self.client.on("connect", self._connected)
        self.client.on("disconnect", self._disconnected)
        self.client.on("session_confirm", self._confirm)
        self.client.on("bot_uttered", self._uttered)
        self.client.on("cjg_status", self._status)

    @property
    def cid(self) -> str:
        assert self.session_id is not None
        return pseudonymise(self.soak.secret, "widget", self.session_id)

    async def _connected(self) -> None:
        await self.client.emit(
            "session_request", {"session_id": self.session_id, "last_id": self.last_id}
        )

    async def _disconnected(self, *_: Any) -> None:
        self.confirmed.clear()

    async def _confirm(self, session_id: str) -> None:
        if self.session_id not in (None, session_id):
            self.soak.tally.problems.append("a resumed widget session got a new id")
        self.session_id = session_id
        self.generation += 1
        self.confirmed.set()

    async def _status(self, status: dict[str, Any]) -> None:
        self.state = str(status.get("state", self.state))
        self.news.set()

    async def _uttered(self, message: dict[str, Any]) -> bool:
        entry_id = message.get("id")
        if isinstance(entry_id, str) and entry_id:
            if not _newer(entry_id, self.last_id):
                self.soak.tally.redelivered += 1
                return True  # the widget drops it; the acknowledgement is still due
            self.last_id = entry_id
        handoff = (message.get("custom") or {}).get("handoff") or {}
        if handoff.get("event") == "staff_message":
            reply = self.soak.tally.replies.get(str(message.get("text", "")))
            if reply is None:
                self.soak.tally.problems.append("a parent got a staff message nobody sent")
            else:
                reply.deliver()
        else:
            self.bot_replies += 1
        self.news.set()
        return True

    async def start(self) -> None:
        self.soak.tally.conversations[self.kind] += 1
        deadline = time.monotonic() + ACK_TIMEOUT
        while True:
            try:
                await self.client.connect(
                    self.soak.url, socketio_path="socket.io", transports=["websocket"]
                )
                break
            except socketio.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise SoakFailed("a widget could not connect within 60 s") from None
                await asyncio.sleep(1)
        await self._ready()

    async def _ready(self) -> bool:
        remaining = self.soak.give_up_at - time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.confirmed.wait(), max(0.1, remaining))
        return self.confirmed.is_set()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.disconnect()
        await self.http.close()

    async def say(self, text: str, leg: str | None) -> Sent | None:
        """Sends one message as the widget does, until it is acknowledged or given up; ``leg``
        None for the service's own buttons (not counted)."""
        sent = Sent(leg or "control", text, time.monotonic())
        if leg is not None:
            self.soak.tally.add(sent)
        if leg == "parent -> staff":
            self.soak.tally.to_staff[text] = sent
        replies_before = self.bot_replies
        mid = uuid.uuid4().hex
        tries = 0
        while True:
            if time.monotonic() > self.soak.give_up_at or not await self._ready():
                sent.failed = "no acknowledgement before the end of the run"
                break
            if leg == "parent -> bot" and self.session_id is not None:
                self.soak.tally.bot_sent.setdefault(self.cid, Counter())[text] += int(tries == 0)
            tries += 1
            ack = await self._emit(text, mid)
            if ack is None:
                continue  # no acknowledgement (a drop, a restart): the same id again
            if ack.get("ok") is True:
                sent.acked_at = time.monotonic()
                break
            error = ack.get("error")
            if error == "in_progress":
                await asyncio.sleep(float(ack.get("retry_after", 2)))
            elif error == "storage_unavailable":
                await asyncio.sleep(STORAGE_RETRY)
            elif error == "assistant_unavailable" and tries <= len(ASSISTANT_RETRIES):
                await asyncio.sleep(ASSISTANT_RETRIES[tries - 1])
            else:
                sent.failed = f"refused: {error}"
                break
        if leg == "parent -> bot" and sent.acked_at is not None:
            self.soak.tally.bot_acked.setdefault(self.cid, Counter())[text] += 1
            if await self._until(lambda: self.bot_replies > replies_before, 10):
                sent.deliver()
        return sent

    async def _emit(self, text: str, mid: str) -> dict[str, Any] | None:
        """One try: the acknowledgement, or None when the connection went (or none came)."""
        ack: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        generation = self.generation
        data = {"message": text, "session_id": self.session_id, "cjg_mid": mid, "cjg_retry": True}
        try:
            await self.client.emit("user_uttered", data, callback=functools.partial(_resolve, ack))
        except socketio.exceptions.SocketIOError:
            await asyncio.sleep(0.5)
            return None
        ended = time.monotonic() + ACK_TIMEOUT
        while not ack.done() and time.monotonic() < ended and generation == self.generation:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(ack), 0.5)
        if not ack.done():
            ack.cancel()
            return None
        result = ack.result()
        return result if isinstance(result, dict) else None

    async def _until(self, check: Callable[[], bool], seconds: float) -> bool:
        ended = min(time.monotonic() + seconds, self.soak.give_up_at)
        while not check() and time.monotonic() < ended:
            self.news.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.news.wait(), 0.5)
        return check()

    # --- what the people do ---------------------------------------------------------------

    async def talk(self, messages: list[str], count: int) -> None:
        for text in self.soak.rng.sample(messages, min(count, len(messages))):
            if time.monotonic() > self.soak.load_until:
                return
            await self.soak.pause()
            await self.say(text, "parent -> bot")

    async def ask_a_person(self, label: str, count: int) -> None:
        """Asks for a person, writes ``count`` messages, waits for every answer and ends."""
        await self.say("/ask_human", "parent -> bot")
        if not await self._until(lambda: self.state in ("waiting", "with_staff"), 30):
            self.soak.tally.problems.append(f"a handoff did not start (state {self.state!r})")
            return
        mine: list[str] = []
        texts: list[str] = []
        for n in range(count):
            if time.monotonic() > self.soak.load_until:
                break
            await self.soak.pause()
            text = f"bericht {label} {letters(n)}"
            if safety.check(text) is not None:
                raise SoakFailed(f"the soak's own text {text!r} matches a safety phrase")
            await self.say(text, "parent -> staff")
            texts.append(text)
            mine.append("antwoord op " + text)
        tally = self.soak.tally
        await self._until(
            lambda: all(r in tally.replies and tally.replies[r].deliveries for r in mine), 120
        )
        await kept_in_transcript(self.soak, self.cid, texts)  # before the end redacts it
        ending = "/cjg_end" if self.state == "with_staff" else "/cjg_cancel"
        await self.say(ending, None)


KINDS = ("parent", "parent_person", "youth", "youth_person")
MIX = (60, 20, 15, 5)  # percent: most parents talk to the bot, some ask for a person


async def conversation(soak: Soak, number: int) -> None:
    """One conversation of a kind drawn at random (``MIX``), or in turn in a smoke run, so that
    a few seconds see every kind: youths say so first, and a few of them ask for a person."""
    kind = KINDS[(number + 1) % len(KINDS)] if soak.smoke else soak.rng.choices(KINDS, MIX)[0]
    user = WidgetUser(soak, kind)
    try:
        await user.start()
        await user.say("/greet", "parent -> bot")
        if kind.startswith("youth"):
            await soak.pause()
            await user.say("/ik_ben_jongere", "parent -> bot")
        messages = YOUTH_MESSAGES if kind.startswith("youth") else BOT_MESSAGES
        await user.talk(messages, soak.rng.randint(1, 2) if "person" in kind else 4)
        if kind.endswith("person") and time.monotonic() < soak.load_until:
            await user.ask_a_person(letters(number), soak.rng.randint(3, 6))
    finally:
        await user.close()


async def parent_slot(soak: Soak, slot: int, slots: int) -> None:
    """One place for a user: conversations one after the other until the load ends."""
    await asyncio.sleep(slot * 0.7)  # not all at once
    number = slot
    while time.monotonic() < soak.load_until:
        await conversation(soak, number)
        number += slots


class Console:
    """One staff member's console: login, websocket with pings, claims, answers."""

    def __init__(self, soak: Soak, username: str) -> None:
        self.soak = soak
        self.username = username
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=soak.ssl),
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            timeout=aiohttp.ClientTimeout(total=30),
        )
        self.csrf = ""
        self.mine: set[str] = set()
        self.seen: set[str] = set()  # transcript entry ids read
        self.to_answer: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.queue_news = asyncio.Event()
        self.ready = asyncio.Event()  # logged in and the live line open

    async def call(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        """One API call until it gets an answer from the service (nginx or the instance may be
        restarting): its status and JSON body."""
        while True:
            try:
                async with self.http.request(
                    method, self.soak.url + path, json=body, headers={"X-CSRF-Token": self.csrf}
                ) as response:
                    if response.status in (502, 503, 504) and not self._late():
                        await asyncio.sleep(1)
                        continue
                    data = await response.json() if response.content_type.endswith("json") else {}
                    return response.status, data
            except (aiohttp.ClientError, TimeoutError):
                if self._late():
                    return 0, {}
                await asyncio.sleep(1)

    def _late(self) -> bool:
        return time.monotonic() > self.soak.give_up_at

    async def run(self) -> None:
        status, me = await self.call(
            "POST", "/staff/api/login", {"username": self.username, "password": PASSWORD}
        )
        if status != 200:
            raise SoakFailed(f"staff login answered HTTP {status}")
        self.csrf = me["csrf"]
        await self.call("POST", "/staff/api/presence", {"status": "online"})
        tasks = [self._socket(), self._claims(), *(self._replier() for _ in range(2))]
        await asyncio.gather(*tasks)

    async def close(self) -> None:
        await self.http.close()

    async def _socket(self) -> None:
        """The live line, reconnected as the console does; after a gap, a fresh read."""
        url = self.soak.url.replace("https://", "wss://") + "/staff/api/ws"
        first = True
        while not self.soak.stopping:
            try:
                async with self.http.ws_connect(url, heartbeat=None) as ws:
                    pinger = asyncio.create_task(self._ping(ws))
                    self.ready.set()
                    try:
                        if not first:
                            await self._reread()
                        first = False
                        async for msg in ws:
                            if msg.type != aiohttp.WSMsgType.TEXT:
                                break
                            await self._event(json.loads(msg.data))
                    finally:
                        pinger.cancel()
            except (aiohttp.ClientError, TimeoutError):
                pass
            if not self.soak.stopping:
                await asyncio.sleep(1)

    async def _ping(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while True:
            await ws.send_str(json.dumps({"type": "ping"}))
            await asyncio.sleep(15)

    async def _event(self, event: dict[str, Any]) -> None:
        kind, hid = event.get("type"), event.get("hid")
        if kind == "resync":
            await self._reread()
        elif kind == "queue":
            self.queue_news.set()
        elif kind == "closed" and hid in self.mine:
            self.mine.discard(str(hid))
        elif kind == "message" and hid in self.mine and event.get("entry"):
            self._entry(str(hid), event["entry"])

    def _entry(self, hid: str, entry: dict[str, Any]) -> None:
        if entry.get("role") != "user" or entry.get("id") in self.seen:
            return
        self.seen.add(str(entry.get("id")))
        sent = self.soak.tally.to_staff.get(str(entry.get("text")))
        if sent is None:
            return  # not the soak's own handoff text (e.g. the question before the handoff)
        sent.deliver()
        self.to_answer.put_nowait((hid, str(entry["text"])))

    async def _reread(self) -> None:
        for hid in list(self.mine):
            await self._read(hid)

    async def _read(self, hid: str) -> None:
        status, body = await self.call("GET", f"/staff/api/handoffs/{hid}")
        if status == 200:
            for entry in body.get("transcript", []):
                self._entry(hid, entry)

    async def _claims(self) -> None:
        while not self.soak.stopping:
            self.queue_news.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.queue_news.wait(), 2)
            if len(self.mine) >= MAX_CHATS or self.soak.stopping:
                continue
            status, queue = await self.call("GET", "/staff/api/queue")
            for item in queue.get("waiting", []) if status == 200 else []:
                if len(self.mine) >= MAX_CHATS:
                    break
                hid = str(item["hid"])
                claimed, _ = await self.call("POST", f"/staff/api/handoffs/{hid}/claim")
                if claimed == 200:
                    self.mine.add(hid)
                    await self._read(hid)

    async def _replier(self) -> None:
        while True:
            hid, text = await self.to_answer.get()
            await self.soak.pause(0.5, 2.0)
            reply = Sent("staff -> parent", "antwoord op " + text, time.monotonic())
            self.soak.tally.replies[reply.text] = self.soak.tally.add(reply)
            # One id for the reply however often it is sent, as the console does: a reply
            # whose answer was lost (nginx restarting) is sent again and kept once.
            body = {"text": reply.text, "id": str(uuid.uuid4())}
            status, _ = await self.call("POST", f"/staff/api/handoffs/{hid}/messages", body)
            if status == 200:
                reply.acked_at = time.monotonic()
            else:
                reply.failed = f"HTTP {status}"


# --- chaos ------------------------------------------------------------------------------------


# Rasa's restarts last: each takes minutes on 2 busy cores (it loads its model), so a 10-minute
# run reaches every quick part first.
CHAOS_ORDER = ("web1", "redis", "actions", "sentinel1", "nginx", "web2", "rasa1", "rasa2")


class Chaos:
    """Restarts one part at a time and waits until the layout is healthy again."""

    def __init__(self, soak: Soak, layout: Layout, every: float, order: tuple[str, ...]) -> None:
        self.soak = soak
        self.layout = layout
        self.every = every
        self.order = [p for p in order if p in layout.parts or (p == "redis" and layout.sentinels)]
        self.now: str | None = None

    async def run(self) -> None:
        step = 0
        while True:
            await asyncio.sleep(self.every)
            if time.monotonic() + 5 > self.soak.load_until:
                return
            part = self.order[step % len(self.order)]
            step += 1
            self.now = part
            began, wall = time.monotonic(), time.time()
            outcome = "ok"
            try:
                if part == "redis":
                    part = await self._fail_over()
                else:
                    await asyncio.to_thread(self.layout.restart, part)
                await self._healthy()
            except (SoakFailed, RuntimeError, OSError) as exc:
                outcome = f"FAILED: {exc}"
            self.soak.tally.chaos.append((part, wall, time.time(), outcome))
            print(f"  chaos: {part} restarted, healthy after {time.monotonic() - began:.1f} s"
                  if outcome == "ok" else f"  chaos: {part} {outcome}", flush=True)  # fmt: skip
            self.now = None
            if outcome != "ok":
                raise SoakFailed(f"{part} did not come back: {outcome}")

    async def _fail_over(self) -> str:
        """Kills the current master (SIGKILL), waits until Sentinel promotes the replica, then
        starts the old master again (it comes back as the new replica) and waits until it is
        in sync, or the next failover would have nothing to promote; the part's name."""
        part = await asyncio.to_thread(self.layout.current_master)
        port = self.layout.ports[part]
        await asyncio.to_thread(self.layout.kill, part)
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError, TypeError, ValueError):
                if await asyncio.to_thread(self._master_port) != port:
                    break
            if time.monotonic() > deadline:
                raise SoakFailed("Sentinel promoted no replica within 60 s")
            await asyncio.sleep(0.3)
        await asyncio.to_thread(self.layout.restart, part)
        deadline = time.monotonic() + HEALTHY_TIMEOUT
        while not await asyncio.to_thread(self._replica_online):
            if time.monotonic() > deadline:
                raise SoakFailed("the old master did not come back as the new master's replica")
            await asyncio.sleep(0.5)
        return f"{part} (failover)"

    def _master_port(self) -> int:
        """The master's port as the first sentinel that answers names it."""
        target = RedisTarget.from_env(self.layout.env)
        for _, port in target.sentinels:
            with contextlib.suppress(OSError):
                reply = command(port, target.password or "", "SENTINEL", "get-master-addr-by-name",
                                target.master)  # fmt: skip
                if isinstance(reply, list) and len(reply) == 2:
                    return int(reply[1])
        raise OSError("no sentinel answered")

    def _replica_online(self) -> bool:
        with contextlib.suppress(OSError):
            password = RedisTarget.from_env(self.layout.env).password or ""
            info = str(command(self._master_port(), password, "INFO", "replication"))
            return "connected_slaves:1" in info and "state=online" in info
        return False

    async def _healthy(self) -> None:
        """/health through nginx answers "ok" three times in a row (so both instances, with
        every Rasa replica and Redis, are likely back)."""
        deadline = time.monotonic() + HEALTHY_TIMEOUT
        in_a_row = 0
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self.soak.ssl)) as s:
            while in_a_row < 3:
                if time.monotonic() > deadline:
                    raise SoakFailed(f"/health not ok within {HEALTHY_TIMEOUT:.0f} s")
                try:
                    async with s.get(self.soak.url + "/health") as response:
                        body = await response.json()
                        ok = response.status == 200 and body.get("status") == "ok"
                except (aiohttp.ClientError, TimeoutError, ValueError):
                    ok = False
                in_a_row = in_a_row + 1 if ok else 0
                await asyncio.sleep(0.5)


# --- what the servers kept ----------------------------------------------------------------------


async def kept_in_transcript(soak: Soak, cid: str, texts: list[str]) -> None:
    """Every acknowledged message of a parent to staff is in the handoff's transcript exactly
    once. Read before the chat ends: at its end the transcript is redacted (base/redact.py).
    Retried while Redis fails over."""
    assert soak.redis is not None
    while True:
        try:
            found: dict[str, list[float]] = {}  # text -> when each copy was kept
            for hid in await soak.redis.smembers(keys.handoffs_of(cid)):
                for entry_id, fields in await soak.redis.xrange(keys.transcript(_text(hid))) or []:
                    entry = {_text(k): _text(v) for k, v in (fields or {}).items()}
                    if entry.get("role") == "user":
                        at = int(_text(entry_id).split("-")[0]) / 1000
                        found.setdefault(entry.get("text", ""), []).append(at)
            break
        except (RedisError, OSError):
            if time.monotonic() > soak.give_up_at:
                soak.tally.problems.append("a transcript could not be read (Redis away)")
                return
            await asyncio.sleep(1)
    for text in texts:
        copies = sorted(found.get(text, []))
        soak.tally.to_staff[text].kept = len(copies)
        soak.tally.extra_copies += [("parent -> staff", at) for at in copies[1:]]


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def check_trackers(soak: Soak, env: dict[str, str]) -> None:
    """Every acknowledged message to the bot is in Rasa's tracker of its conversation, and no
    message more often than the parent sent it (a retry with the same id must not count)."""
    base, token = env["CJG_RASA_URL"], env["RASA_TOKEN"]
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        for cid, sent in soak.tally.bot_sent.items():
            async with http.get(
                f"{base}/conversations/{cid}/tracker", params={"token": token}
            ) as response:
                if response.status != 200:
                    raise SoakFailed(f"Rasa's tracker answered HTTP {response.status}")
                tracker = await response.json()
            found: dict[str, list[float]] = {}  # text -> when Rasa took each copy in
            for event in tracker.get("events", []):
                if event.get("event") == "user":
                    found.setdefault(str(event.get("text")), []).append(float(event["timestamp"]))
            acked = soak.tally.bot_acked.get(cid, Counter())
            for text in sent:
                copies = sorted(found.get(text, []))
                soak.tally.server_lost["parent -> bot"] += max(0, acked[text] - len(copies))
                extra = copies[len(copies) - max(0, len(copies) - sent[text]) :]
                soak.tally.extra_copies += [("parent -> bot", at) for at in extra]


# --- the run --------------------------------------------------------------------------------------


def figures(tally: Tally) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for leg in LEGS:
        messages = tally.leg(leg)
        latencies = [m.delivered_at - m.started for m in messages if m.delivered_at is not None]
        out[leg] = {
            "sent": len(messages),
            "acknowledged": sum(m.acked_at is not None for m in messages),
            "delivered": sum(m.deliveries > 0 for m in messages),
            "lost": sum(
                m.acked_at is not None and (not m.deliveries or m.kept == 0) for m in messages
            )
            + tally.server_lost[leg],
            # A copy both kept twice and seen twice counts once; Rasa's extra copies (bot leg)
            # are known per text only, not per message.
            "duplicated": sum(max(0, max(m.deliveries, m.kept or 0) - 1) for m in messages)
            + (sum(e == "parent -> bot" for e, _ in tally.extra_copies) if leg == LEGS[0] else 0),
            "seen twice": sum(max(0, m.deliveries - 1) for m in messages),
            "failed": sum(m.failed is not None for m in messages),
            "p50": pct(latencies, 0.5) if latencies else float("nan"),
            "p99": pct(latencies, 0.99) if latencies else float("nan"),
        }
    return out


def report(tally: Tally, args: argparse.Namespace, seconds: float) -> bool:
    """Prints the tables; True when nothing was lost, duplicated or failed."""
    table = figures(tally)
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(tally.conversations.items()))
    print(f"\n{seconds / 60:.1f} minutes of load, {args.parents} users at a time, {args.staff} "
          f"staff consoles; conversations: {kinds}")  # fmt: skip
    head = ("leg", "sent", "acked", "delivered", "lost", "dupl.", "failed", "p50 ms", "p99 ms")
    print("{:<16} {:>6} {:>6} {:>9} {:>5} {:>5} {:>6} {:>8} {:>8}".format(*head))
    for leg, f in table.items():
        print(f"{leg:<16} {f['sent']:>6} {f['acknowledged']:>6} {f['delivered']:>9} "
              f"{f['lost']:>5} {f['duplicated']:>5} {f['failed']:>6} {f['p50']:>8.0f} "
              f"{f['p99']:>8.0f}")  # fmt: skip
    print(f"(dupl.: kept twice by the server's record, Rasa's tracker or the transcript, or "
          f"delivered twice under two ids; of those seen twice by a person: "
          f"{sum(f['seen twice'] for f in table.values())}. {tally.redelivered} repeated "
          "deliveries of an id the client had were dropped, as the widget drops them.)"
          )  # fmt: skip
    print("chaos steps:" if tally.chaos else "chaos steps: none")
    for part, began, ended, outcome in tally.chaos:
        print(f"  {_clock(began)} {part:<26} healthy again after {ended - began:5.1f} s  {outcome}")
    for leg, at in sorted(tally.extra_copies, key=lambda e: e[1]):
        print(f"  extra copy ({leg}) kept at {_clock(at)}: {_near(tally, at)}")
    for m in tally.messages:
        if m.failed is not None:
            print(f"  failed ({m.leg}): {m.failed}")
    for problem, n in Counter(tally.problems).items():
        print(f"  problem: {problem} ({n}x)")
    bad = sum(f["lost"] + f["duplicated"] + f["failed"] for f in table.values())
    chaos_ok = all(outcome == "ok" for *_, outcome in tally.chaos)
    return bad == 0 and not tally.problems and chaos_ok


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(at))


def _near(tally: Tally, at: float) -> str:
    """The restart a moment belongs to: during it, or within 30 s after it was healthy."""
    for part, began, ended, _ in tally.chaos:
        if began - 2 <= at <= ended + 30:
            return f"{'during' if at <= ended else f'{at - ended:.0f} s after'} {part}"
    return "no restart near it"


async def progress(soak: Soak, began: float, chaos: Chaos | None) -> None:
    while True:
        await asyncio.sleep(PROGRESS_EVERY)
        now = time.monotonic()
        load = max(0.0, soak.load_until - now)
        tally = soak.tally
        what = f"restarting {chaos.now}" if chaos and chaos.now else "idle"
        drain = soak.give_up_at - soak.load_until
        phase = (
            f"~{load:.0f} s of load left, then at most {drain:.0f} s to finish"
            if load
            else f"finishing, at most {soak.give_up_at - now:.0f} s left"
        )
        print(f"  {now - began:4.0f} s: {phase}; {sum(tally.conversations.values())} "
              f"conversations, {len(tally.messages)} messages, "
              f"{sum(m.acked_at is not None for m in tally.messages)} acknowledged, "
              f"{sum(m.deliveries > 0 for m in tally.messages)} delivered; chaos {what}",
              flush=True)  # fmt: skip


async def run(soak: Soak, layout: Layout, args: argparse.Namespace) -> float:
    """The load, the consoles and the chaos until the end; the seconds of load."""
    soak.redis = redis_client(RedisTarget.from_env(layout.env))
    try:
        return await _run(soak, layout, args)
    finally:
        await aclose_redis(soak.redis)


async def _run(soak: Soak, layout: Layout, args: argparse.Namespace) -> float:
    assert soak.redis is not None
    for n in range(args.staff):
        await Accounts(soak.redis).add(f"soak{n}", f"Soak{n}", PASSWORD)
    consoles = [Console(soak, f"soak{n}") for n in range(args.staff)]
    began = time.monotonic()
    soak.load_until = began + args.seconds
    soak.give_up_at = soak.load_until + args.drain
    chaos = Chaos(soak, layout, args.chaos_every, CHAOS_ORDER) if args.chaos_every else None
    console_tasks = [asyncio.ensure_future(c.run()) for c in consoles]

    async def consoles_until_stopped() -> None:
        try:
            await asyncio.gather(*console_tasks)
        except asyncio.CancelledError:
            if not soak.stopping:
                raise

    async def users() -> None:
        for console in consoles:  # logged in and live first: the staff are there
            await asyncio.wait_for(console.ready.wait(), 120)
        await gathered(*(parent_slot(soak, i, args.parents) for i in range(args.parents)))
        soak.stopping = True
        for task in console_tasks:
            task.cancel()

    ticker = asyncio.create_task(progress(soak, began, chaos))
    try:
        await gathered(users(), consoles_until_stopped(), *([chaos.run()] if chaos else []))
    finally:
        ticker.cancel()
        soak.stopping = True
        for task in console_tasks:
            task.cancel()
        await asyncio.gather(*console_tasks, return_exceptions=True)
        for console in consoles:
            await console.close()
    loaded = min(time.monotonic(), soak.load_until) - began
    print("Load over; checking what Rasa's trackers kept ...", flush=True)
    await check_trackers(soak, layout.env)
    return loaded


def content_open_all_day(directory: Path) -> Path:
    """content/ with the team online at every hour, so a run at night still hands over."""
    target = directory / "content"
    shutil.copytree(ROOT / "content", target)
    hours = target / "opening_hours.yml"
    spec = yaml.safe_load(hours.read_text())
    spec.update(weekly={day: ["00:00", "23:59:59"] for day in DAYS}, extra_closed_days=[])
    hours.write_text(yaml.safe_dump(spec, allow_unicode=True))
    return target


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10, help="minutes of load (10)")
    parser.add_argument("--parents", type=int, default=10, help="users at a time (10)")
    parser.add_argument("--staff", type=int, default=3, help="staff consoles (3)")
    parser.add_argument("--chaos-every", type=float, default=60,
                        help="seconds between restarts (60); 0: no chaos")  # fmt: skip
    parser.add_argument("--drain", type=float, default=120,
                        help="seconds after the load to finish what is under way")  # fmt: skip
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--smoke", action="store_true", help="a few seconds, no restart")
    args = parser.parse_args(argv)
    args.seconds = args.minutes * 60
    args.instances, args.replicas, args.sentinels = 2, 2, True
    args.think = (2.0, 6.0)
    if args.smoke:  # what fits the test command's budget: one Rasa, one Redis, no restart
        # (each restart can still double a message now and then, docs/PERFORMANCE.md "Soak
        # run": the full run shows it; the test command must not fail by chance)
        args.seconds, args.parents, args.staff, args.chaos_every, args.drain = 20, 3, 1, 0, 40
        args.replicas, args.sentinels, args.think = 1, False, (0.5, 1.5)
    return args


def soak_once(
    args: argparse.Namespace,
    directory: Path,
    rasa: RasaStack | None = None,
    settings: dict[str, str] | None = None,
) -> bool:
    """One soak on a fresh layout under ``directory``; True when nothing was lost, duplicated
    or failed. ``rasa``: an already running Rasa stack instead of the layout's own replicas
    (the test command's smoke shares the test session's, which saves the slowest start)."""
    for text in BOT_MESSAGES + YOUTH_MESSAGES:
        if safety.check(text) is not None:
            sys.exit(f"The soak's message {text!r} matches a safety phrase: change it.")
    replicas = "the test session's Rasa" if rasa else f"{args.replicas} Rasa replica(s)"
    print(
        f"Soak: {args.seconds / 60:.1f} min of load with {args.parents} users at a time and "
        f"{args.staff} consoles, one restart every {args.chaos_every:.0f} s; then up to "
        f"{args.drain:.0f} s to finish and the checks. Starting the layout first "
        f"({args.instances} instances, {replicas}; 1-3 minutes on 2 cores).",
        flush=True,
    )
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(mode=0o700, parents=True)
    settings = {
        "CJG_CONTENT_DIR": str(content_open_all_day(directory)),
        # Every simulated user comes from 127.0.0.1 through nginx: one address.
        "CJG_RATE_PER_ADDRESS": "1000000",
        **(settings or {}),
    }
    layout = Layout(directory / "layout", instances=args.instances,
                    rasa_replicas=args.replicas, sentinels=args.sentinels, rasa=rasa,
                    settings=settings)  # fmt: skip
    ok = False
    try:
        layout.start(progress=lambda line: print("  " + line, flush=True))
        soak = Soak(layout.url, layout.context(), layout.env["CJG_PSEUDONYM_SECRET"],
                    random.Random(args.seed), think=args.think, smoke=args.smoke)  # fmt: skip
        seconds = asyncio.run(run(soak, layout, args))
        ok = report(soak.tally, args, seconds)
    except (SoakFailed, RuntimeError, OSError, RedisError, aiohttp.ClientError) as exc:
        print(f"\nFAILED: {type(exc).__name__}: {exc}\nLogs: {layout.directory}",
              file=sys.stderr)  # fmt: skip
    finally:
        if signal.getsignal(signal.SIGINT) is _interrupted:  # run by main(): a second Ctrl-C
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # cannot skip the clean-up
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("Stopping the layout ...", flush=True)
        layout.stop()
    return ok


def main() -> None:
    args = arguments()
    for name in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(name, _interrupted)
    try:
        # logs and data stay for a look after the run
        ok = soak_once(args, ROOT / "var" / "soak")
    except KeyboardInterrupt:
        print("\nInterrupted; the layout is stopped.", file=sys.stderr)
        raise SystemExit(130) from None
    if not ok:
        sys.exit("Soak FAILED: something was lost, duplicated or failed, or a part did not come "
                 "back (above).")  # fmt: skip
    print("Soak passed: nothing lost, nothing duplicated, every part came back.")


if __name__ == "__main__":
    main()
