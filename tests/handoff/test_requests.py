from __future__ import annotations

from typing import Any, cast

import redis.asyncio as aioredis

from common.handoff_payload import HandoffRequest
from common.names import Reason
from handoff.requests import STREAM, HandoffLog
from tests.conftest import RedisServer


async def test_a_request_is_appended_to_the_durable_stream(redis_server: RedisServer) -> None:
    redis = aioredis.Redis.from_url(redis_server.url(), decode_responses=True)
    try:
        request = HandoffRequest(
            Reason.ASK_HUMAN, context={"child_age": "4"}, recent_intents=["greet"]
        )
        entry_id = await HandoffLog(redis).record("api-abc", "api", request)

        found = await redis.xrange(STREAM, min=entry_id, max=entry_id)
        ((_, fields),) = cast(list[tuple[str, dict[str, str]]], found)
    finally:
        await redis.aclose()
    assert fields["conversation"] == "api-abc"
    assert fields["reason"] == "ask_human"
    # Only what is needed: no age, municipality, topic or intents (the record has them).
    assert set(fields) == {"conversation", "channel", "reason", "urgent"}


async def test_erase_deletes_only_that_conversations_entries(redis_server: RedisServer) -> None:
    redis = aioredis.Redis.from_url(redis_server.url(), decode_responses=True)
    log = HandoffLog(redis, 3600)
    try:
        mine = [
            await log.record("api-mine", "api", HandoffRequest(Reason.CALLBACK)) for _ in range(2)
        ]
        theirs = await log.record("api-theirs", "api", HandoffRequest(Reason.ASK_HUMAN))
        assert await log.erase("api-mine") == 2
        assert await log.erase("api-mine") == 0
        left = [i for i, _ in cast(list[tuple[str, Any]], await redis.xrange(STREAM))]
        index_left = await redis.exists("cjg:conv:api-mine:requests")
        await log.erase("api-theirs")
    finally:
        await redis.aclose()
    assert theirs in left and not set(mine) & set(left)
    assert not index_left


def test_payload_round_trip_and_garbage() -> None:
    request = HandoffRequest(Reason.FALLBACK, urgent=True, recent_intents=["nlu_fallback"])
    assert HandoffRequest.from_custom(request.to_custom()) == request
    assert HandoffRequest.from_custom({"handoff_request": {"reason": "hack"}}) is None
    assert HandoffRequest.from_custom("nope") is None
    assert HandoffRequest.from_custom(None) is None
