"""Upkeep: the periodic jobs every instance runs (bot/web_app.py's sweeper). Each is idempotent,
so instances may run them at the same time."""

from __future__ import annotations

import logging

from handoff.requests import STREAM as REQUESTS
from handoff.service_parts import Parts
from handoff.staff_side import StaffSide
from handoff.store import now_ms

log = logging.getLogger(__name__)


class Upkeep:
    def __init__(self, parts: Parts, staff: StaffSide) -> None:
        self._parts, self._staff = parts, staff
        self._store, self._timing = parts.store, parts.timing

    async def purge(self) -> int:
        """The retention job: everything about a handoff older than the retention time goes,
        and so do old handoff requests. Every instance may run it; it is idempotent."""
        before = now_ms() - self._timing.retention_seconds * 1000
        purged = await self._store.purge(before)
        await self._parts.redis.xtrim(REQUESTS, minid=before)
        if purged:
            log.info("retention: %d old handoff(s) deleted", purged)
        return purged

    async def sweep(self) -> int:
        """Puts claimed chats back in the queue when their staff member left or went silent.

        Safe on every instance at once: each release is atomic and checks the owner again.
        """
        await self._parts.router.open_due()
        released = 0
        silent_before = now_ms() - int(self._timing.silent_seconds * 1000)
        silent = set(await self._store.stale_claims(silent_before))
        connected: dict[str, bool] = {}  # asked once per staff member, not once per chat
        for handoff in await self._store.claimed():
            staff = handoff.staff
            if staff is not None and staff not in connected:
                connected[staff] = await self._staff.is_connected(staff)
            gone = staff is not None and not connected[staff]
            if (handoff.hid in silent or gone) and await self._staff.release(
                handoff.hid, None, timeout=not gone
            ):
                released += 1
        if released:
            log.info("returned %d claimed handoff(s) to the queue", released)
        return released

    async def count_quiet(self) -> None:
        """Counts the conversations that went quiet in the figures (base/registrar.py)."""
        await self._parts.registrar.flush_idle()
