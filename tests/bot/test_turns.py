"""One turn at a time per conversation, and an erase no turn in flight can undo (bot/turns.py),
over a real redis-server."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from bot.turns import Turns
from tests.conftest import free_port

DB = 42  # this module's own database


@pytest.fixture
def redis(module_db: Redis) -> Redis:
    return module_db


async def test_turns_of_one_conversation_wait_for_each_other(redis: Redis) -> None:
    turns, seen = Turns(redis, 10), []

    async def turn(cid: str, name: str) -> None:
        async with turns.turn(cid) as current:
            assert current is not None
            seen.append(f"{name} in")
            await asyncio.sleep(0.2)
            seen.append(f"{name} out")

    first = asyncio.create_task(turn("c1", "a"))
    await asyncio.sleep(0.05)
    await asyncio.gather(turn("c1", "b"), turn("c2", "c"), first)
    assert seen.index("a out") < seen.index("b in")  # the same conversation: one at a time
    assert seen.index("c in") < seen.index("a out")  # another conversation does not wait


async def test_an_erase_marks_the_turn_in_flight_and_waits_for_its_end(redis: Redis) -> None:
    turns, seen = Turns(redis, 10), []
    async with turns.turn("c1") as current:
        assert current is not None and not await current.erased()

        async def erase() -> None:
            async with turns.erasing("c1"):
                seen.append("erasing")

        erasing = asyncio.create_task(erase())
        await asyncio.sleep(0.2)
        assert await current.erased()  # the turn in flight drops its reply
        assert seen == []  # the erase waits for the turn to end
    await erasing
    assert seen == ["erasing"]
    async with turns.turn("c1") as afresh:  # the user may start again after it
        assert afresh is not None and not await afresh.erased()


async def test_without_redis_there_is_no_turn() -> None:
    away = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    try:
        async with Turns(away, 10).turn("c1") as current:
            assert current is None  # the caller tells the user instead
    finally:
        await away.aclose()
