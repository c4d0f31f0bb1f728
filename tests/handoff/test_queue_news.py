"""Queue news over a real redis-server (handoff/queue_news.py): the others move up when one
stops waiting, and the wait estimate follows the handling time."""

from __future__ import annotations

from redis.asyncio import Redis

from common.names import State
from common.payload import CANCEL
from handoff.service import HandoffService
from handoff.store import HandoffStore
from tests.handoff.conftest import ANNE, REQUEST, online, texts


async def test_cancel_while_waiting_and_others_move_up(
    service: HandoffService, redis: Redis
) -> None:
    await online(service, "anne")
    await service.begin("first", "api", REQUEST, [])
    await service.begin("second", "api", REQUEST, [])
    (bye,) = await service.control("first", await service.conversation("first"), CANCEL)
    assert bye["custom"]["handoff"]["event"] == "cancelled"
    assert (await service.conversation("first")).state == State.BOT
    assert any("nu nummer 1" in t for t in await texts(redis, "second"))


async def test_wait_estimate_follows_handling_time(
    service: HandoffService, store: HandoffStore
) -> None:
    await online(service, "anne")
    await service.begin("done", "api", REQUEST, [])
    conv = await service.conversation("done")
    assert conv.hid and await service.claim(conv.hid, ANNE)
    await store.set_fields(conv.hid, {"claimed_at": "0"})  # handled for a long time
    await service.close(conv.hid, ANNE, {"topic": "anders", "outcome": "advies"})
    (reply,) = await service.begin("next", "api", REQUEST, [])
    assert reply["custom"]["handoff"]["estimate_minutes"] > 0
    assert "ongeveer" in reply["text"]
