"""Upkeep over a real redis-server (handoff/upkeep.py): the sweep takes back silent and
disconnected claims, the purge deletes what is past the retention time."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from common.handoff_payload import HandoffRequest
from common.names import Reason, State
from handoff import keys
from handoff.store import now_ms
from tests.handoff.conftest import ANNE, REQUEST, make_service, online, texts


async def test_a_silent_claim_goes_back_to_the_front_with_a_note(redis: Redis) -> None:
    service = make_service(redis, silent_seconds=0.2)
    await online(service, "anne")
    await service.begin("c1", "api", REQUEST, [])
    await service.begin("c2", "api", REQUEST, [])
    conv = await service.conversation("c1")
    assert conv.hid and await service.claim(conv.hid, ANNE)
    assert await service.sweep() == 0
    await asyncio.sleep(0.3)
    await online(service, "anne")  # Anne is connected, but said nothing
    assert await service.sweep() == 1
    assert (await service.queue())[0].hid == conv.hid
    assert "verbroken" in (await texts(redis, "c1"))[-1]


async def test_a_disconnected_staff_member_loses_the_claim(redis: Redis) -> None:
    service = make_service(redis, presence_s=0.2)
    await online(service, "anne")
    await service.begin("c1", "api", REQUEST, [])
    conv = await service.conversation("c1")
    assert conv.hid and await service.claim(conv.hid, ANNE)
    await asyncio.sleep(0.3)  # no heartbeat from Anne's console
    assert await service.sweep() == 1
    assert (await service.conversation("c1")).state == State.WAITING


async def test_the_retention_purge_deletes_what_is_older_than_the_retention_time(
    redis: Redis,
) -> None:
    service = make_service(redis)  # retention: one hour
    await service.heartbeat("anne")
    hids = []
    for cid in ("purge-old", "purge-new"):
        await service.begin(cid, "api", HandoffRequest(Reason.ASK_HUMAN), [("user", "hallo")])
        hid = (await service.conversation(cid)).hid
        assert hid and await service.claim(hid, ANNE)
        assert await service.close(hid, ANNE, {"topic": "anders"})
        hids.append(hid)
    old, new = hids
    two_hours_ago = now_ms() - 2 * 3600 * 1000
    await redis.zadd(keys.CLOSED, {old: two_hours_ago})  # as if it closed long ago

    assert await service.purge() == 1
    assert await service.record(old) is None and not await service.transcript(old)
    assert [h.hid for h in await service.history()] == [new]
    assert await service.record(new) is not None
