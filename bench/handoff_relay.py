"""Handoff benchmark: relay latency user -> staff -> user, and claims per second.

Starts its own redis-server and messaging service (no Rasa needed: during a handoff no message
goes to Rasa). 200 conversations are with staff at once; each parent writes a message every
``--pace`` seconds. A staff console (websocket) answers each message at once through the staff
API; the parent reads the answer from its long-poll feed. Baseline in the same run: a bare
Redis pub/sub round trip, at the same pace and concurrency.

    .venv/bin/python bench/handoff_relay.py --conversations 200 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.credentials import api_tokens  # noqa: E402
from bot.pseudonym import pseudonymise  # noqa: E402
from bot.web_chat import TOKEN_HEADER  # noqa: E402
from common.content import service_messages  # noqa: E402
from handoff.accounts import Accounts  # noqa: E402
from handoff.hours import opening_hours  # noqa: E402
from handoff.presence import Presence  # noqa: E402
from handoff.service import HandoffService, Timing  # noqa: E402
from tests.servers import RedisServer  # noqa: E402

SECRET = "bench-pseudonym-secret-of-32-characters"
PASSWORD = "bench-wachtwoord-lang"
REPLY_TIMEOUT = 30.0  # seconds a parent waits for the staff reply before the run fails
STAFF = 5


async def login(url: str, n: int) -> tuple[aiohttp.ClientSession, str]:
    """A staff console's HTTP session (own cookies) and its CSRF token."""
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.post(
        url + "/staff/api/login", json={"username": f"bench{n}", "password": PASSWORD}
    ) as response:
        return session, (await response.json())["csrf"]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError as exc:
            if getattr(exc, "code", None):  # any HTTP answer means the server is up
                return
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


