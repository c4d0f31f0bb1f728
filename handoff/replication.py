"""Acknowledged writes wait for the replica: what keeps a message through a Redis failover.

Redis replicates asynchronously. Without this, a write that the master took and the service
acknowledged can be missing on the replica that Sentinel promotes when the master dies, so an
acknowledged message would be lost. ``wait_for_replicas`` blocks until the replicas have every
write made so far, and raises when they do not confirm in time: the caller then refuses the
request (503, "probeer het zo nog eens") instead of acknowledging it.

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

from redis.asyncio import Redis
from redis.exceptions import RedisError

from handoff import keys


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
