"""Queue news: the waiting user's place in the queue and an honest wait estimate.

Told when the user joins, when the queue moves (a claim, a cancel, a release) and in every
status poll; the estimate learns from how long recent handoffs took.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from handoff import keys
from handoff.service_parts import Message, Parts, event, stop_waiting

NOTIFY_FRONT = 25  # queue places that get a message when they move up
EWMA_WEIGHT = 0.2  # how fast the handling-time average follows recent handoffs


class QueueNews:
    def __init__(self, parts: Parts) -> None:
        self._parts = parts

    def queue_message(self, key: str, position: int, estimate: int | None) -> Message:
        say = self._parts.say
        return {
            "text": say(key, position=position, estimate=self._estimate_text(estimate)),
            "buttons": [stop_waiting()],
            "custom": event("queue", position=position, estimate_minutes=estimate),
        }

    async def notify_positions(self, skip: str | None = None) -> None:
        """Tells the waiting users at the front whose place in the queue changed.

        Only the first ``NOTIFY_FRONT`` get a message, so a claim costs the same with 20 or 2000
        waiting; everyone else reads the current position from the update feed's status.
        A few round trips to Redis, however many are told.
        """
        store = self._parts.store
        front = await store.front(NOTIFY_FRONT)
        if not front:
            return
        estimate = await self._estimator()
        routed = await store.routed()
        news: list[tuple[str, Message]] = []
        moved: dict[str, int] = {}
        for position, (hid, cid, last) in enumerate(front, start=1):
            if hid == skip or not cid or last == str(position):
                continue
            minutes = estimate(position)
            if minutes is not None and hid in routed:  # still for the matching colleagues
                minutes = await self.estimate(position, hid)
            news.append((cid, self.queue_message("queue_position", position, minutes)))
            moved[hid] = position
        await self._parts.outbox.push_many(news)
        await store.told_positions(moved)

    async def _estimator(self) -> Callable[[int], int | None]:
        """Minutes to wait at a queue position, from the recent average handling time and the
        staff online now; None when there is no history yet."""
        average = await self._parts.redis.hget(keys.STATS, "avg_handle_ms")
        staff = max(await self._parts.presence.online_count(), 1)

        def estimate(position: int) -> int | None:
            if not average:
                return None
            return max(1, math.ceil(math.ceil(position / staff) * float(average) / 60000))

        return estimate

    async def estimate(self, position: int, hid: str | None = None) -> int | None:
        """With ``hid``: that chat's own estimate, honest about its routing."""
        if hid is None:
            return (await self._estimator())(position)
        average = await self._parts.redis.hget(keys.STATS, "avg_handle_ms")
        online = await self._parts.presence.online_count()
        return await self._parts.router.estimate(hid, position, float(average or 0), online)

    def _estimate_text(self, minutes: int | None) -> str:
        say = self._parts.say
        if minutes is None:
            return say("estimate_unknown")
        if minutes < 5:
            return say("estimate_short")
        return say("estimate_minutes", minutes=5 * math.ceil(minutes / 5))

    async def learn_handling_time(self, handled_ms: int) -> None:
        redis = self._parts.redis
        old = await redis.hget(keys.STATS, "avg_handle_ms")
        new = handled_ms if not old else (1 - EWMA_WEIGHT) * float(old) + EWMA_WEIGHT * handled_ms
        await redis.hset(keys.STATS, "avg_handle_ms", str(int(new)))
