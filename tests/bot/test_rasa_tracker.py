"""Rasa's own Redis keys (bot/rasa_tracker.py) without Rasa: an erase waits until Rasa has let
go of the conversation, so Rasa cannot write the tracker again after it, but not for ever."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.rasa_tracker import RASA_LOCK_KEY, RASA_TRACKER_KEY, RasaTrackers
from tests.conftest import RedisServer
from tests.redis_db import fresh_db

# Shared with tests/bot/core/test_after.py: each test flushes it, and a process runs one test
# at a time on its own Redis server.
TEST_DB = 38
CID = "api-0123456789abcdef"


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    async with fresh_db(redis_server, TEST_DB) as client:
        yield client


async def rasa_busy(redis: Redis) -> None:
    """Rasa in the middle of a message: its lock held, a tracker saved before."""
    await redis.set(RASA_TRACKER_KEY.format(CID), json.dumps({"events": []}))
    await redis.set(RASA_LOCK_KEY.format(CID), "ticket")


async def test_an_erase_waits_for_rasas_lock_then_deletes_the_tracker(redis: Redis) -> None:
    await rasa_busy(redis)
    erase = asyncio.create_task(RasaTrackers(redis).erase(CID, wait_seconds=10))
    await asyncio.sleep(0.5)
    assert not erase.done() and await redis.exists(RASA_TRACKER_KEY.format(CID))

    await redis.delete(RASA_LOCK_KEY.format(CID))  # Rasa is done with the message
    await asyncio.wait_for(erase, 5)
    assert not await redis.exists(RASA_TRACKER_KEY.format(CID))


async def test_an_erase_deletes_the_tracker_and_lock_once_the_wait_is_over(redis: Redis) -> None:
    await rasa_busy(redis)
    await asyncio.wait_for(RasaTrackers(redis).erase(CID, wait_seconds=0.3), 5)
    assert not await redis.exists(RASA_TRACKER_KEY.format(CID), RASA_LOCK_KEY.format(CID))


async def test_a_tracker_with_only_payloads_is_left_as_it_is(redis: Redis) -> None:
    key = RASA_TRACKER_KEY.format(CID)
    events = [{"event": "user", "text": '/inform{"municipality": "Haarlem"}'}]
    await redis.set(key, json.dumps({"events": events}), ex=3600)
    assert not await RasaTrackers(redis).redact(CID)
    assert json.loads(str(await redis.get(key)))["events"] == events
