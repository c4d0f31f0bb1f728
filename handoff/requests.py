"""A durable record of every handoff request, in a Redis stream.

The messaging service writes here as soon as it sees a request in Rasa's reply, so no request is
lost even before staff tooling reads it. An entry holds only the pseudonym, the channel, the
reason and whether it was urgent (its id is its time): no text, and not the child's age, the
municipality or the topic, which the handoff's own record keeps for staff and which go with it.
Entries go after the retention time (``HandoffService.purge``) or when the user erases the
conversation (``erase``, through a per-conversation index of entry ids).
"""

from __future__ import annotations

from redis.asyncio import Redis

from common.handoff_payload import HandoffRequest
from handoff import keys

STREAM = "cjg:handoff:requests"
MAX_ENTRIES = 100_000  # approximate cap; old entries fall off, the queue itself keeps the state


class HandoffLog:
    def __init__(self, redis: Redis, retention_seconds: int = 30 * 24 * 3600) -> None:
        self._redis = redis
        self._retention = retention_seconds

    async def record(self, conversation_id: str, channel: str, request: HandoffRequest) -> str:
        entry_id = await self._redis.xadd(
            STREAM,
            {
                "conversation": conversation_id,
                "channel": channel,
                "reason": request.reason,
                "urgent": int(request.urgent),
            },
            maxlen=MAX_ENTRIES,
            approximate=True,
        )
        found = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        index = keys.requests_of(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(index, found)
            pipe.expire(index, self._retention)
            await pipe.execute()
        return found

    async def erase(self, conversation_id: str) -> int:
        """Deletes the conversation's entries ("Gesprek wissen"); how many there were."""
        index = keys.requests_of(conversation_id)
        ids = [
            i.decode() if isinstance(i, bytes) else str(i)
            for i in await self._redis.smembers(index)
        ]
        async with self._redis.pipeline(transaction=True) as pipe:
            if ids:
                pipe.xdel(STREAM, *ids)
            pipe.delete(index)
            results = await pipe.execute()
        return int(results[0]) if ids else 0
