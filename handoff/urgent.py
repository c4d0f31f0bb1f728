"""Limits on new urgent handoffs, so a flood of crisis phrases cannot bury real urgent chats.

A crisis message always gets the crisis card (bot/core/crisis.py). Whether it may also open an
urgent handoff at the front of the queue (or move a waiting one there) is limited per
conversation, per client address and for the whole service, each over a sliding window. Past a
limit the conversation is queued at a normal place instead, and every staff console is told.
The counters live in Redis (keys in ``handoff.keys``); conversations and addresses are hashed
in the key names and nothing is kept beyond the window.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis

from handoff import keys

Kind = Literal["sender", "address", "service"]

# KEYS: one zset per limit   ARGV: now (ms), member, then count and window (ms) per key
# Either every window has room and the handoff is counted in each, or nothing is counted and
# the number of the first full window is returned.
_ALLOW = """
local now = tonumber(ARGV[1])
for i = 1, #KEYS do
  local window = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  if redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[1 + 2 * i]) then return i end
end
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[2])
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2 + 2 * i]))
end
return 0
"""


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int


def _digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"urgent\0{kind}\0{value}".encode()).hexdigest()[:24]


class UrgentLimits:
    def __init__(self, redis: Redis, per_sender: Limit, per_address: Limit, service: Limit) -> None:
        self._redis = redis
        self.per_sender = per_sender
        self.per_address = per_address
        self.service = service
        self._allow = redis.register_script(_ALLOW)

    async def allow(self, cid: str, address: str | None) -> Kind | None:
        """Counts one new urgent handoff; None when allowed, else the limit that is full."""
        counted: list[tuple[Kind, str, Limit]] = [
            ("sender", keys.urgent_window("sender", _digest("sender", cid)), self.per_sender)
        ]
        if address:
            key = keys.urgent_window("address", _digest("address", address))
            counted.append(("address", key, self.per_address))
        counted.append(("service", keys.URGENT_SERVICE, self.service))
        args: list[str | int] = [int(time.time() * 1000), secrets.token_hex(8)]
        for _, _, limit in counted:
            args += [limit.count, limit.seconds * 1000]
        full = int(await self._allow(keys=[k for _, k, _ in counted], args=args))
        return None if full == 0 else counted[full - 1][0]

    async def note_limited(self) -> int:
        """One more crisis message that was not put in as urgent; how many in this window."""
        window = int(time.time()) // self.service.seconds
        key = keys.urgent_limited(window)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 2 * self.service.seconds)
            count, _ = await pipe.execute()
        return int(count)
