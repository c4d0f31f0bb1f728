"""The write path that acknowledges (delivery/write.py), on the session's redis-server
(database 35). Confirmation by a replica that does not answer is proven with real replicas in
tests/bot/widget/test_message_ids.py and tests/handoff/test_durability.py."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from delivery import keys
from delivery.durability import Durability
from delivery.outbox import Outbox
from delivery.reply import Reply
from delivery.write import RETURNED, Delivery, Keep, NotWritten
from tests.conftest import free_port

REPLIES: list[Reply] = [{"text": "Hoi"}, {"text": "Waar gaat het over?", "buttons": []}]


async def test_returned_replies_are_only_confirmed(redis: Redis) -> None:
    """The chat API and Telegram answer with the replies: nothing more is written."""
    delivery = Delivery(redis, Outbox(redis, 60), Durability(replicas=1))  # none connected
    await delivery.acknowledge("c1", REPLIES, RETURNED)
    assert await redis.exists(keys.outbox("c1")) == 0


async def test_outbox_replies_are_written_with_their_mark(redis: Redis) -> None:
    outbox = Outbox(redis, 60)
    delivery = Delivery(redis, outbox)
    await delivery.acknowledge("c1", REPLIES, Keep(outbox=True, mark=("handled", "kept", 30)))
    assert [d.reply["text"] for d in await outbox.read("c1")] == ["Hoi", "Waar gaat het over?"]
    assert await redis.get("handled") == "kept"
    await delivery.acknowledge("c2", [], Keep(outbox=True, mark=("only", "kept", 30)))
    assert await redis.get("only") == "kept"  # a message without replies is handled too


async def test_replies_redis_does_not_take_come_back_to_be_said_directly() -> None:
    # Nothing listens there; no retries, so the refusal comes at once.
    away = Redis(port=free_port(), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    try:
        with pytest.raises(NotWritten) as raised:
            await Delivery(away, Outbox(away, 60)).acknowledge("c1", REPLIES, Keep(outbox=True))
        assert raised.value.replies == REPLIES
    finally:
        await away.aclose()
