"""The checks every message passes first: the safety check, then the rate limits.

The safety check runs before the limits (a flood never hides a crisis) and before the turn's
lock is taken; a signal goes to bot/core/crisis.py whatever the conversation's state.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot import safety
from bot.core.utterance import Utterance
from bot.rate_limit import RateLimits
from bot.text_input import RateLimited, StorageUnavailable
from common.safety import Signal
from handoff.service import HandoffService
from handoff.store import Conversation

log = logging.getLogger(__name__)


def safety_signal(text: str, payload: bool) -> Signal | None:
    """A matching crisis phrase in what the user typed; a button's own payload is not text."""
    return None if payload else safety.check(text)


@contextmanager
def storage_or_retry() -> Iterator[None]:
    """Redis refused before anything of the message was kept (full with maxmemory and
    noeviction, or away): StorageUnavailable, so the client may send it again as it is."""
    try:
        yield
    except RedisError as exc:
        log.error("conversation state unavailable (%s)", type(exc).__name__)
        raise StorageUnavailable() from exc


class Checks:
    def __init__(self, redis: Redis, limits: RateLimits, handoff: HandoffService) -> None:
        """``redis``: the service's client, for the one round trip of :meth:`admit`."""
        self._redis = redis
        self._limits = limits
        self._handoff = handoff

    async def may_start(self, cid: str, address: str | None) -> bool:
        """Whether a conversation may start without a message (the API's session): it counts
        as one message of the conversation and of the client's address."""
        return await self._limits.allow(cid, address)

    async def admit(self, u: Utterance) -> Conversation:
        """Counts the message against the rate limits and returns the conversation's state,
        for the routing. Raises RateLimited for a flood and StorageUnavailable when Redis
        cannot tell (nothing is kept then: the client may send it again). An admitted
        conversation is noted for the figures (base/registrar.py)."""
        with storage_or_retry():
            allowed, state = await self._limits_and_state(u.cid, u.incoming.address)
            if not allowed:
                raise RateLimited()
            await self._handoff.register(u.cid, u.channel)
        return state

    async def _limits_and_state(self, cid: str, address: str | None) -> tuple[bool, Conversation]:
        """Whether the rate limits let the message in, and the conversation's state: one round
        trip (the state is read even when it is refused; reading changes nothing)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            within = self._limits.count(pipe, cid, address)
            state = self._handoff.conversation_in(pipe, cid)
            results = await pipe.execute()
        return within(results), state(results)
