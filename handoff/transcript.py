"""The handoff transcript: one Redis stream per handoff of what the user, the bot and staff
said, for the console (the user's outbox is delivery/outbox.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Literal, cast

from redis.asyncio import Redis

from base.redact import redact
from handoff import keys
from handoff.store import now_ms

Role = Literal["user", "bot", "staff", "note", "system"]


@dataclass(frozen=True)
class Entry:
    id: str
    role: Role
    text: str
    at: int
    staff: str | None = None  # the staff member's first name, for staff messages and notes

    def public(self) -> dict[str, Any]:
        return asdict(self)


class Transcript:
    def __init__(self, redis: Redis, retention_seconds: int) -> None:
        self._redis = redis
        self._retention = retention_seconds

    async def append(self, hid: str, role: Role, text: str, staff: str | None = None) -> Entry:
        at = now_ms()
        fields = {"role": role, "text": text, "at": at}
        if staff:
            fields["staff"] = staff
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(keys.transcript(hid), fields)  # type: ignore[arg-type]
            pipe.expire(keys.transcript(hid), self._retention)
            entry_id, _ = await pipe.execute()
        return Entry(str(entry_id), role, text, at, staff)

    async def append_many(self, hid: str, entries: list[tuple[Role, str]]) -> None:
        if not entries:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            for role, text in entries:
                pipe.xadd(keys.transcript(hid), {"role": role, "text": text, "at": now_ms()})
            pipe.expire(keys.transcript(hid), self._retention)
            await pipe.execute()

    async def read(self, hid: str) -> list[Entry]:
        raw = cast(list[tuple[str, dict[str, str]]], await self._redis.xrange(keys.transcript(hid)))
        return [
            Entry(
                entry_id,
                cast(Role, f["role"]),
                f["text"],
                int(f["at"]),
                f.get("staff"),
            )
            for entry_id, f in raw
        ]

    async def redact(self, hid: str) -> dict[str, int]:
        """Rewrites the transcript with personal data replaced (same ids, same order); how
        many entries changed, per role. Run when the handoff ends."""
        entries = await self.read(hid)
        personal = [e for e in entries if e.role in ("user", "staff", "note")]
        cleaned = await redact([e.text for e in personal])
        changed = {e.id: c for e, c in zip(personal, cleaned, strict=True) if c != e.text}
        roles = Counter[str](e.role for e in personal if e.id in changed)
        if not changed:
            return {}
        name = keys.transcript(hid)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(name)
            for e in entries:
                fields: dict[str, str | int] = {
                    "role": e.role,
                    "text": changed.get(e.id, e.text),
                    "at": e.at,
                }
                if e.staff:
                    fields["staff"] = e.staff
                pipe.xadd(name, fields, id=e.id)  # type: ignore[arg-type]
            pipe.expire(name, self._retention)
            await pipe.execute()
        return dict(roles)
