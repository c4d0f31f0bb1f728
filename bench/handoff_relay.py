"""Handoff benchmark: relay latency user -> staff -> user, and claims per second.

Starts its own redis-server and messaging service (no Rasa needed: during a handoff no message
goes to Rasa). 200 conversations are with staff at once; each parent writes a message every
``--pace`` seconds. A staff console (websocket) answers each message at once through the staff
API; the parent reads the answer from its long-poll feed. Baseline in the same run: a bare
Redis pub/sub round trip, at the same pace and concurrency.

Every wait has a time limit, and anything but the expected answer (an HTTP error, a service
message such as "probeer het zo nog eens", a closed console socket) stops the run with a clear
error and exit code 1: error replies are never measured. Redis and the service are stopped on
the way out, also after an error, Ctrl-C or SIGTERM.

    .venv/bin/python bench/handoff_relay.py --conversations 200 --seconds 30
    .venv/bin/python bench/handoff_relay.py --appendfsync everysec   # durability's cost
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import string
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import FrameType
from typing import Any

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import RedisError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot import safety  # noqa: E402
from bot.credentials import api_tokens  # noqa: E402
from bot.pseudonym import pseudonymise  # noqa: E402
from bot.web_chat import TOKEN_HEADER  # noqa: E402
from common.content import service_messages  # noqa: E402
from handoff.hours import opening_hours  # noqa: E402
from handoff.presence import Presence  # noqa: E402
from handoff.service import HandoffService, Timing  # noqa: E402
from handoff.store import HandoffStore  # noqa: E402
from staff.accounts import Accounts  # noqa: E402
from tests.servers import STACK_APPENDFSYNC, RedisServer  # noqa: E402

SECRET = "bench-pseudonym-secret-of-32-characters"
PASSWORD = "bench-wachtwoord-lang"
REPLY_TIMEOUT = 30.0  # seconds a parent waits for the staff reply before the run fails
CALL_TIMEOUT = aiohttp.ClientTimeout(total=REPLY_TIMEOUT)  # any one HTTP call
START_TIMEOUT = 60.0  # seconds for the service to answer /health
PROGRESS_EVERY = 5.0  # seconds between progress lines
CLAIMS_PER_SECOND_GUESS = 150  # for the first estimate only (182 and 138 measured)
STAFF = 5


class BenchFailed(Exception):
    """The run cannot give honest figures; the message says why."""


async def login(url: str, n: int) -> tuple[aiohttp.ClientSession, str]:
    """A staff console's HTTP session (own cookies) and its CSRF token."""
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=CALL_TIMEOUT)
    async with session.post(
        url + "/staff/api/login", json={"username": f"bench{n}", "password": PASSWORD}
    ) as response:
        if response.status != 200:
            await session.close()
            raise BenchFailed(f"staff login answered HTTP {response.status}")
        return session, (await response.json())["csrf"]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def wait_http(url: str, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchFailed(f"the service exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError as exc:
            if getattr(exc, "code", None):  # any HTTP answer means the server is up
                return
            time.sleep(0.2)
    raise BenchFailed(f"{url} did not answer within {timeout:.0f} s")


def letters(n: int) -> str:
    """``n`` in letters (0 -> "a", 26 -> "ba"): the texts carry no digits, so no text can read
    as a phone number such as 113 and trip the safety check (whose crisis card is a reply)."""
    out = ""
    while True:
        n, digit = divmod(n, 26)
        out = string.ascii_lowercase[digit] + out
        if not n:
            return out


def message_text(conversation: int, n: int) -> str:
    text = f"bericht {letters(conversation)} {letters(n)}"
    if safety.check(text) is not None:  # it would measure the crisis path instead
        raise BenchFailed(f"the benchmark's own text {text!r} matches a safety phrase")
    return text


async def every(seconds: float, report: Callable[[], None]) -> None:
    """Calls ``report`` every ``seconds`` until cancelled."""
    while True:
        await asyncio.sleep(seconds)
        report()


async def within(seconds: float, what: str, awaitable: Awaitable[Any]) -> Any:
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except TimeoutError:
        raise BenchFailed(f"{what}: no answer within {seconds:.0f} s") from None


async def gathered(*coroutines: Awaitable[Any]) -> list[Any]:
    """All of their results; the first failure cancels the others and is raised as itself."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        return [t.result() for t in tasks]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def baseline(redis_url: str, conversations: int, seconds: float, pace: float) -> list[float]:
    """Redis pub/sub round trip: publish, a subscriber answers by publishing back."""
    # A connection per simulated user at most: redis-py's default pool (100) fails a busy run.
    redis = Redis.from_url(redis_url, decode_responses=True, max_connections=conversations + 10)
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
    begun = time.monotonic()
    stop = begun + seconds
    progress = asyncio.create_task(
        every(PROGRESS_EVERY, lambda: tick("baseline", begun, seconds, len(latencies)))
    )

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
            latencies.append(await within(10, "Redis pub/sub echo", future) - start)
            await asyncio.sleep(pace)

    try:
        await gathered(*(user(i) for i in range(conversations)))
    finally:
        for task in (*tasks, progress):
            task.cancel()
        await redis.aclose()
    return latencies


def tick(phase: str, begun: float, seconds: float, count: int) -> None:
    """One progress line: how far, and how long this phase still takes."""
    elapsed = time.monotonic() - begun
    left = max(0.0, seconds - elapsed)
    print(f"  {phase}: {elapsed:4.0f} s of {seconds:.0f} s, {count:,} measured, ~{left:.0f} s left")


async def relay(
    url: str, redis_url: str, conversations: int, seconds: float, pace: float, pid: int
) -> tuple[list[float], list[float], list[float]]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    service = HandoffService(
        redis,
        service_messages(),
        Presence(redis, 600),
        opening_hours,
        Timing(silent_seconds=3600, retention_seconds=3600),
    )
    staff_http: list[tuple[aiohttp.ClientSession, str]] = []
    try:
        return await _relay(url, redis, service, staff_http, conversations, seconds, pace, pid)
    finally:
        for session, _ in staff_http:
            await session.close()
        await redis.aclose()


async def _relay(
    url: str,
    redis: Redis,
    service: HandoffService,
    staff_http: list[tuple[aiohttp.ClientSession, str]],
    conversations: int,
    seconds: float,
    pace: float,
    pid: int,
) -> tuple[list[float], list[float], list[float]]:
    for n in range(STAFF):
        staff_http.append(await login(url, n))
        await service.heartbeat(f"bench{n}")

    # Put every conversation in the queue, then let the staff members claim them in turn. Each
    # parent's conversation token is issued here, as the service issues it at a first message.
    owner: dict[str, int] = {}
    issued, store = api_tokens(redis, 3600), HandoffStore(redis, 3600)
    tokens = [issued.new() for _ in range(conversations)]
    for i, token in enumerate(tokens):
        cid = pseudonymise(SECRET, "api", token)
        await issued.issue(token, cid)
        hid, _ = await store.enqueue(cid, "api", reason="ask_human", urgent=False, summary={})
        session, csrf = staff_http[i % STAFF]
        async with session.post(
            f"{url}/staff/api/handoffs/{hid}/claim", headers={"X-CSRF-Token": csrf}
        ) as response:
            if response.status != 200:
                raise BenchFailed(f"claim answered HTTP {response.status}")
        owner[hid] = i % STAFF

    to_staff: list[float] = []
    round_trip: list[float] = []
    back: list[float] = []
    sent_at: dict[str, float] = {}
    replied_at: dict[str, float] = {}
    stopping = False
    to_answer: list[asyncio.Queue[tuple[str, str]]] = [asyncio.Queue() for _ in range(STAFF)]
    # A console hears its own arrival once its feed is subscribed; parents start after that, so
    # a slow connect on a busy machine never leaves the first messages unheard.
    heard: list[asyncio.Event] = [asyncio.Event() for _ in range(STAFF)]

    async def _console(n: int) -> None:
        session, _ = staff_http[n]
        async with session.ws_connect(url.replace("http", "ws") + "/staff/api/ws") as ws:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                event = json.loads(msg.data)
                heard[n].set()
                entry = event.get("entry")  # the text comes only to the staff member who has it
                if event.get("type") != "message" or not entry or entry["role"] != "user":
                    continue
                if owner.get(event["hid"]) != n:
                    continue
                text = entry["text"]
                if text in sent_at:
                    to_staff.append(time.perf_counter() - sent_at[text])
                # Answered apart, as a staff member types while the console keeps receiving:
                # a reply in flight must not hold up the next message's arrival.
                to_answer[n].put_nowait((event["hid"], text))
        if not stopping:
            raise BenchFailed(f"console {n}'s websocket closed during the run")

    async def _replier(n: int) -> None:
        session, csrf = staff_http[n]
        while True:
            hid, text = await to_answer[n].get()
            replied_at[text] = time.perf_counter()
            async with session.post(
                f"{url}/staff/api/handoffs/{hid}/messages",
                json={"text": "re " + text},
                headers={"X-CSRF-Token": csrf},
            ) as response:
                if response.status != 200:
                    raise BenchFailed(f"staff reply answered HTTP {response.status}")

    async def until_stopped(work: Awaitable[None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            if not stopping:
                raise  # the run was stopped: not the end of the relay phase

    await redis.config_resetstat()  # Redis's work per message, from here on
    cpu_before = await cpu_seconds(redis, pid)
    begun = stop = time.monotonic() + seconds  # set again once the consoles are connected

    async def parent(i: int, http: aiohttp.ClientSession) -> None:
        as_parent = {TOKEN_HEADER: tokens[i]}
        async with http.get(url + "/api/chat/updates", headers=as_parent) as response:
            first = await response.json()
            if response.status != 200 or "next" not in first:
                raise BenchFailed(f"update feed failed: HTTP {response.status} {first}")
            after = first["next"]
        await asyncio.sleep(random.random() * pace)
        n = 0
        while time.monotonic() < stop:
            text = message_text(i, n)
            n += 1
            start = time.perf_counter()
            sent_at[text] = start
            async with http.post(
                url + "/api/chat", json={"message": text}, headers=as_parent
            ) as response:
                if response.status != 200:  # rate limited, storage away: never measured
                    raise BenchFailed(f"/api/chat answered HTTP {response.status}")
                replies = await response.json()
            if replies:  # with staff, a message gets no reply of the service's own
                codes = [(r.get("custom") or {}).get("service", "?") for r in replies]
                raise BenchFailed(f"/api/chat answered with a service message: {codes}")
            deadline = time.monotonic() + REPLY_TIMEOUT
            while True:
                if time.monotonic() > deadline:  # fail, never hang: the reply did not come
                    raise BenchFailed(f"no staff reply to {text!r} within {REPLY_TIMEOUT:.0f} s")
                async with http.get(
                    url + "/api/chat/updates",
                    params={"after": after, "wait": "10"},
                    headers=as_parent,
                ) as response:
                    if response.status != 200:
                        raise BenchFailed(f"update feed answered HTTP {response.status}")
                    body = await response.json()
                after = body["next"]
                if any(m["text"] == "re " + text for m in body["messages"]):
                    now = time.perf_counter()
                    round_trip.append(now - start)
                    if text in replied_at:
                        back.append(now - replied_at[text])
                    break
            await asyncio.sleep(pace)

    progress = asyncio.create_task(
        every(PROGRESS_EVERY, lambda: tick("relay", begun, seconds, len(round_trip)))
    )
    consoles = [asyncio.ensure_future(until_stopped(_console(n))) for n in range(STAFF)]
    consoles += [  # a few replies at once per console, as a few staff tabs would send them
        asyncio.ensure_future(until_stopped(_replier(n))) for n in range(STAFF) for _ in range(4)
    ]

    async def parents(http: aiohttp.ClientSession) -> None:
        nonlocal stopping, begun, stop
        await within(START_TIMEOUT, "the consoles' feeds", gathered(*(e.wait() for e in heard)))
        begun = time.monotonic()
        stop = begun + seconds
        await gathered(*(parent(i, http) for i in range(conversations)))
        stopping = True
        for task in consoles:
            task.cancel()

    connector = aiohttp.TCPConnector(limit=0)
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=CALL_TIMEOUT) as http:
            # A console that fails fails the run at once, not after the parents' timeout.
            await gathered(parents(http), *consoles)
    finally:
        progress.cancel()
    commands(await redis.info("commandstats"), len(round_trip))
    opened = (await redis.info("stats"))["total_connections_received"]
    print(f"Redis connections opened during the relay: {opened:,} (a pool that keeps them: ~0)")
    spent = [a - b for a, b in zip(await cpu_seconds(redis, pid), cpu_before, strict=True)]
    per = [1000 * s / max(1, len(round_trip)) for s in spent]
    print(f"CPU per relayed message (both legs): service {per[0]:.2f} ms, Redis {per[1]:.2f} ms")
    return to_staff, back, round_trip


async def cpu_seconds(redis: Redis, pid: int) -> tuple[float, float]:
    """CPU time used so far by the service process and by Redis: per message, a measure of
    the work that (unlike latency) hardly depends on how busy the shared machine is."""
    info = await redis.info("cpu")
    return process_cpu(pid), float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def process_cpu(pid: int) -> float:
    """User and system CPU seconds of a process (Linux's /proc; a tiny file, read at once)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def commands(stats: dict[str, Any], messages: int) -> None:
    """Redis commands per relayed message (both legs, consoles and long-polls included): a
    measure of the service's work that does not depend on how busy the machine is."""
    calls = {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}
    top = sorted(calls.items(), key=lambda kv: -kv[1])[:8]
    per = sum(calls.values()) / max(1, messages)
    listed = ", ".join(f"{name} {n / max(1, messages):.1f}" for name, n in top)
    print(f"Redis commands per relayed message: {per:.1f} ({listed})")


async def claims(url: str, redis_url: str, count: int) -> tuple[float, float]:
    """Claims per second through the staff API, and through the store directly (baseline)."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    service = HandoffService(
        redis, service_messages(), Presence(redis, 600), opening_hours, Timing(3600, 3600)
    )
    store = HandoffStore(redis, 3600)  # the baseline: claims without the API
    sessions: list[tuple[aiohttp.ClientSession, str]] = []
    try:
        await service.heartbeat("bench0")

        async def fill(prefix: str) -> list[str]:
            hids = []
            for i in range(count):
                cid = f"{prefix}-{i}"
                hid, _ = await store.enqueue(
                    cid, "api", reason="ask_human", urgent=False, summary={}
                )
                hids.append(hid)
            return hids

        direct = await fill("direct")
        start = time.perf_counter()
        sem = asyncio.Semaphore(STAFF * 2)

        async def claim_direct(hid: str) -> None:
            async with sem:
                await within(REPLY_TIMEOUT, "claim on Redis", store.claim(hid, "bench0"))

        await gathered(*(claim_direct(h) for h in direct))
        direct_rate = count / (time.perf_counter() - start)

        via_api = await fill("api")
        sessions += [await login(url, n) for n in range(STAFF)]
        begun = time.monotonic()
        done = 0

        def report() -> None:
            elapsed = time.monotonic() - begun
            left = (count - done) * elapsed / done if done else float("nan")
            print(f"  claims: {done:,} of {count:,} through the staff API, ~{left:.0f} s left")

        async def claim_api(i: int, hid: str) -> None:
            nonlocal done
            session, csrf = sessions[i % STAFF]
            async with (
                sem,
                session.post(
                    f"{url}/staff/api/handoffs/{hid}/claim", headers={"X-CSRF-Token": csrf}
                ) as response,
            ):
                if response.status != 200:
                    raise BenchFailed(f"claim answered HTTP {response.status}")
            done += 1

        progress = asyncio.create_task(every(PROGRESS_EVERY, report))
        start = time.perf_counter()
        try:
            await gathered(*(claim_api(i, h) for i, h in enumerate(via_api)))
        finally:
            progress.cancel()
        api_rate = count / (time.perf_counter() - start)
    finally:
        for session, _ in sessions:
            await session.close()
        await redis.aclose()
    return api_rate, direct_rate


def report(name: str, values: list[float], base: list[float]) -> None:
    if not values:
        raise BenchFailed(f"nothing measured for {name}")
    p50, p99 = pct(values, 0.5), pct(values, 0.99)
    b50, b99 = pct(base, 0.5), pct(base, 0.99)
    print(
        f"{name:<22} n={len(values):>6}  p50 {p50:6.2f} ms ({p50 / b50:5.1f}x)  "
        f"p99 {p99:6.2f} ms ({p99 / b99:5.1f}x)"
    )


async def run(args: argparse.Namespace, url: str, redis_url: str, pid: int) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    for n in range(STAFF):
        await Accounts(redis).add(f"bench{n}", f"Bench{n}", PASSWORD)
    await redis.aclose()
    claim_guess = args.claims / CLAIMS_PER_SECOND_GUESS
    total = 2 * args.seconds + claim_guess + 5
    print(
        f"{args.conversations} conversations with staff, one message per {args.pace}s each, "
        f"{args.seconds:.0f}s; {STAFF} staff consoles; rate limits raised out of the way; "
        f"Redis appendfsync {args.appendfsync}. Ratios against a Redis pub/sub round trip at "
        "the same load, measured in this run.\n"
        f"Takes about {total:.0f} s: the baseline {args.seconds:.0f} s, the relay "
        f"{args.seconds:.0f} s, {args.claims:,} claims ~{claim_guess:.0f} s."
    )
    base = await baseline(redis_url, args.conversations, args.seconds, args.pace)
    to_staff, back, round_trip = await relay(
        url, redis_url, args.conversations, args.seconds, args.pace, pid
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


def _interrupted(signum: int, _frame: FrameType | None) -> None:
    """Ctrl-C, SIGTERM and SIGHUP end the run at once, through the clean-up in main()."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def stop(process: subprocess.Popen[bytes], seconds: float = 10) -> None:
    """Terminates ``process``; kills it when it does not exit in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--pace", type=float, default=2.0, help="seconds between messages")
    parser.add_argument("--claims", type=int, default=2000)
    parser.add_argument(
        "--appendfsync",
        choices=("always", "everysec"),
        default=STACK_APPENDFSYNC,
        help="Redis's fsync policy (default: the stack's, scripts/prepare-env)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="run the service under cProfile and write its profile here (pstats format)",
    )
    args = parser.parse_args()
    for name in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(name, _interrupted)

    log_path = ROOT / "var" / "log" / "bench-handoff-service.log"
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        # With a password, as in the stack; its data on the same disk as var/redis (not tmpfs).
        redis_server = RedisServer(Path(tmp), appendfsync=args.appendfsync)
        service_proc: subprocess.Popen[bytes] | None = None
        try:
            print("Starting Redis and the messaging service (10-20 s) ...", flush=True)
            redis_server.start()
            redis_url = redis_server.url()
            env = {
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "CJG_PORT": str(port),
                **redis_server.env(),
                "CJG_RASA_URL": f"http://127.0.0.1:{free_port()}",
                "RASA_TOKEN": "bench-token-not-used-by-the-handoff",
                "CJG_PSEUDONYM_SECRET": SECRET,
                "CJG_CONTENT_DIR": str(ROOT / "content"),
                # One address sends for every simulated parent: the product's limits would
                # refuse it.
                "CJG_RATE_PER_SENDER": "1000000",
                "CJG_RATE_PER_ADDRESS": "1000000",
            }
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with log_path.open("wb") as service_log:
                profiled = ["-m", "cProfile", "-o", str(args.profile)] if args.profile else []
                service_proc = subprocess.Popen(
                    [sys.executable, *profiled, "-m", "bot"], cwd=ROOT, env=env,
                    stdout=service_log, stderr=service_log,
                )  # fmt: skip
            url = f"http://127.0.0.1:{port}"
            wait_http(url + "/health", START_TIMEOUT, service_proc)
            asyncio.run(run(args, url, redis_url, service_proc.pid))
        except (BenchFailed, RuntimeError, aiohttp.ClientError, TimeoutError, RedisError) as exc:
            print(
                f"\nFAILED: {type(exc).__name__}: {exc}\nThe service's log is in {log_path}",
                file=sys.stderr,
            )
            raise SystemExit(1) from None
        except KeyboardInterrupt:
            print("\nInterrupted; stopping the service and Redis.", file=sys.stderr)
            raise SystemExit(130) from None
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C cannot skip this
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            if service_proc is not None:
                stop(service_proc)
            if redis_server.process is not None:
                stop(redis_server.process)


if __name__ == "__main__":
    main()
