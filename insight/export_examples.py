"""``scripts/export-examples``: the questions I&A staff marked on the dashboard, written into the
NLU data for review.

Examples go to ``nlu/staff_examples.yml`` (Rasa's format, one block per intent, added to what is
there); suggested new topics go to ``content/topic_suggestions.yml``, which nothing loads: it is
a list for the content editors. Both are ordinary files under version control, so the review is
the diff; the next ``make run`` trains on the examples that were kept. Exported questions are
marked "exported" and do not come back.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from base.client_redis import RedisTarget, aclose_redis, redis_client
from insight.unclear import UnclearQuestions

ROOT = Path(__file__).resolve().parents[1]
HEADER = (
    "# Examples I&A staff marked on the insight dashboard (scripts/export-examples).\n"
    "# Review before committing: remove what does not fit, check that no personal data is left\n"
    "# (the text was redacted, but read it), and move a block to the intent's own file if you\n"
    "# like. The next 'make run' trains on what is here.\n"
)


def merge_examples(path: Path, new: dict[str, list[str]]) -> int:
    """Adds examples per intent to a Rasa NLU file, skipping ones already there; returns how
    many were added."""
    blocks: dict[str, list[str]] = {}
    if path.exists():
        loaded: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in loaded.get("nlu") or []:
            lines = str(block.get("examples") or "").splitlines()
            blocks[str(block["intent"])] = [ln[2:].strip() for ln in lines if ln.startswith("- ")]
    added = 0
    for intent, examples in new.items():
        have = blocks.setdefault(intent, [])
        for example in examples:
            clean = " ".join(example.replace("{", "(").replace("}", ")").split())
            if clean and clean not in have:
                have.append(clean)
                added += 1
    out = [HEADER, 'version: "3.1"', "nlu:"]
    for intent in sorted(blocks):
        out.append(f"  - intent: {intent}")
        out.append("    examples: |")
        out += [f"      - {example}" for example in blocks[intent]]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return added


def write_topics(path: Path, topics: list[tuple[str, str]]) -> None:
    found: Any = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    items = list((found or {}).get("suggestions") or [])
    day = datetime.now(UTC).date().isoformat()
    items += [{"exported": day, "note": note, "question": text} for note, text in topics]
    body = yaml.safe_dump({"suggestions": items}, allow_unicode=True, sort_keys=False)
    path.write_text(
        "# New topics I&A staff suggested on the insight dashboard (scripts/export-examples).\n"
        "# Nothing loads this file: write a content/topics/<id>.yml for the ones worth it.\n"
        + body,
        encoding="utf-8",
    )


async def export(redis: Redis, nlu_file: Path, topics_file: Path) -> tuple[int, int]:
    unclear = UnclearQuestions(redis, retention_seconds=0)
    examples = await unclear.marked("example")
    topics = await unclear.marked("topic")
    by_intent: dict[str, list[str]] = {}
    for _, mark, text in examples:
        by_intent.setdefault(str(mark["intent"]), []).append(text)
    added = merge_examples(nlu_file, by_intent) if by_intent else 0
    if topics:
        write_topics(topics_file, [(str(mark.get("note") or ""), text) for _, mark, text in topics])
    await unclear.set_exported([item_id for item_id, _, _ in examples + topics])
    return added, len(topics)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--nlu", type=Path, default=ROOT / "nlu" / "staff_examples.yml")
    parser.add_argument("--topics", type=Path, default=ROOT / "content" / "topic_suggestions.yml")
    args = parser.parse_args(argv)
    target = RedisTarget.from_env()

    async def run() -> tuple[int, int]:
        redis = redis_client(target)
        try:
            return await export(redis, args.nlu, args.topics)
        finally:
            await aclose_redis(redis)

    try:
        added, topics = asyncio.run(run())
    except RedisConnectionError:
        print("Redis is not reachable: start the stack with 'make run' first.", file=sys.stderr)
        return 1
    print(f"{added} new example(s) in {args.nlu}; {topics} topic suggestion(s) in {args.topics}.")
    if added:
        print("Review the diff ('git diff nlu/'), then 'make run' retrains the model.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
