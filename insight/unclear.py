"""The improvement loop: questions the bot did not understand, redacted, for I&A staff to sort.

A message is kept only after ``deduce`` has replaced names, places, phone numbers and the like,
without any link to the conversation it came from; it expires after the retention time. Staff
mark each as a new example for an intent, a new topic, or ignore; ``scripts/export-examples``
writes the marked examples into the NLU data for review.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

from redis.asyncio import Redis

from base.redact import redact

STREAM = "cjg:insight:unclear"  # stream: {text (redacted), kind, guess, hour}
MARKS = "cjg:insight:unclear:marks"  # hash: stream id -> JSON mark
MAX_ITEMS = 5000
MAX_CHARS = 500
Kind = Literal["fallback", "unsure"]
_INTENT = re.compile(r"^[a-z_]+(/[a-z0-9_]+)?$")


@dataclass(frozen=True)
class Mark:
    kind: Literal["example", "topic", "ignore", "exported"]
    intent: str | None = None
    note: str | None = None

    def public(self) -> dict[str, Any]:
        found: dict[str, Any] = {"as": self.kind}
        if self.intent:
            found["intent"] = self.intent
        if self.note:
            found["note"] = self.note
        return found


def parse_mark(body: dict[str, Any], intents: set[str]) -> Mark | None:
    """A mark from the dashboard; None when it is incomplete or names an unknown intent."""
    kind = body.get("as")
    if kind == "example":
        intent = body.get("intent")
        return Mark("example", intent=intent) if intent in intents else None
    if kind == "topic":
        note = body.get("note")
        note = note.strip()[:200] if isinstance(note, str) else ""
        return Mark("topic", note=note or None)
    if kind == "ignore":
        return Mark("ignore")
    return None


Entries = list[tuple[str, dict[str, str]]]


class UnclearQuestions:
    def __init__(self, redis: Redis, retention_seconds: int) -> None:
        self._redis = redis
        self._retention = retention_seconds

    async def add(self, text: str, kind: Kind, guess: str | None) -> None:
        """Keeps a redacted copy of a question the bot did not understand."""
        cleaned = (await redact([text[:MAX_CHARS]]))[0].strip()
        if not cleaned:
            return
        fields = {
            "text": cleaned,
            "kind": kind,
            "guess": guess if guess and _INTENT.match(guess) else "",
            "hour": datetime.now(UTC).strftime("%Y-%m-%dT%H:00"),
        }
        await self._redis.xadd(STREAM, fields, maxlen=MAX_ITEMS, approximate=True)  # type: ignore[arg-type]

    async def items(self, limit: int = 200) -> list[dict[str, Any]]:
        raw = cast(Entries, await self._redis.xrevrange(STREAM, count=limit))
        marks = cast(dict[str, str], await self._redis.hgetall(MARKS))
        found = []
        for item_id, fields in raw:
            mark = marks.get(item_id)
            found.append(
                {
                    "id": str(item_id),
                    "text": fields.get("text", ""),
                    "kind": fields.get("kind", "fallback"),
                    "guess": fields.get("guess") or None,
                    "at": fields.get("hour", ""),
                    "mark": json.loads(mark) if mark else None,
                }
            )
        return found

    async def mark(self, item_id: str, mark: Mark) -> bool:
        if not re.fullmatch(r"\d{1,20}-\d{1,10}", item_id):
            return False
        if not await self._redis.xrange(STREAM, item_id, item_id):
            return False
        await self._redis.hset(MARKS, item_id, json.dumps(mark.public(), ensure_ascii=False))
        return True

    async def marked(self, kind: str) -> list[tuple[str, dict[str, Any], str]]:
        """(id, mark, redacted text) of every question marked ``kind`` (example, topic)."""
        marks = cast(dict[str, str], await self._redis.hgetall(MARKS))
        found = []
        for item_id, raw in sorted(marks.items()):
            mark = json.loads(raw)
            if mark.get("as") != kind:
                continue
            entries = cast(Entries, await self._redis.xrange(STREAM, item_id, item_id))
            if entries:
                found.append((item_id, mark, entries[0][1].get("text", "")))
        return found

    async def set_exported(self, item_ids: list[str]) -> None:
        if item_ids:
            done = json.dumps(Mark("exported").public())
            await self._redis.hset(MARKS, mapping=dict.fromkeys(item_ids, done))

    async def purge(self) -> None:
        """Retention: questions older than the retention time go, with their marks."""
        cutoff = int(datetime.now(UTC).timestamp() * 1000) - self._retention * 1000
        old = cast(Entries, await self._redis.xrange(STREAM, "-", f"{cutoff}-0", count=1000))
        if old:
            await self._redis.hdel(MARKS, *[str(i) for i, _ in old])
        await self._redis.xtrim(STREAM, minid=cutoff)
