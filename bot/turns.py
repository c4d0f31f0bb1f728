"""One turn at a time per conversation, and an erase that no turn in flight can undo.

A turn (one user message: the state check, Rasa, a handoff) holds the conversation's lock in
Redis, so it is serialised across every instance. "Gesprek wissen" first raises the
conversation's erase counter, then waits for the lock, deletes everything and lets go. A turn
compares the counter it read at its start before it writes after Rasa's answer and once more at
its end: a turn that finds the conversation erased drops its reply and deletes what it may
have re-created (Rasa writes its tracker at the end of its own turn). The counter also catches
a turn whose lock expired (Rasa slower than the lock's lifetime).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.commands.core import AsyncScript
from redis.exceptions import LockError, RedisError

from handoff import keys

log = logging.getLogger(__name__)
ERASED_TTL = 600  # seconds the erase counter outlives an erase: far longer than any turn
RELEASE_RETRY_SECONDS = 10.0  # a Sentinel failover takes a few seconds


@dataclass(frozen=True)
class Turn:
    """One turn of a conversation; ``erased()`` tells whether an erase happened since it began."""

    redis: Redis
    cid: str
    epoch: str | None

    async def erased(self) -> bool:
        raw = await self.redis.get(keys.erased(self.cid))
        return (raw.decode() if isinstance(raw, bytes) else raw) != self.epoch


# KEYS: lock, erase counter   ARGV: token, lifetime (ms)
# {1, the counter} when the lock was free and is now taken; {0, nil} when someone holds it.
_ACQUIRE = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0, false} end
return {1, redis.call('GET', KEYS[2])}
"""


class _TurnLock(Lock):
    """The conversation's lock, taken together with a read of its erase counter (one round
    trip instead of two; under ``appendfsync always`` each waits for Redis's fsync). Read in
    the same script as the lock is taken, it is as current as a read just after it. A script,
    not a ``MULTI``: the same atomic step at less of the service's CPU (every message)."""

    def __init__(self, redis: Redis, cid: str, hold: float, acquire: AsyncScript) -> None:
        super().__init__(redis, keys.turn_lock(cid), timeout=hold, blocking_timeout=hold)
        self._erased = keys.erased(cid)
        self._acquire = acquire
        self.held = False
        self.epoch: str | None = None

    async def do_acquire(self, token: str | bytes) -> bool:
        milliseconds = int(float(self.timeout or 0) * 1000)
        taken, raw = await self._acquire(keys=[self.name, self._erased], args=[token, milliseconds])
        if not int(taken):
            return False
        self.held = True
        self.epoch = raw.decode() if isinstance(raw, bytes) else raw
        return True


class Turns:
    def __init__(self, redis: Redis, hold_seconds: float) -> None:
        """``hold_seconds``: how long a turn may keep the lock (Rasa's timeout, twice, and some);
        a turn or an erase waits at most that long for it."""
        self._redis = redis
        self._hold = hold_seconds
        self._acquire = redis.register_script(_ACQUIRE)
        self._releasing: set[asyncio.Task[None]] = set()  # retries after a failover

    @contextlib.asynccontextmanager
    async def _locked(self, cid: str) -> AsyncIterator[_TurnLock]:
        lock = _TurnLock(self._redis, cid, self._hold, self._acquire)
        held = await lock.acquire()
        if not held:  # only when a holder outlived its lock; the erase counter still guards
            log.warning("conversation lock not acquired in time; going on without it")
        try:
            yield lock
        finally:
            if held:
                await self._release(lock)

    async def _release(self, lock: Lock) -> None:
        """Lets go of the lock. Expired (someone else may hold it now): nothing to do. Redis
        away: keep trying for a few seconds in the background (the reply does not wait),
        because in a Sentinel failover the lock lives on in the promoted replica and, left
        alone, would hold up the conversation's next turns for its whole lifetime."""
        try:
            await lock.release()
        except LockError:
            pass
        except RedisError:
            task = asyncio.create_task(self._release_later(lock))
            self._releasing.add(task)
            task.add_done_callback(self._releasing.discard)

    async def _release_later(self, lock: Lock) -> None:
        deadline = asyncio.get_running_loop().time() + min(self._hold, RELEASE_RETRY_SECONDS)
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.25)
            try:
                await lock.release()
                return
            except LockError:
                return
            except RedisError:
                continue
        log.warning("conversation lock not released; it expires by itself")

    @contextlib.asynccontextmanager
    async def turn(self, cid: str) -> AsyncIterator[Turn | None]:
        """The turn, holding the lock; None when Redis is away (the turn itself then tells the
        user, with the crisis card first if need be)."""
        locked = self._locked(cid)
        try:
            lock = await locked.__aenter__()
        except RedisError as exc:
            log.error("conversation lock unavailable (%s)", type(exc).__name__)
            yield None
            return
        try:
            # Not acquired in time: the counter is read now (Redis away: no turn to check).
            epoch = lock.epoch if lock.held else await self._epoch(cid)
        except RedisError:
            await locked.__aexit__(None, None, None)
            yield None
            return
        try:
            yield Turn(self._redis, cid, epoch)
        finally:
            await locked.__aexit__(None, None, None)

    async def _epoch(self, cid: str) -> str | None:
        raw = await self._redis.get(keys.erased(cid))
        return raw.decode() if isinstance(raw, bytes) else raw

    @contextlib.asynccontextmanager
    async def erasing(self, cid: str) -> AsyncIterator[None]:
        """Marks the conversation erased at once (a turn in flight drops its reply), then waits
        for the turn to end; the caller deletes while holding the lock."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(keys.erased(cid))
            pipe.expire(keys.erased(cid), ERASED_TTL)
            await pipe.execute()
        async with self._locked(cid):
            yield
