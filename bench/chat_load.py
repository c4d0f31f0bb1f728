"""Load benchmark: the service's /api/chat and widget socket against Rasa's REST webhook.

Both targets get the same load in the same run: N simulated users, each sending the next message
as soon as the previous answer arrived. Rounds alternate between the targets so that machine
noise hits both alike. Needs a running stack (make run); reads ports and token from var/.

    .venv/bin/python bench/chat_load.py --users 20 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import socketio

ROOT = Path(__file__).resolve().parents[1]
MESSAGES = [
    "hallo",
    "wat kan deze chat allemaal?",
    "ben jij een robot?",
    "hoe zit het met mijn privacy",
    "dank je wel",
    "doei",
]


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

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


def read_env() -> dict[str, str]:
    env: dict[str, str] = {}
    path = ROOT / "var" / "stack.env"
    if not path.exists():
        raise SystemExit("var/stack.env not found: start the stack with 'make run' first.")
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip()
    return env


async def user(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], stop: float, out: Result
) -> None:
    sender = f"bench-{uuid.uuid4().hex[:12]}"
    i = 0
    while time.monotonic() < stop:
        body = {"sender": sender, "message": MESSAGES[i % len(MESSAGES)]}
        started = time.perf_counter()
        try:
            async with session.post(url, json=body, headers=headers) as response:
                await response.read()
                ok = response.status == 200
        except aiohttp.ClientError:
            ok = False
        if ok:
            out.latencies.append(time.perf_counter() - started)
        else:
            out.errors += 1
        i += 1


async def widget_user(url: str, stop: float, out: Result) -> None:
    """One widget user over Socket.IO: a message's latency runs until the bot's typing-off,
    which the service sends after the last reply to that message."""
    client = socketio.AsyncClient(reconnection=False)
    turn_done: asyncio.Queue[None] = asyncio.Queue()
    confirmed: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    @client.on("session_confirm")  # type: ignore[untyped-decorator]
    async def session_confirm(session_id: str) -> None:
        if not confirmed.done():
            confirmed.set_result(session_id)

    @client.on("bot_uttered")  # type: ignore[untyped-decorator]
    async def bot_uttered(message: dict[str, object]) -> bool:
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
        return
    i = 0
    try:
        while time.monotonic() < stop:
            started = time.perf_counter()
            message = MESSAGES[i % len(MESSAGES)]
            await client.emit("user_uttered", {"message": message, "session_id": session_id})
            try:
                await asyncio.wait_for(turn_done.get(), 30)
                out.latencies.append(time.perf_counter() - started)
            except TimeoutError:
                out.errors += 1
            i += 1
    finally:
        await client.disconnect()


async def widget_round(url: str, users: int, seconds: float) -> Result:
    result = Result()
    started = time.monotonic()
    await asyncio.gather(*(widget_user(url, started + seconds, result) for _ in range(users)))
    result.seconds = time.monotonic() - started
    return result


async def round_(url: str, headers: dict[str, str], users: int, seconds: float) -> Result:
    result = Result()
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=users)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        started = time.monotonic()
        stop = started + seconds
        await asyncio.gather(*(user(session, url, headers, stop, result) for _ in range(users)))
        result.seconds = time.monotonic() - started
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20, help="concurrent simulated users")
    parser.add_argument("--seconds", type=float, default=60, help="total time per target")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per target")
    args = parser.parse_args()
    env = read_env()
    targets = {
        "rasa": (
            f"http://127.0.0.1:{env['RASA_PORT']}/webhooks/cjg/webhook",
            {"Authorization": f"Bearer {env['RASA_TOKEN']}"},
        ),
        "service": (f"http://{env['CJG_HOST']}:{env['CJG_PORT']}/api/chat", {}),
        "widget": (f"http://{env['CJG_HOST']}:{env['CJG_PORT']}", {}),
    }
    totals = {name: Result() for name in targets}
    per_round = args.seconds / args.rounds
    await round_(*targets["service"], users=2, seconds=3)  # warm-up, not counted
    for r in range(args.rounds):
        for name, (url, headers) in targets.items():
            if name == "widget":
                result = await widget_round(url, args.users, per_round)
            else:
                result = await round_(url, headers, args.users, per_round)
            totals[name].add(result)
            print(f"round {r + 1}/{args.rounds} {name:8s} {len(result.latencies):5d} msgs "
                  f"p50 {result.pct(0.5):7.1f} ms", flush=True)  # fmt: skip
    print(f"\n{args.users} users, {args.seconds:.0f} s per target, {args.rounds} rounds")
    print(f"{'target':8s} {'msgs':>6s} {'errors':>6s} {'msg/s':>7s} {'p50 ms':>8s} {'p99 ms':>8s}")
    for name, t in totals.items():
        print(f"{name:8s} {len(t.latencies):6d} {t.errors:6d} {t.rate:7.1f} "
              f"{t.pct(0.5):8.1f} {t.pct(0.99):8.1f}")  # fmt: skip
    rasa = totals["rasa"]
    for name in ("service", "widget"):
        t = totals[name]
        print(f"\nratio {name}/rasa: p50 {t.pct(0.5) / rasa.pct(0.5):.3f}  "
              f"p99 {t.pct(0.99) / rasa.pct(0.99):.3f}  "
              f"throughput {t.rate / rasa.rate:.3f}", end="")  # fmt: skip
    print()
    print(f"median of per-message latency: rasa {statistics.median(rasa.latencies) * 1000:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
