"""What "accepted" means: a write the service acknowledges survives the crash of any one process.

Two layers (docs/DURABILITY.md):

- Redis itself runs with ``appendfsync always`` (scripts/prepare-env): it writes every change to
  its append-only file and fsyncs it before it answers, so an acknowledged write is on disk when
  the service hears "OK". This costs little at this data's volume (docs/PERFORMANCE.md).
- With replicas (``CJG_REDIS_WAIT_REPLICAS`` > 0, e.g. under Sentinel), :meth:`Durability.confirm`
  waits until that many replicas have the writes too (Redis ``WAIT``), so a failover to a replica
  loses nothing that was acknowledged. Without replicas it does nothing.

The write paths that acknowledge (a user message: ``ConversationCore.handle``; a staff reply:
``HandoffService.send``) call ``confirm`` last. When it fails the message is not acknowledged:
the user gets "probeer het zo nog eens" and sends it again (a retry may then find it once more).
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from handoff.replication import NotReplicated, wait_for_replicas

__all__ = ["Durability", "NotReplicated"]


@dataclass(frozen=True)
class Durability:
    replicas: int = 0  # how many replicas must have a write before it is acknowledged
    timeout_ms: int = 1000  # how long to wait for them; then the write counts as failed

    async def confirm(self, redis: Redis) -> None:
        """Returns once every write made before the call is on ``replicas`` replicas (at most
        the connected ones: handoff/replication.py); raises ``NotReplicated`` (a RedisError)
        when they do not confirm in time. Without replicas it does nothing."""
        await wait_for_replicas(redis, self.replicas, self.timeout_ms)
