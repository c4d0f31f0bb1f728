"""The acceptance set (tests/acceptance/): every first message in a fresh conversation through the
real stack (the messaging service's ``POST /api/chat``, Rasa with the action server, Redis), and
only the first reply judged, as the person reads it. tests/acceptance/README.md says what each
label means and which rules hold for every case.

    .venv/bin/python bench/acceptance.py              # all cases, per group, about 2 minutes
    .venv/bin/python bench/acceptance.py --enforce    # and fail below the floors (make test)
    .venv/bin/python bench/acceptance.py --misses     # and list what went wrong, per case

Starts its own Redis, Rasa and service. Fails when a request fails or a reply says the
assistant is unavailable: an error reply is never counted as an answer.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from common.content import topics  # noqa: E402  (the repository root is not on a script's path)
from common.offers import catalogue  # noqa: E402
from common.safety import crisis_contacts  # noqa: E402
from common.youth import youth_content  # noqa: E402
from tests.servers import MODEL, running_service  # noqa: E402

CASES = ROOT / "tests" / "acceptance"
DOMAIN: dict[str, Any] = yaml.safe_load((ROOT / "domain.yml").read_text())
SERVICE_TEXTS: dict[str, str] = yaml.safe_load(
    (ROOT / "content" / "service_messages.yml").read_text()
)["messages"]
FAILURES = ("assistant_unavailable", "no_answer", "handoff_failed", "rate_limited")
EMERGENCY = "112"
CONSULTATIEBUREAU = "consultatiebureau"
OFFER_LINK = "samenopgroeien.nu"
# Not an everyday answer: the welcomes and the handoff's own messages say where to turn in danger
# ("Is er nu gevaar? Bel 112.") while no person can answer yet.
NOT_EVERYDAY = ("greet", "youth_mode", "person")
# Floors the test command enforces: just below the figures measured (docs/PERFORMANCE.md).
FLOOR_ALL = 0.95
FLOOR_GROUP = 0.90
Reply = dict[str, Any]


@dataclass(frozen=True)
class Case:
    group: str
    text: str
    reply: str
    age: int | None = None
    band: str | None = None
    theme: str | None = None
    offer: str | None = None
    contains: list[str] = field(default_factory=list)
    not_contains: list[str] = field(default_factory=list)


def load_cases(directory: Path = CASES) -> list[Case]:
    cases = []
    for path in sorted(directory.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for raw in data["cases"]:
            cases.append(Case(group=str(data["group"]), **raw))
    return cases


def _starts(text: str, *prefixes: str) -> bool:
    flat = " ".join(text.split())
    return any(flat.startswith(" ".join(p.split())[:120]) for p in prefixes if p)


def _responses(name: str) -> list[str]:
    return [str(v["text"]) for v in DOMAIN["responses"][name]]


class Judge:
    """What a right first reply must show, read from the reply as the person sees it."""

    def __init__(self) -> None:
        contacts = crisis_contacts()
        self.phones = [c.phone for c in contacts.contacts.values() if c.phone != EMERGENCY]
        self.safety_question = contacts.check.text
        self.offer_titles = {o.id: o.title for o in catalogue().offers}
        self.offer_themes = {o.title: o.theme for o in catalogue().offers}

    def crisis_shown(self, texts: list[str]) -> bool:
        joined = "\n".join(texts)
        return all(phone in joined for phone in self.phones)

    def verdict(self, case: Case, replies: list[Reply]) -> str | None:
        """None when the reply is right, else what was wrong (in a few words)."""
        texts = [str(r["text"]) for r in replies if r.get("text")]
        joined = "\n".join(texts).lower()
        if not texts:
            return "no text"
        alarm = self.crisis_shown(texts) or any(_starts(t, self.safety_question) for t in texts)
        if case.reply == "crisis":
            return None if self.crisis_shown(texts) else "no crisis contacts"
        if alarm:
            return "alarm on a non-crisis message"
        if EMERGENCY in joined and case.reply.partition(":")[0] not in NOT_EVERYDAY:
            return "emergency number in an everyday reply"
        if case.age is not None and case.age >= 5 and CONSULTATIEBUREAU in joined:
            return "consultatiebureau for a child of 5 or older"
        for word in case.contains:
            if word.lower() not in joined:
                return f"lacks {word!r}"
        for word in case.not_contains:
            if word.lower() in joined:
                return f"contains {word!r}"
        return self.kind(case, texts, replies)

    def kind(self, case: Case, texts: list[str], replies: list[Reply]) -> str | None:
        kind, _, key = case.reply.partition(":")
        first = texts[0]
        if kind == "topic":
            wanted = key.split("|")
            for tid, topic in topics().items():
                own = [topic.answer, topic.youth.answer if topic.youth else ""]
                if _starts(first, *own):
                    return None if tid in wanted else f"answered {tid}"
            return f"no topic answer: {first[:50]!r}"
        if kind == "offers":
            titles = self.offer_titles.values()
            shown = [t for x in texts for t in titles if x.startswith(f"{t} (")]  # as shown
            if not shown or OFFER_LINK not in "\n".join(texts):
                return f"no offers: {first[:50]!r}"
            if case.offer and self.offer_titles.get(case.offer) not in shown:
                return f"not {case.offer}"
            if case.theme and self.offer_themes[shown[0]] != case.theme:
                return f"first offer not on {case.theme}"
            return None
        if kind == "person":
            started = any("handoff_request" in (r.get("custom") or {}) for r in replies)
            offered = (
                any(
                    b.get("payload") in ("/ask_human", "/affirm")
                    for b in replies[0].get("buttons", [])
                )
                and "medewerker" in first.lower()
            )
            return None if started or offered else f"no person: {first[:50]!r}"
        if kind == "youth":
            return None if _starts(first, youth_content().answers[key]) else "not that answer"
        if kind == "youth_mode":
            return None if _starts(first, youth_content().welcome) else "no youth welcome"
        if kind == "faq":
            return None if _starts(first, *_responses(f"utter_faq/{key}")) else "not that faq"
        if kind == "conflict_divorce":
            return None if _starts(first, *_responses("utter_conflict_divorce")) else "not conflict"
        if kind == "no_alarm":
            return None
        return None if _starts(first, *_responses(f"utter_{kind}")) else f"not {kind}"


async def ask(http: aiohttp.ClientSession, url: str, text: str) -> list[Reply]:
    """The first reply of a fresh conversation (no token: the service starts a new one)."""
    async with http.post(url, json={"message": text}) as response:
        if response.status != 200:
            raise SystemExit(f"/api/chat answered HTTP {response.status}; see the service log")
        replies: list[Reply] = await response.json()
    for reply in replies:
        if (reply.get("custom") or {}).get("service") in FAILURES:
            raise SystemExit(f"the service answered {reply['custom']['service']}: see its log")
    return replies


async def measure(url: str, cases: list[Case], misses: bool) -> dict[str, tuple[int, int]]:
    judge = Judge()
    results: dict[str, Counter[str]] = defaultdict(Counter)
    wrong: list[tuple[Case, str]] = []
    queue: asyncio.Queue[Case] = asyncio.Queue()
    for case in cases:
        queue.put_nowait(case)

    async def worker(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            case = queue.get_nowait()
            why = judge.verdict(case, await ask(http, url, case.text))
            results[case.group]["right" if why is None else "wrong"] += 1
            if why is not None:
                wrong.append((case, why))

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        await asyncio.gather(*(worker(http) for _ in range(4)))
    if misses:
        for case, why in sorted(wrong, key=lambda w: (w[0].group, w[1])):
            print(f"  [{case.group}] {case.reply:28s} {why:45s} | {case.text[:90]}")
    return {g: (c["right"], c["right"] + c["wrong"]) for g, c in results.items()}


def report(figures: dict[str, tuple[int, int]]) -> None:
    print(f"{'group':12s} {'cases':>6s} {'right':>7s}")
    for group, (right, n) in sorted(figures.items()):
        print(f"{group:12s} {n:6d} {right / n:7.1%}")
    right = sum(r for r, _ in figures.values())
    n = sum(n for _, n in figures.values())
    print(f"{'all':12s} {n:6d} {right / n:7.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--enforce", action="store_true", help="fail below the floors")
    parser.add_argument("--misses", action="store_true", help="list every wrong first reply")
    args = parser.parse_args()
    cases = load_cases()
    print(f"{len(cases)} cases; starting an own Redis, Rasa and service (~60 s)", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="cjg-acceptance-") as tmp,
        running_service(Path(tmp), args.model) as (_, service),
    ):
        figures = asyncio.run(measure(f"{service.url}/api/chat", cases, args.misses))
    report(figures)
    missed = floors_missed(figures)
    if args.enforce and missed:
        raise SystemExit(missed)


def floors_missed(figures: dict[str, tuple[int, int]]) -> str | None:
    """What falls below the floors, said so that the reader knows the next step; None if all
    are met."""
    right = sum(r for r, _ in figures.values())
    overall = right / sum(n for _, n in figures.values())
    low = {g: r / n for g, (r, n) in figures.items() if r / n < FLOOR_GROUP}
    crisis_right, crisis_n = figures.get("crisis", (0, 0))
    if overall < FLOOR_ALL or low or crisis_right < crisis_n:
        return (
            f"below the floors (all >= {FLOOR_ALL:.0%}, every group >= {FLOOR_GROUP:.0%}, "
            f"every crisis message): {overall:.1%} overall, low: {low or 'none'}, crisis "
            f"{crisis_right}/{crisis_n}. Run with --misses to see which first replies went wrong."
        )
    return None


if __name__ == "__main__":
    main()
