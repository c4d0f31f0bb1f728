"""Evaluates the trained model on the held-out test set in tests/nlu/ (never used for training).

Three figures, each against its own threshold (exit 1 when one is missed):
- intent macro-F1, as Rasa defines intents: ``opvoedvraag`` and ``faq`` count as one intent each
  (DIET's job). A message that ends in the fallback counts as wrong.
- topic macro-F1 over full keys such as ``opvoedvraag/slapen`` (the ResponseSelector's job on
  top of DIET's): picking the wrong topic is an error.
- top-3 topic accuracy: how often the right topic is among the three the assistant offers when
  it is unsure (see assistant/actions/topics.py).

    .venv-rasa/bin/python scripts/eval_nlu.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


SURE, MARGIN = 0.6, 0.2  # as in assistant/actions/topics.py


def full_intents(parse: dict[str, Any]) -> tuple[list[str], bool]:
    """The predicted full intent first, then the runner-up topics of the same retrieval intent;
    and whether the assistant would answer directly (True) or ask which topic is meant."""
    name = str(parse["intent"]["name"])
    selector = parse.get("response_selector") or {}
    for key in (name, "default"):
        ranking = [
            (str(r.get("intent_response_key") or ""), float(r.get("confidence") or 0))
            for r in (selector.get(key) or {}).get("ranking") or []
        ]
        ranking = [(k, c) for k, c in ranking if k.startswith(f"{name}/")]
        if ranking:
            runner_up = ranking[1][1] if len(ranking) > 1 else 0.0
            sure = ranking[0][1] >= SURE and ranking[0][1] - runner_up >= MARGIN
            return [k for k, _ in ranking], sure
    return [name], True


def macro_f1(truth: list[str], predicted: list[str]) -> tuple[float, dict[str, float], list[str]]:
    from sklearn.metrics import precision_recall_fscore_support

    labels = sorted(set(truth))
    _, _, f1s, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    per = {label: round(float(f), 3) for label, f in zip(labels, f1s, strict=True)}
    too_few = [label for label, n in zip(labels, support, strict=True) if n < 6]
    return sum(per.values()) / len(per), per, too_few


async def evaluate(
    model: Path, data: Path
) -> tuple[list[str], list[str], list[tuple[list[str], bool]]]:
    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # Rasa would log every parsed text at debug level

    examples = [m for m in load_data(str(data)).intent_examples if m.get("text")]
    agent = Agent.load(str(model))
    texts = [str(m.get("text")) for m in examples]
    truth = [m.get_full_intent() for m in examples]
    predicted = []
    for i, text in enumerate(texts, 1):
        predicted.append(full_intents(await agent.parse_message(text)))
        if i % 50 == 0 or i == len(texts):
            print(f"  parsed {i}/{len(texts)}", file=sys.stderr, flush=True)
    return texts, truth, predicted


def main() -> None:
    parser = argparse.ArgumentParser()
    # Issue #3 asks intent macro-F1 >= 0.90 (measured: 0.914). The topic guards sit a little
    # under the measured figures (topic 0.769, top-3 0.829; docs/PERFORMANCE.md), so a retrain
    # cannot fail on noise.
    parser.add_argument("--intent-threshold", type=float, default=0.90)
    parser.add_argument("--topic-threshold", type=float, default=0.71)
    parser.add_argument("--top3-threshold", type=float, default=0.80)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "cjg.tar.gz")
    parser.add_argument("--data", type=Path, default=ROOT / "tests" / "nlu")
    parser.add_argument("--report", type=Path, default=ROOT / "var" / "nlu-eval.json")
    args = parser.parse_args()

    started = time.monotonic()
    texts, truth, ranked = asyncio.run(evaluate(args.model, args.data))
    predicted = [r[0][0] for r in ranked]
    topic_f1, per_topic, too_few = macro_f1(truth, predicted)
    intent_f1, per_intent, _ = macro_f1(
        [t.split("/")[0] for t in truth], [p.split("/")[0] for p in predicted]
    )
    topical = [(t, r, sure) for t, (r, sure) in zip(truth, ranked, strict=True) if "/" in t]
    top3 = sum(t in r[:3] for t, r, _ in topical) / len(topical)
    direct = [t == r[0] for t, r, sure in topical if sure]
    asked = [t in r[:3] for t, r, sure in topical if not sure]
    confusions = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p)

    print(f"\nHeld-out NLU evaluation: {len(texts)} messages, {len(per_topic)} intents and topics")
    for label, f in sorted(per_topic.items(), key=lambda kv: kv[1])[:15]:
        print(f"  F1 {f:.3f}  {label}")
    print("Most frequent confusions (true -> predicted):")
    for (t, p), n in confusions.most_common(10):
        print(f"  {n:3d}  {t} -> {p}")
    checks = [
        ("intent macro-F1", intent_f1, args.intent_threshold),
        ("topic macro-F1", topic_f1, args.topic_threshold),
        ("top-3 topic accuracy", top3, args.top3_threshold),
    ]
    for name, value, threshold in checks:
        print(f"{name}: {value:.3f} (threshold {threshold:.2f})")
    print(
        f"topic questions: {len(direct) / len(topical):.0%} answered directly, "
        f"{sum(direct) / max(1, len(direct)):.1%} of those with the right topic; "
        f"{len(asked) / len(topical):.0%} get a choice of topics, "
        f"{sum(asked) / max(1, len(asked)):.1%} of those include the right one"
    )
    print(f"evaluated in {time.monotonic() - started:.0f}s")
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps({
        "messages": len(texts),
        "intent_macro_f1": intent_f1,
        "topic_macro_f1": topic_f1,
        "top3_topic_accuracy": top3,
        "answered_directly": len(direct) / len(topical),
        "direct_answer_accuracy": sum(direct) / max(1, len(direct)),
        "choice_contains_right_topic": sum(asked) / max(1, len(asked)),
        "per_intent_f1": per_intent,
        "per_topic_f1": per_topic,
        "confusions": [{"true": t, "predicted": p, "count": n}
                       for (t, p), n in confusions.most_common()],
    }, indent=1))  # fmt: skip
    if too_few:
        sys.exit(f"Held-out set has fewer than 6 messages for: {', '.join(too_few)}")
    missed = [f"{name} {value:.3f} < {t:.2f}" for name, value, t in checks if value < t]
    if missed:
        sys.exit("Below threshold: " + "; ".join(missed))


if __name__ == "__main__":
    main()
