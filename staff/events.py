"""Live events for staff consoles, over Redis pub/sub so every service instance hears them."""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from staff import keys


async def publish(redis: Redis, kind: str, **data: Any) -> None:
    """``kind``: queue, message, typing, claimed, released, transferred, closed, presence,
    message_left. Consoles refetch what they show; events carry ids, not personal data,
    except ``message`` (the live text of a claimed conversation)."""
    await redis.publish(keys.EVENTS, json.dumps({"type": kind, **data}, ensure_ascii=False))
