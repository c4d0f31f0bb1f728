"""What "accepted" means: a write the service acknowledges survives the crash of any one process.

Two layers (docs/DURABILITY.md):

- Redis itself runs with ``appendfsync always`` (scripts/prepare-env): it writes every change to
  its append-only file and fsyncs it before it answers, so an acknowledged write is on disk when
  the service hears "OK". This costs little at this data's volume (docs/PERFORMANCE.md).
- With replicas (``CJG_REDIS_WAIT_REPLICAS`` > 0, e.g. under Sentinel), :meth:`Durability.confirm`
  waits until that many replicas have the writes too (Redis ``WAIT``), so a failover to a replica
  loses nothing that was acknowledged. Without replicas it does nothing.

The write paths that acknowledge (a user message's turn: ``delivery/write.py``
``Delivery.acknowledge``, after its replies are written; a staff reply: ``HandoffService.send``)
call ``confirm`` last. When it fails the message is not acknowledged: the user gets "probeer het
zo nog eens" and sends it again (a retry may then find it once more).

Redis replicates asynchronously. Without the wait, a write that the master took and the service
acknowledged can be missing on the replica that Sentinel promotes when the master dies.
``WAIT`` counts the writes of its own connection only, while the service's writes go over a
pool. So the check writes one small key itself and waits on that same connection: the
replication stream is ordered, so when a replica has this write it has every write that was
acknowledged to the service before it.

It waits for at most as many replicas as the master has connected: after a failover the new
master has no replica until the old one comes back, and refusing every write then would turn a
failover into an outage (the master's own append-only file still keeps the data).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from delivery import keys


class NotReplicated(RedisError):
    """The replicas did not confirm the writes in time (a RedisError: handled as Redis away)."""


async def wait_for_replicas(redis: Redis, replicas: int, timeout_ms: int) -> int:
    """Waits until ``replicas`` replicas (at most the connected ones) have every write made
    before the call; returns how many confirmed. Raises ``NotReplicated`` when fewer did
    within ``timeout_ms``, and RedisError when Redis is away. ``replicas`` 0: returns at once."""
    if replicas <= 0:
        return 0
    # One connection for the write, ROLE and WAIT (not a pipeline: it takes a connection of
    # its own from the pool, and WAIT on a connection that wrote nothing returns at once).
    async with redis.client() as connection:
        await connection.set(keys.REPLICATION_MARK, str(time.time()), ex=3600)
        role = await connection.execute_command("ROLE")  # type: ignore[no-untyped-call]
        connected = len(role[2]) if role and str(role[0]) == "master" else 0
        needed = min(replicas, connected)
        if needed == 0:
            return 0
        confirmed = int(await connection.execute_command("WAIT", needed, timeout_ms))  # type: ignore[no-untyped-call]
    if confirmed < needed:
        raise NotReplicated(f"{confirmed} of {needed} replicas confirmed within {timeout_ms} ms")
    return confirmed


@dataclass(frozen=True)
class Durability:
    replicas: int = 0  # how many replicas must have a write before it is acknowledged
    timeout_ms: int = 1000  # how long to wait for them; then the write counts as failed

    async def confirm(self, redis: Redis) -> None:
        """Returns once every write made before the call is on ``replicas`` replicas (at most
        the connected ones); raises ``NotReplicated`` (a RedisError) when they do not confirm
        in time. Without replicas it does nothing."""
        await wait_for_replicas(redis, self.replicas, self.timeout_ms)
