"""Load benchmark: the service's /api/chat and widget socket against Rasa's REST webhook.

All targets get the same load in the same run: N simulated users, each sending the next message
as soon as the previous answer arrived. Rounds alternate between the targets so that machine
noise hits them alike. First, one user sends one message at a time on the idle stack: Rasa's own
latency for one message.

The benchmark starts its own stack (redis-server, the action server, Rasa on --model, and the
service), so nothing else shares it and the per-sender and per-address rate limits can be raised
out of the way: with the product's limits, 20 fast users would mostly measure "wacht even"
replies. It fails (exit 1) when more than 1% of the messages of a target err, time out or get a
service error text (rate limited, assistant unavailable, ...) or any status but 200 (a 503 when
the assistant or Redis was away) instead of an answer.

The service's lasting users speak plain Rasa REST, as Rasa's webhook's do: the first message
without a sender, then the conversation token from that reply's header as their ``sender``
(the compatibility path of docs/API.md).

    .venv/bin/python bench/chat_load.py --users 20 --seconds 60          # about 2 minutes
    .venv/bin/python bench/chat_load.py --smoke                          # a few seconds of load
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import socketio
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bot.web_chat import TOKEN_HEADER  # noqa: E402  (root not on a script's path)
from tests.servers import MODEL, RasaStack, Service, running_service  # noqa: E402

MESSAGES = [
    "hallo",
    "wat kan deze chat allemaal?",
    "mijn zoon van 4 wil niet slapen",
    "ben jij een robot?",
    "hoe zit het met mijn privacy",
    "dank je wel",
    "doei",
]
# Replies that mean the service did not get an answer from the assistant (or refused the
# message): counted as errors, not as answers.
FAILURE_KEYS = ("assistant_unavailable", "rate_limited", "invalid_request", "no_session")
FAILURE_TEXTS = {
    str(yaml.safe_load((ROOT / "content" / "service_messages.yml").read_text())["messages"][key])
    for key in FAILURE_KEYS
}
MAX_ERROR_SHARE = 0.01


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def error_share(self) -> float:
        return self.errors / max(1, self.errors + len(self.latencies))

    def add(self, other: Result) -> None:
        self.latencies += other.latencies
        self.errors += other.errors
        self.seconds += other.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


async def user(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    stop: float,
    out: Result,
    issued: bool,
) -> None:
    """One lasting user. ``issued``: the service names the conversation (its first reply's
    token becomes the sender); otherwise (Rasa's webhook) the user picks a sender."""
    sender: list[str] = [] if issued else [f"bench-{uuid.uuid4().hex[:12]}"]
    i = 0
    while time.monotonic() < stop:
        await _one(session, url, headers, MESSAGES[i % len(MESSAGES)], out, sender)
        i += 1


def failed(replies: list[dict[str, object]]) -> bool:
    return any(str(reply.get("text", "")).strip() in FAILURE_TEXTS for reply in replies)


async def widget_user(
    url: str, stop: float, out: Result, tls: ssl.SSLContext | None = None
) -> None:
    """One widget user over Socket.IO: a message's latency runs until the bot's typing-off,
    which the service sends after the last reply to that message. ``tls``: the context that
    trusts the proxy's certificate (through nginx)."""
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls or True))
    client = socketio.AsyncClient(reconnection=False, http_session=http)
    turn_done: asyncio.Queue[None] = asyncio.Queue()
    turn_failed = False
    confirmed: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    @client.on("session_confirm")  # type: ignore[untyped-decorator]
    async def session_confirm(session_id: str) -> None:
        if not confirmed.done():
            confirmed.set_result(session_id)

    @client.on("bot_uttered")  # type: ignore[untyped-decorator]
    async def bot_uttered(message: dict[str, object]) -> bool:
        nonlocal turn_failed
        turn_failed = turn_failed or failed([message])
        return True  # the acknowledgement

    @client.on("cjg_typing")  # type: ignore[untyped-decorator]
    async def typing(event: dict[str, object]) -> None:
        if event.get("who") == "bot" and event.get("typing") is False:
            turn_done.put_nowait(None)

    try:
        await client.connect(url, socketio_path="socket.io", transports=["websocket"])
        await client.emit("session_request", {"session_id": None, "last_id": "0"})
        session_id = await asyncio.wait_for(confirmed, 30)
    except (socketio.exceptions.ConnectionError, TimeoutError):
        out.errors += 1
        await http.close()
        return
    i = 0
    try:
        while time.monotonic() < stop:
            started = time.perf_counter()
            message = MESSAGES[i % len(MESSAGES)]
            turn_failed = False
            await client.emit("user_uttered", {"message": message, "session_id": session_id})
            try:
                await asyncio.wait_for(turn_done.get(), 30)
                if turn_failed:
                    out.errors += 1
                else:
                    out.latencies.append(time.perf_counter() - started)
            except TimeoutError:
                out.errors += 1
            i += 1
    finally:
        await client.disconnect()
        await http.close()


