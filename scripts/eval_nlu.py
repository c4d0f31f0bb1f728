"""Evaluates the trained model on the held-out test set in tests/nlu/ (never used for training).

Four figures, each against its own floor (exit 1 when one is missed):
- intent macro-F1, as Rasa defines intents: ``opvoedvraag`` and ``faq`` count as one intent each
  (DIET's job). A message that ends in the fallback counts as wrong.
- topic macro-F1 over full keys such as ``opvoedvraag/slapen`` (the ResponseSelector's job on
  top of DIET's): picking the wrong topic is an error.
- top-3 topic accuracy: how often the right topic is among the three the assistant offers when
  it is unsure (see assistant/actions/topics.py).
- the F1 of every single intent (``vechtscheiding``, ``crisis``, ...), so a rare intent cannot
  hide behind the average.

Every intent needs at least 20 held-out messages and every topic 6, or its F1 means little.

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


ANSWER, ANSWER_MARGIN = 0.3, 0.05  # as in assistant/actions/topics.py: answered, not asked


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
            sure = ranking[0][1] >= ANSWER and ranking[0][1] - runner_up >= ANSWER_MARGIN
            return [k for k, _ in ranking], sure
    return [name], True


def macro_f1(
    truth: list[str], predicted: list[str], least: int
) -> tuple[float, dict[str, float], list[str]]:
    """Macro-F1, F1 per label, and the labels with fewer than ``least`` held-out messages."""
    from sklearn.metrics import precision_recall_fscore_support

    labels = sorted(set(truth))
    _, _, f1s, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    per = {label: round(float(f), 3) for label, f in zip(labels, f1s, strict=True)}
    too_few = [label for label, n in zip(labels, support, strict=True) if n < least]
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
    # The goals of issue #17, just under the measured figures (issue #19: intent 0.953, topic
    # 0.902, top-3 0.945, lowest intent 0.857 on 882 messages; docs/PERFORMANCE.md). Top-3 was
    # 0.955 before the set gained five topics and issue #19's data; it is held at 0.94 now.
    # Training is deterministic (fixed seeds, liblinear), so the same data gives the same
    # figures; new data moves them, so read them.
    parser.add_argument("--intent-threshold", type=float, default=0.95)
    parser.add_argument("--topic-threshold", type=float, default=0.90)
    parser.add_argument("--top3-threshold", type=float, default=0.94)
    parser.add_argument("--per-intent-threshold", type=float, default=0.85)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "cjg.tar.gz")
    parser.add_argument("--data", type=Path, default=ROOT / "tests" / "nlu")
    parser.add_argument("--report", type=Path, default=ROOT / "var" / "nlu-eval.json")
    args = parser.parse_args()

    started = time.monotonic()
    texts, truth, ranked = asyncio.run(evaluate(args.model, args.data))
    predicted = [r[0][0] for r in ranked]
    topic_f1, per_topic, too_few = macro_f1(truth, predicted, least=6)
    intent_f1, per_intent, too_few_intents = macro_f1(
        [t.split("/")[0] for t in truth], [p.split("/")[0] for p in predicted], least=20
    )
    too_few += too_few_intents
    topical = [(t, r, sure) for t, (r, sure) in zip(truth, ranked, strict=True) if "/" in t]
    top3 = sum(t in r[:3] for t, r, _ in topical) / len(topical)
    direct = [t == r[0] for t, r, sure in topical if sure]
    asked = [t in r[:3] for t, r, sure in topical if not sure]
    confusions = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p)

    print(f"\nHeld-out NLU evaluation: {len(texts)} messages, {len(per_topic)} intents and topics")
    print("Weakest intents:")
    for label, f in sorted(per_intent.items(), key=lambda kv: kv[1])[:6]:
        print(f"  F1 {f:.3f}  {label}")
    print("Weakest topics:")
    for label, f in sorted(per_topic.items(), key=lambda kv: kv[1])[:12]:
        print(f"  F1 {f:.3f}  {label}")
    print("Most frequent confusions (true -> predicted):")
    for (t, p), n in confusions.most_common(10):
        print(f"  {n:3d}  {t} -> {p}")
    checks = [
        ("intent macro-F1", intent_f1, args.intent_threshold),
        ("topic macro-F1", topic_f1, args.topic_threshold),
        ("top-3 topic accuracy", top3, args.top3_threshold),
        *((f"F1 of {name}", f, args.per_intent_threshold) for name, f in per_intent.items()),
    ]
    for name, value, threshold in checks[:3]:
        print(f"{name}: {value:.3f} (threshold {threshold:.2f})")
    weakest = min(per_intent, key=lambda name: per_intent[name])
    print(f"lowest intent F1: {per_intent[weakest]:.3f} ({weakest}; "
          f"threshold {args.per_intent_threshold:.2f} for every intent)")  # fmt: skip
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
        sys.exit(
            "Held-out set has too few messages (20 per intent, 6 per topic) for: "
            + ", ".join(too_few)
        )
    missed = [f"{name} {value:.3f} < {t:.2f}" for name, value, t in checks if value < t]
    if missed:
        sys.exit("Below threshold: " + "; ".join(missed))


if __name__ == "__main__":
    main()
