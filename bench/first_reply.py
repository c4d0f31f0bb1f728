"""What a person reads first: every held-out message (tests/nlu/) in a fresh conversation to Rasa
with the action server, and its first reply judged against what the right intent or topic says.

- a parenting question: right when the reply is that topic's answer (parent or youth version);
  "choice" when the assistant asks which topic is meant and offers the right one;
- a FAQ: the FAQ's own answer; crisis: the safety question or card; a course request: offers
  at once; greet, goodbye, thanks: one of their texts;
- any other intent: the same first text as that intent's own button payload (``/ask_human``).
``inform`` is left out: it narrows down shown offers and is never a first message.
The phrase list of the service runs before Rasa in the product, so crisis counts here are the
model's alone. Starts its own Redis and Rasa; fails when a request fails.

    .venv/bin/python bench/first_reply.py            # all 804 messages, about 2 minutes
    .venv/bin/python bench/first_reply.py --smoke    # the first 40
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from common.content import topics  # noqa: E402  (the repository root is not on a script's path)
from common.handoff_payload import HandoffRequest  # noqa: E402
from common.names import Reason  # noqa: E402
from tests.servers import MODEL, running_stack  # noqa: E402

Reply = dict[str, Any]
NO_REQUEST = HandoffRequest(Reason.ASK_HUMAN)
DOMAIN: dict[str, Any] = yaml.safe_load((ROOT / "domain.yml").read_text())
CHOICE = "Waar gaat je vraag het meest over?"  # assistant/actions/topics.py


def held_out() -> list[tuple[str, str]]:
    messages = []
    for path in sorted((ROOT / "tests" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text())["nlu"]:
            for line in str(block["examples"]).splitlines():
                if line.strip().startswith("- ") and block["intent"] != "inform":
                    messages.append((line.strip()[2:], str(block["intent"])))
    return messages


def texts_of(response: str) -> list[str]:
    return [str(v["text"]).strip() for v in DOMAIN["responses"][response]]


def first_text(replies: list[Reply]) -> str:
    shown = [r for r in replies if r.get("text")]  # registration notes carry no text
    return str(shown[0]["text"]).strip() if shown else ""


def judge_topic(replies: list[Reply], topic: str) -> str:
    known = topics()
    for reply in replies:
        text = str(reply.get("text") or "")
        if text.startswith(CHOICE):
            offered = [str(b.get("payload", "")) for b in reply.get("buttons", [])]
            return "choice" if any(f'"{topic}"' in p for p in offered) else "wrong"
        for tid, t in known.items():
            if text.startswith(t.answer) or (t.youth and text.startswith(t.youth.answer)):
                return "right" if tid == topic else "wrong"
    return "wrong"


class Judge:
    def __init__(self, http: aiohttp.ClientSession, url: str, token: str) -> None:
        self.http, self.url, self.token = http, url, token
        self.payload_text: dict[str, str] = {}

    async def send(self, text: str) -> list[Reply]:
        body = {"sender": f"first-{uuid.uuid4().hex}", "message": text}
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self.http.post(self.url, json=body, headers=headers) as response:
            if response.status != 200:
                raise SystemExit(f"Rasa answered HTTP {response.status}; see its log")
            replies: list[Reply] = await response.json()
            return replies

    async def verdict(self, text: str, label: str) -> str:
        intent, _, sub = label.partition("/")
        replies = await self.send(text)
        if intent == "opvoedvraag":
            return judge_topic(replies, sub)
        first = first_text(replies)
        if intent == "faq":
            ok = first in texts_of(f"utter_faq/{sub}")
        elif intent == "crisis":
            ok = "veiligheid" in first or "112" in first
        elif intent == "zoek_aanbod":
            ok = first.startswith("Dit aanbod")  # offers at once (content/offer_finder.yml)
        elif intent == "ask_human":  # a callback wish: the service asks the questions itself
            wants_callback = any(
                (HandoffRequest.from_custom(r.get("custom")) or NO_REQUEST).reason == "callback"
                for r in replies
            )
            ok = wants_callback or first in texts_of("utter_handoff_requested")
        elif intent in ("greet", "goodbye", "thanks"):
            ok = first in texts_of(f"utter_{intent}")
        else:
            if label not in self.payload_text:
                self.payload_text[label] = first_text(await self.send(f"/{label}"))
            ok = first == self.payload_text[label]
        return "right" if ok else "wrong"


async def measure(url: str, token: str, messages: list[tuple[str, str]]) -> Counter[str]:
    """Prints the share of right first replies per group; returns the verdicts in all."""
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        judge = Judge(http, url, token)
        for text, label in messages:
            group = "parenting topics" if label.startswith("opvoedvraag/") else label.split("/")[0]
            groups[group][await judge.verdict(text, label)] += 1
    total: Counter[str] = Counter()
    print(f"{'group':18s} {'msgs':>5s} {'right':>7s} {'choice':>7s}")
    for group, counts in sorted(groups.items()):
        total.update(counts)
        n = sum(counts.values())
        print(f"{group:18s} {n:5d} {counts['right'] / n:7.1%} {counts['choice'] / n:7.1%}")
    n = sum(total.values())
    print(f"{'all':18s} {n:5d} {total['right'] / n:7.1%} {total['choice'] / n:7.1%}   "
          f"(choice: the right topic offered among three)")  # fmt: skip
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--smoke", action="store_true", help="the first 40 messages")
    args = parser.parse_args()
    messages = held_out()[: 40 if args.smoke else None]
    print(f"{len(messages)} messages; starting an own Redis and Rasa (~30-60 s)", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="cjg-first-") as tmp,
        running_stack(Path(tmp), args.model) as (_, stack),
    ):
        asyncio.run(measure(f"{stack.url}/webhooks/cjg/webhook", stack.token, messages))


if __name__ == "__main__":
    main()