async def widget_round(
    url: str, users: int, seconds: float, tls: ssl.SSLContext | None = None
) -> Result:
    result = Result()
    started = time.monotonic()
    await asyncio.gather(*(widget_user(url, started + seconds, result, tls) for _ in range(users)))
    result.seconds = time.monotonic() - started
    return result


async def round_(
    url: str,
    headers: dict[str, str],
    users: int,
    seconds: float,
    issued: bool,
    tls: ssl.SSLContext | None = None,
) -> Result:
    result = Result()
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=users, ssl=tls or True)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        started = time.monotonic()
        stop = started + seconds
        await asyncio.gather(
            *(user(session, url, headers, stop, result, issued) for _ in range(users))
        )
        result.seconds = time.monotonic() - started
    return result


@contextmanager
def own_stack(model: Path, logs: Path) -> Iterator[dict[str, tuple[str, dict[str, str]]]]:
    """Redis, Rasa (+ actions) and the service on free ports; yields the three targets."""
    with running_service(logs, model) as (stack, service):
        yield targets(stack, service)


def targets(stack: RasaStack, service: Service) -> dict[str, tuple[str, dict[str, str]]]:
    """Rasa's own webhook (the baseline), the service's /api/chat and its widget socket."""
    return {
        "rasa": (f"{stack.url}/webhooks/cjg/webhook", {"Authorization": f"Bearer {stack.token}"}),
        "service": (f"{service.url}/api/chat", {}),
        "widget": (service.url, {}),
    }


async def single_user(url: str, headers: dict[str, str], count: int) -> Result:
    """One message at a time on an idle stack: the latency of one message, nothing queued."""
    result = Result()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        started = time.monotonic()
        for i in range(count):
            fresh = [f"bench-{uuid.uuid4().hex[:12]}"]  # a new conversation each time
            await _one(session, url, headers, MESSAGES[i % len(MESSAGES)], result, fresh)
        result.seconds = time.monotonic() - started
    return result


async def _one(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    text: str,
    out: Result,
    sender: list[str],
) -> None:
    """Sends one message; its latency counts only when a real answer came back (any status
    but 200, a 503 included, is an error).

    A user holds its sender in ``sender``: picked by itself for Rasa's webhook, or, for the
    service, empty until the first reply's header brings the conversation token.
    """
    body = {"message": text}
    if sender:
        body["sender"] = sender[0]
    started = time.perf_counter()
    try:
        async with session.post(url, json=body, headers=headers) as response:
            replies = await response.json() if response.status == 200 else []
            token = response.headers.get(TOKEN_HEADER)
            if not sender and token:
                sender.append(token)
            ok = bool(replies) and not failed(replies)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        ok = False
    if ok:
        out.latencies.append(time.perf_counter() - started)
    else:
        out.errors += 1


async def measure(
    targets: dict[str, tuple[str, dict[str, str]]], args: argparse.Namespace
) -> dict[str, Result]:
    idle = await single_user(*targets["rasa"], count=args.idle_messages)
    print(f"idle stack, one user, {len(idle.latencies)} messages to Rasa: "
          f"p50 {idle.pct(0.5):.1f} ms  p99 {idle.pct(0.99):.1f} ms", flush=True)  # fmt: skip
    totals = {name: Result() for name in targets}
    per_round = args.seconds / args.rounds
    await round_(*targets["service"], users=2, seconds=3, issued=True)  # warm-up, not counted
    for r in range(args.rounds):
        for name, (url, headers) in targets.items():
            if name == "widget":
                result = await widget_round(url, args.users, per_round)
            else:
                result = await round_(url, headers, args.users, per_round, name == "service")
            totals[name].add(result)
            print(f"round {r + 1}/{args.rounds} {name:8s} {len(result.latencies):5d} msgs "
                  f"p50 {result.pct(0.5):7.1f} ms", flush=True)  # fmt: skip
    return {"rasa (idle, 1 user)": idle, **totals}


