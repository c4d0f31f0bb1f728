"""A durable record of every handoff request, in a Redis stream.

The messaging service writes here as soon as it sees a request in Rasa's reply, so no request is
lost even before staff tooling reads it. The stream holds pseudonyms and intent names, no text.
"""

from __future__ import annotations

import json
import time

from redis.asyncio import Redis

from common.handoff_payload import HandoffRequest

STREAM = "cjg:handoff:requests"
MAX_ENTRIES = 100_000  # approximate cap; old entries fall off, the queue itself keeps the state


class HandoffLog:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def record(self, conversation_id: str, channel: str, request: HandoffRequest) -> str:
        entry_id = await self._redis.xadd(
            STREAM,
            {
                "conversation": conversation_id,
                "channel": channel,
                "reason": request.reason,
                "urgent": int(request.urgent),
                "context": json.dumps(request.context, sort_keys=True),
                "intents": json.dumps(request.recent_intents),
                "at": int(time.time()),
            },
            maxlen=MAX_ENTRIES,
            approximate=True,
        )
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