async def baseline(redis_url: str, conversations: int, seconds: float, pace: float) -> list[float]:
    """Redis pub/sub round trip: publish, a subscriber answers by publishing back."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    latencies: list[float] = []
    pending: dict[str, asyncio.Future[float]] = {}

    async def echo() -> None:
        sub = redis.pubsub(ignore_subscribe_messages=True)
        await sub.subscribe("bench:up")
        async for message in sub.listen():
            await redis.publish("bench:down", message["data"])

    async def collect() -> None:
        sub = redis.pubsub(ignore_subscribe_messages=True)
        await sub.subscribe("bench:down")
        async for message in sub.listen():
            future = pending.pop(message["data"], None)
            if future and not future.done():
                future.set_result(time.perf_counter())

    tasks = [asyncio.create_task(echo()), asyncio.create_task(collect())]
    await asyncio.sleep(0.2)
    stop = time.monotonic() + seconds

    async def user(i: int) -> None:
        await asyncio.sleep(random.random() * pace)
        n = 0
        while time.monotonic() < stop:
            key = f"{i}:{n}"
            n += 1
            future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
            pending[key] = future
            start = time.perf_counter()
            await redis.publish("bench:up", key)
            latencies.append(await asyncio.wait_for(future, 10) - start)
            await asyncio.sleep(pace)

    await asyncio.gather(*(user(i) for i in range(conversations)))
    for task in tasks:
        task.cancel()
    await redis.aclose()
    return latencies


async def relay(
    url: str, redis_url: str, conversations: int, seconds: float, pace: float
) -> tuple[list[float], list[float], list[float]]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    service = HandoffService(
        redis,
        service_messages(),
        Presence(redis, 600),
        opening_hours,
        Timing(silent_seconds=3600, retention_seconds=3600),
    )
    staff_http = [await login(url, n) for n in range(STAFF)]
    for n in range(STAFF):
        await service.presence.heartbeat(f"bench{n}")

    # Put every conversation in the queue, then let the staff members claim them in turn. Each
    # parent's conversation token is issued here, as the service issues it at a first message.
    owner: dict[str, int] = {}
    issued = api_tokens(redis, 3600)
    tokens = [issued.new() for _ in range(conversations)]
    for i, token in enumerate(tokens):
        cid = pseudonymise(SECRET, "api", token)
        await issued.issue(token, cid)
        hid, _ = await service.store.enqueue(
            cid, "api", reason="ask_human", urgent=False, summary={}
        )
        session, csrf = staff_http[i % STAFF]
        async with session.post(
            f"{url}/staff/api/handoffs/{hid}/claim", headers={"X-CSRF-Token": csrf}
        ) as response:
            assert response.status == 200, await response.text()
        owner[hid] = i % STAFF

    to_staff: list[float] = []
    round_trip: list[float] = []
    back: list[float] = []
    sent_at: dict[str, float] = {}
    replied_at: dict[str, float] = {}

    async def console(n: int) -> None:
        session, csrf = staff_http[n]
        async with session.ws_connect(url.replace("http", "ws") + "/staff/api/ws") as ws:
            async for msg in ws:
                event = json.loads(msg.data)
                entry = event.get("entry")  # the text comes only to the staff member who has it
                if event.get("type") != "message" or not entry or entry["role"] != "user":
                    continue
                if owner.get(event["hid"]) != n:
                    continue
                text = entry["text"]
                if text in sent_at:
                    to_staff.append(time.perf_counter() - sent_at[text])
                replied_at[text] = time.perf_counter()
                async with session.post(
                    f"{url}/staff/api/handoffs/{event['hid']}/messages",
                    json={"text": "re " + text},
                    headers={"X-CSRF-Token": csrf},
                ):
                    pass

    consoles = [asyncio.create_task(console(n)) for n in range(STAFF)]
    await asyncio.sleep(0.5)
    stop = time.monotonic() + seconds

    async def parent(i: int, http: aiohttp.ClientSession) -> None:
        as_parent = {TOKEN_HEADER: tokens[i]}
        after = "$"
        async with http.get(url + "/api/chat/updates", headers=as_parent) as response:
            first = await response.json()
            if "next" not in first:
                raise SystemExit(f"update feed failed: HTTP {response.status} {first}")
            after = first["next"]
        await asyncio.sleep(random.random() * pace)
        n = 0
        while time.monotonic() < stop:
            text = f"bericht {i}-{n}"
            n += 1
            start = time.perf_counter()
            sent_at[text] = start
            async with http.post(
                url + "/api/chat", json={"message": text}, headers=as_parent
            ) as response:
                if response.status != 200:  # e.g. rate limited: the benchmark would measure that
                    raise SystemExit(f"/api/chat answered HTTP {response.status}; stopping")
            deadline = time.monotonic() + REPLY_TIMEOUT
            while True:
                if time.monotonic() > deadline:  # fail, never hang: the reply did not come
                    raise SystemExit(f"no staff reply to {text!r} within {REPLY_TIMEOUT} s")
                async with http.get(
                    url + "/api/chat/updates",
                    params={"after": after, "wait": "10"},
                    headers=as_parent,
                ) as response:
                    body = await response.json()
                after = body["next"]
                if any(m["text"] == "re " + text for m in body["messages"]):
                    now = time.perf_counter()
                    round_trip.append(now - start)
                    if text in replied_at:
                        back.append(now - replied_at[text])
                    break
            await asyncio.sleep(pace)

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(parent(i, http) for i in range(conversations)))
    for task in consoles:
        task.cancel()
    for session, _ in staff_http:
        await session.close()
    await redis.aclose()
    return to_staff, back, round_trip


async def claims(url: str, redis_url: str, count: int) -> tuple[float, float]:
    """Claims per second through the staff API, and through the store directly (baseline)."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    service = HandoffService(
        redis, service_messages(), Presence(redis, 600), opening_hours, Timing(3600, 3600)
    )
    await service.presence.heartbeat("bench0")

    async def fill(prefix: str) -> list[str]:
        hids = []
        for i in range(count):
            cid = f"{prefix}-{i}"
            hid, _ = await service.store.enqueue(
                cid, "api", reason="ask_human", urgent=False, summary={}
            )
            hids.append(hid)
        return hids

    direct = await fill("direct")
    start = time.perf_counter()
    sem = asyncio.Semaphore(STAFF * 2)

    async def claim_direct(hid: str) -> None:
        async with sem:
            await service.store.claim(hid, "bench0")

    await asyncio.gather(*(claim_direct(h) for h in direct))
    direct_rate = count / (time.perf_counter() - start)

    via_api = await fill("api")
    sessions = [await login(url, n) for n in range(STAFF)]
    start = time.perf_counter()

    async def claim_api(i: int, hid: str) -> None:
        session, csrf = sessions[i % STAFF]
        async with (
            sem,
            session.post(
                f"{url}/staff/api/handoffs/{hid}/claim", headers={"X-CSRF-Token": csrf}
            ) as response,
        ):
            assert response.status == 200

    await asyncio.gather(*(claim_api(i, h) for i, h in enumerate(via_api)))
    api_rate = count / (time.perf_counter() - start)
    for session, _ in sessions:
        await session.close()
    await redis.aclose()
    return api_rate, direct_rate