def report(totals: dict[str, Result], args: argparse.Namespace) -> None:
    print(f"\n{args.users} users, {args.seconds:.0f} s per target, {args.rounds} rounds; "
          "own stack with the rate limits raised to 1,000,000 a minute")  # fmt: skip
    print(f"{'target':20s} {'msgs':>6s} {'errors':>6s} {'msg/s':>7s} {'p50 ms':>8s} {'p99 ms':>8s}")
    for name, t in totals.items():
        print(f"{name:20s} {len(t.latencies):6d} {t.errors:6d} {t.rate:7.1f} "
              f"{t.pct(0.5):8.1f} {t.pct(0.99):8.1f}")  # fmt: skip
    rasa = totals["rasa"]
    for name in ("service", "widget"):
        t = totals[name]
        print(f"ratio {name}/rasa: p50 {t.pct(0.5) / rasa.pct(0.5):.3f}  "
              f"p99 {t.pct(0.99) / rasa.pct(0.99):.3f}  "
              f"throughput {t.rate / rasa.rate:.3f}")  # fmt: skip
    print(f"median of per-message latency: rasa {statistics.median(rasa.latencies) * 1000:.1f} ms")


# The two layouts of the nginx comparison. Both with one plain redis-server, so that only the
# number of service instances and Rasa replicas differs (Sentinel's replica and its WAIT are the
# soak's business, bench/soak.py).
WARM_UP_SECONDS = 20  # at full load on each fresh layout, before anything is counted
LAYOUTS = {
    "one": {"instances": 1, "rasa_replicas": 1},
    "two": {"instances": 2, "rasa_replicas": 2},
}


async def nginx_round(
    url: str, tls: ssl.SSLContext, args: argparse.Namespace, widget_first: bool
) -> dict[str, Result]:
    """One round on a fresh layout through nginx: a warm-up at full load (not counted: a Rasa
    that has just loaded its model answers its first minute slower, and the first target
    measured would pay for it), then /api/chat and the widget, in the order given."""
    per_round = args.seconds / args.rounds
    api = f"{url}/api/chat"
    await round_(api, {}, args.users, WARM_UP_SECONDS / 2, issued=True, tls=tls)
    await widget_round(url, args.users, WARM_UP_SECONDS / 2, tls)
    results: dict[str, Result] = {}
    for target in ("widget", "service") if widget_first else ("service", "widget"):
        if target == "widget":
            results[target] = await widget_round(url, args.users, per_round, tls)
        else:
            results[target] = await round_(api, {}, args.users, per_round, issued=True, tls=tls)
    return results


def through_nginx(args: argparse.Namespace) -> dict[str, dict[str, Result]]:
    """Both layouts, one after the other (both at once would share the 2 cores), in alternating
    order each round (one, two; two, one; ...), each started afresh for its round and warmed
    up; the targets alternate their order too."""
    from cluster import Layout

    totals = {name: {"service": Result(), "widget": Result()} for name in LAYOUTS}
    settings = {"CJG_RATE_PER_SENDER": "1000000", "CJG_RATE_PER_ADDRESS": "1000000"}
    began = time.monotonic()
    runs = args.rounds * len(LAYOUTS)
    for r in range(args.rounds):
        order = list(LAYOUTS) if r % 2 == 0 else list(reversed(LAYOUTS))
        for name in order:
            done = r * len(LAYOUTS) + order.index(name)
            left = (time.monotonic() - began) / done * (runs - done) if done else float("nan")
            print(f"round {r + 1}/{args.rounds}: layout '{name}' ({LAYOUTS[name]}); "
                  f"~{left / 60:.0f} min left" if done else
                  f"round {r + 1}/{args.rounds}: layout '{name}' ({LAYOUTS[name]})",
                  flush=True)  # fmt: skip
            with tempfile.TemporaryDirectory(prefix="cjg-bench-nginx-") as tmp:
                layout = Layout(Path(tmp), instances=LAYOUTS[name]["instances"],
                                rasa_replicas=LAYOUTS[name]["rasa_replicas"], sentinels=False,
                                model=args.model, settings=settings)  # fmt: skip
                try:
                    layout.start(progress=lambda line: print("  " + line, flush=True))
                    results = asyncio.run(
                        nginx_round(layout.url, layout.context(), args, widget_first=r % 2 == 1)
                    )
                finally:
                    layout.stop()
            for target, result in results.items():
                totals[name][target].add(result)
                print(f"  {target:8s} {len(result.latencies):5d} msgs {result.rate:5.1f} msg/s "
                      f"p50 {result.pct(0.5):7.1f} ms  errors {result.errors}",
                      flush=True)  # fmt: skip
    return totals


