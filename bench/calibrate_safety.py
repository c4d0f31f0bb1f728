"""Picks the crisis intent's confidence threshold (``intent_threshold`` in content/safety.yml).

Runs the calibration set (bench/safety_calibration.yml: risk and ordinary messages, written
apart from the training data, the phrase list and the held-out test set) through the phrase
list and the running model, and prints recall and false alarms for a range of thresholds.
The held-out set in tests/safety/ then measures the chosen value; it is never used to choose.

    .venv/bin/python bench/calibrate_safety.py            # starts its own Redis and Rasa
    .venv/bin/python bench/calibrate_safety.py --smoke    # five messages of each kind
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common.safety import check_text, safety_phrases
from tests.servers import MODEL, running_stack

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99)
MAX_FALSE_ALARMS = 0.02  # a margin under the 3% the issue allows


async def crisis_confidence(http: aiohttp.ClientSession, url: str, token: str, text: str) -> float:
    async with http.post(
        f"{url}/model/parse", params={"token": token}, json={"text": text}
    ) as response:
        body = await response.json()
    intent = body.get("intent") or {}
    return float(intent.get("confidence") or 0) if intent.get("name") == "crisis" else 0.0


async def score(url: str, token: str, limit: int | None) -> dict[str, list[tuple[bool, float]]]:
    """Per message: whether a phrase matches, and the crisis intent's confidence."""
    data = yaml.safe_load((ROOT / "bench" / "safety_calibration.yml").read_text())
    rules = safety_phrases()
    scored: dict[str, list[tuple[bool, float]]] = {"risk": [], "ordinary": []}
    async with aiohttp.ClientSession() as http:
        for kind in scored:
            for text in data[kind][:limit]:
                phrase = check_text(text, rules) is not None
                scored[kind].append((phrase, await crisis_confidence(http, url, token, text)))
    return scored


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--smoke", action="store_true", help="five messages of each kind")
    args = parser.parse_args()
    print("Starting an own Redis and Rasa on the model; Rasa needs ~30-60 s", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="cjg-calibrate-") as tmp,
        running_stack(Path(tmp), args.model) as (_, stack),
    ):
        scored = asyncio.run(score(stack.url, stack.token, 5 if args.smoke else None))
    report(scored)
    return 0


def report(scored: dict[str, list[tuple[bool, float]]]) -> float:
    """Prints recall and false alarms per threshold; returns the share of risk messages that
    raise the alarm or the question as the product runs now."""
    print(f"{len(scored['risk'])} risk and {len(scored['ordinary'])} ordinary messages")
    print(f"{'threshold':>9}  {'recall':>6}  {'false alarms':>12}")
    best = None
    for threshold in THRESHOLDS:

        def fires(item: tuple[bool, float], t: float = threshold) -> bool:
            return item[0] or item[1] >= t

        recall = sum(map(fires, scored["risk"])) / len(scored["risk"])
        alarms = sum(map(fires, scored["ordinary"])) / len(scored["ordinary"])
        print(f"{threshold:>9.2f}  {recall:>6.3f}  {alarms:>12.3f}")
        if best is None and alarms <= MAX_FALSE_ALARMS:
            best = threshold
    phrases_only = sum(p for p, _ in scored["risk"]) / len(scored["risk"])
    phrase_alarms = sum(p for p, _ in scored["ordinary"]) / len(scored["ordinary"])
    print(f"phrase list alone: recall {phrases_only:.3f}, false alarms {phrase_alarms:.3f}")
    print(f"lowest threshold with false alarms <= {MAX_FALSE_ALARMS}: {best}")
    # As the product runs now (threshold 1.0): phrase -> alarm, crisis intent -> the question.
    found = sum(p or c > 0 for p, c in scored["risk"]) / len(scored["risk"])
    asked = sum(not p and c > 0 for p, c in scored["ordinary"]) / len(scored["ordinary"])
    print(
        f"alarm or question: recall {found:.3f}; ordinary messages asked the question {asked:.3f}"
    )
    return found


if __name__ == "__main__":
    raise SystemExit(main())
