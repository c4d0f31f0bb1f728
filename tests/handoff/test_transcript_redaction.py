"""Redaction of the transcript (handoff/transcript.py): staff see the live text; what is kept
after the handoff has no personal data."""

from __future__ import annotations

from redis.asyncio import Redis

from common.handoff_payload import HandoffRequest
from common.names import Reason
from handoff.service import HandoffService
from staff.accounts import Account
from tests.base.test_redact import PERSONAL
from tests.handoff.conftest import make_service

ANNE = Account("anne", "Anne", "staff")


async def waiting(service: HandoffService, cid: str) -> str:
    await service.heartbeat("anne")
    await service.begin(cid, "api", HandoffRequest(Reason.ASK_HUMAN), [("user", "hallo")])
    hid = (await service.conversation(cid)).hid
    assert hid
    return hid


async def test_the_transcript_is_redacted_when_staff_close(redis: Redis) -> None:
    service = make_service(redis)
    hid = await waiting(service, "redact-1")
    assert await service.claim(hid, ANNE)
    conv = await service.conversation("redact-1")
    await service.user_message("redact-1", conv, PERSONAL)
    live = [e.text for e in await service.transcript(hid)]
    assert PERSONAL in live  # staff read the real words while they help

    assert await service.close(hid, ANNE, {"topic": "anders"})
    kept = await service.transcript(hid)
    texts = " ".join(e.text for e in kept)
    assert "06-12345678" not in texts and "Pieter" not in texts
    assert len(kept) == len(live) + 1  # the same entries, plus "Anne heeft ... afgesloten."


async def test_a_cancelled_wait_is_redacted_too(redis: Redis) -> None:
    service = make_service(redis)
    hid = await waiting(service, "redact-2")
    conv = await service.conversation("redact-2")
    await service.user_message("redact-2", conv, "mijn naam is Sanne Jansen")
    await service.control("redact-2", await service.conversation("redact-2"), "/cjg_cancel")
    assert "Sanne" not in " ".join(e.text for e in await service.transcript(hid))
