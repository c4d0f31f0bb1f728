"""Who opened or handled which conversation, and when: readable by admins only.

A Redis stream of small entries (staff username, action, handoff id, time); never message text.
Entries older than the retention time are trimmed on every write.
"""

from __future__ import annotations

from typing import Any, cast

from redis.asyncio import Redis

from handoff.store import now_ms

AUDIT = "cjg:staff:audit"


class AuditLog:
    def __init__(self, redis: Redis, retention_seconds: int) -> None:
        self._redis = redis
        self._retention_ms = retention_seconds * 1000

    async def record(self, staff: str, action: str, hid: str = "") -> None:
        oldest = now_ms() - self._retention_ms
        await self._redis.xadd(
            AUDIT, {"staff": staff, "action": action, "hid": hid}, minid=oldest, approximate=False
        )

    async def read(self, count: int = 500) -> list[dict[str, Any]]:
        """The newest entries first."""
        found = await self._redis.xrevrange(AUDIT, count=count)
        raw = cast(list[tuple[str, dict[str, str]]], found)
        return [{"at": int(entry_id.split("-")[0]), **fields} for entry_id, fields in raw]