def report_nginx(totals: dict[str, dict[str, Result]], args: argparse.Namespace) -> None:
    print(f"\nThrough nginx (TLS), {args.users} users, {args.seconds:.0f} s per target and "
          f"layout in {args.rounds} alternating rounds; rate limits raised to 1,000,000 a "
          "minute")  # fmt: skip
    print(f"{'layout':8s} {'target':8s} {'msgs':>6s} {'errors':>6s} {'msg/s':>7s} "
          f"{'p50 ms':>8s} {'p99 ms':>8s}")  # fmt: skip
    for name, targets in totals.items():
        for target, t in targets.items():
            print(f"{name:8s} {target:8s} {len(t.latencies):6d} {t.errors:6d} {t.rate:7.1f} "
                  f"{t.pct(0.5):8.1f} {t.pct(0.99):8.1f}")  # fmt: skip
    for target in ("service", "widget"):
        one, two = totals["one"][target], totals["two"][target]
        print(f"ratio two/one, {target}: throughput {two.rate / one.rate:.3f}  "
              f"p50 {two.pct(0.5) / one.pct(0.5):.3f}  "
              f"p99 {two.pct(0.99) / one.pct(0.99):.3f}")  # fmt: skip


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--users", type=int, default=20, help="concurrent simulated users")
    parser.add_argument("--seconds", type=float, default=60, help="total time per target")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per target")
    parser.add_argument("--idle-messages", type=int, default=50, help="one-user messages first")
    parser.add_argument("--model", type=Path, default=MODEL, help="the Rasa model to serve")
    parser.add_argument("--smoke", action="store_true", help="a few seconds, for the test command")
    parser.add_argument(
        "--nginx",
        action="store_true",
        help="through nginx: one instance and one Rasa replica against two of each, as ratios",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.users, args.seconds, args.rounds, args.idle_messages = 4, 3, 1, 5
    return args


def main() -> None:
    args = arguments()
    if not args.model.exists():
        sys.exit(f"{args.model} not found: train first (make run or scripts/train).")
    if args.nginx:
        nginx_totals = through_nginx(args)
        report_nginx(nginx_totals, args)
        failing(
            {
                f"{layout}/{target}": t
                for layout, ts in nginx_totals.items()
                for target, t in ts.items()
            }
        )
        return
    print("Starting an own stack (Redis, Rasa, action server, service); Rasa needs ~30-60 s")
    with (
        tempfile.TemporaryDirectory(prefix="cjg-bench-") as tmp,
        own_stack(args.model, Path(tmp)) as three,
    ):
        totals = asyncio.run(measure(three, args))
    if any(not t.latencies for t in totals.values()):
        failing(totals)  # exits: a target without a single answer has no figures to report
    report(totals, args)
    failing(totals)


def failing(totals: dict[str, Result]) -> None:
    """Exit 1 when a target had no answer at all, or more than 1% errors."""
    problem = problems(totals)
    if problem:
        sys.exit(problem)


def problems(totals: dict[str, Result]) -> str | None:
    """A target with no answer at all, or more than 1% errors; None when all is well."""
    if any(not t.latencies for t in totals.values()):
        return "A target answered no message at all; see the logs above."
    bad = {name: t.error_share for name, t in totals.items() if t.error_share > MAX_ERROR_SHARE}
    if bad:
        return "Too many errors or failure replies (limit 1%): " + ", ".join(
            f"{name} {share:.1%}" for name, share in bad.items()
        )
    return None


if __name__ == "__main__":
    main()