def report(name: str, values: list[float], base: list[float]) -> None:
    p50, p99 = pct(values, 0.5), pct(values, 0.99)
    b50, b99 = pct(base, 0.5), pct(base, 0.99)
    print(
        f"{name:<22} n={len(values):>6}  p50 {p50:6.2f} ms ({p50 / b50:5.1f}x)  "
        f"p99 {p99:6.2f} ms ({p99 / b99:5.1f}x)"
    )


async def run(args: argparse.Namespace, url: str, redis_url: str) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    for n in range(STAFF):
        await Accounts(redis).add(f"bench{n}", f"Bench{n}", PASSWORD)
    await redis.aclose()
    print(
        f"{args.conversations} conversations with staff, one message per {args.pace}s each, "
        f"{args.seconds:.0f}s; {STAFF} staff consoles; rate limits raised out of the way. "
        "Ratios against a Redis pub/sub round trip at the same load, measured in this run."
    )
    base = await baseline(redis_url, args.conversations, args.seconds, args.pace)
    to_staff, back, round_trip = await relay(
        url, redis_url, args.conversations, args.seconds, args.pace
    )
    report("Redis pub/sub (base)", base, base)
    report("user -> staff", to_staff, base)
    report("staff -> user", back, base)
    report("user -> staff -> user", round_trip, base)
    api_rate, direct_rate = await claims(url, redis_url, args.claims)
    print(
        f"claims/s via staff API {api_rate:7.0f}   via store (base) {direct_rate:7.0f}   "
        f"ratio {api_rate / direct_rate:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--pace", type=float, default=2.0, help="seconds between messages")
    parser.add_argument("--claims", type=int, default=2000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        redis_server = RedisServer(Path(tmp))  # with a password, as in the stack
        redis_server.start()
        redis_url = redis_server.url()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "CJG_PORT": str(port),
            "CJG_REDIS_URL": redis_url,
            "CJG_RASA_URL": f"http://127.0.0.1:{free_port()}",
            "RASA_TOKEN": "bench-token-not-used-by-the-handoff",
            "CJG_PSEUDONYM_SECRET": SECRET,
            "CJG_CONTENT_DIR": str(ROOT / "content"),
            # One address sends for every simulated parent: the product's limits would refuse it.
            "CJG_RATE_PER_SENDER": "1000000",
            "CJG_RATE_PER_ADDRESS": "1000000",
        }
        log_path = ROOT / "var" / "log" / "bench-handoff-service.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        service_log = log_path.open("wb")
        service_proc = subprocess.Popen(
            [sys.executable, "-m", "bot"], cwd=ROOT, env=env, stdout=service_log,
            stderr=service_log,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            wait_http(url + "/health", 30)
            asyncio.run(run(args, url, redis_url))
        except BaseException:
            print(f"the service's log is in {log_path}", file=sys.stderr)
            raise
        finally:
            service_proc.terminate()
            service_proc.wait(10)
            redis_server.stop()


if __name__ == "__main__":
    main()
