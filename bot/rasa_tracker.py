"""Rasa's own Redis keys: its tracker (what was said) and its lock (a message in progress).

Beside bot/client_rasa.py, which talks to Rasa over HTTP: the service reads and writes Rasa's
store directly only to erase a conversation and to redact what the user typed, which Rasa's HTTP
API cannot do.
"""

from __future__ import annotations

import asyncio
import json
import logging

from redis.asyncio import Redis
from redis.exceptions import WatchError

from base.redact import redact
from common.payload import is_payload

log = logging.getLogger(__name__)
# Rasa's Redis tracker store key: key_prefix "rasa" (endpoints.yml) + ":tracker:" + sender.
RASA_TRACKER_KEY = "rasa:tracker:{}"
# Rasa's Redis lock store key (the same prefix): there while Rasa works on a message.
RASA_LOCK_KEY = "rasa:lock:{}"


class RasaTrackers:
    """Rasa's tracker store (``redis``: the database Rasa's endpoints.yml names)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def erase(self, conversation: str, wait_seconds: float) -> None:
        """Deletes the conversation's tracker. Rasa saves it when it is done with a message:
        this first waits (at most ``wait_seconds``) until Rasa has let go of the conversation,
        so the tracker is not written again after this."""
        lock = RASA_LOCK_KEY.format(conversation)
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while await self._redis.exists(lock):
            if asyncio.get_running_loop().time() > deadline:
                log.warning("Rasa still holds an erased conversation; its tracker is deleted now")
                break
            await asyncio.sleep(0.1)
        await self._redis.delete(RASA_TRACKER_KEY.format(conversation), lock)

    async def redact(self, conversation: str) -> bool:
        """A quiet conversation: what the user typed in Rasa's tracker is redacted (names,
        places, phone numbers ...), as transcripts are. True if personal data was found.

        Rasa keeps the tracker until ``TRACKER_TTL_SECONDS``; this keeps what it holds
        impersonal after the first quiet half hour. A tracker that changed meanwhile is left
        for the next time.
        """
        key = RASA_TRACKER_KEY.format(conversation)
        raw = await self._redis.get(key)
        if not raw:
            return False
        data = json.loads(raw)
        said = [
            e
            for e in data.get("events") or []
            if e.get("event") == "user" and isinstance(e.get("text"), str)
        ]
        cleaned = await redact([e["text"] for e in said])
        found = False
        for event, clean in zip(said, cleaned, strict=True):
            if clean != event["text"] and not is_payload(event["text"]):
                found = True
                event["text"] = clean
                if isinstance(event.get("parse_data"), dict):
                    event["parse_data"]["text"] = clean
        if not found:
            return False
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                await pipe.watch(key)
                if await pipe.get(key) != raw:
                    return True
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.set(key, json.dumps(data, ensure_ascii=False), keepttl=True)
                await pipe.execute()
        except WatchError:
            log.info("tracker changed while redacting; it is redacted when it is quiet again")
        return True
