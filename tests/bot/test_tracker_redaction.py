"""A quiet conversation: what the user typed is redacted in Rasa's own tracker, and the
conversation is counted as not anonymous when it held personal data."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request

from bot.app_keys import CORE, REDIS, TRACKERS
from bot.rasa_tracker import RASA_TRACKER_KEY
from insight.figures import Query, figures
from insight.web_keys import REGISTRAR
from tests.bot.test_web_chat import chat, cid_of

Client = TestClient[Request, Application]


async def test_rasas_tracker_is_redacted_once_the_conversation_is_quiet(client: Client) -> None:
    sender = f"private-{uuid.uuid4().hex[:8]}"
    redis = client.app[REDIS]  # the tests' service and Rasa share database 0
    day = datetime.now(UTC).date()
    before = (await figures(redis, Query(day, day)))["totals"]
    # (no wish to be called back: that would rightly start a handoff instead of a topic answer)
    await chat(client, sender, "Ik ben Jan Jansen (06-12345678) en mijn zoon slaapt zo slecht")
    cid = cid_of(client, sender)
    key = RASA_TRACKER_KEY.format(cid)
    assert "Jansen" in str(await redis.get(key))

    assert await client.app[REGISTRAR].flush(cid, quiet=True)

    kept = str(await redis.get(key))
    assert "Jansen" not in kept and "12345678" not in kept and "[PERSOON-1]" in kept
    assert await redis.ttl(key) > 0  # Rasa's retention still applies
    after = (await figures(redis, Query(day, day)))["totals"]
    assert after["conversations"] == before["conversations"] + 1
    assert after["anonymous"] == before["anonymous"]  # personal data: not anonymous

    replies = await chat(client, sender, '/opvoedvraag{"topic": "slapen"}')  # Rasa reads it fine
    assert any("slapen" in str(r.get("text", "")).lower() for r in replies)


async def test_text_with_a_slash_in_front_is_redacted_payloads_are_kept(client: Client) -> None:
    redis = client.app[REDIS]
    cid = client.app[CORE].conversation_id("api", f"slash-{uuid.uuid4().hex[:8]}")
    key = RASA_TRACKER_KEY.format(cid)
    payload = '/inform{"municipality": "Haarlem"}'
    said = "/ik ben Jan Jansen (06-12345678)"  # not a payload: redacted like any text
    events = [{"event": "user", "text": t, "parse_data": {"text": t}} for t in (payload, said)]
    await redis.set(key, json.dumps({"events": events}), ex=3600)

    assert await client.app[TRACKERS].redact(cid)

    kept = json.loads(str(await redis.get(key)))["events"]
    assert kept[0]["text"] == payload
    assert "Jansen" not in str(kept[1]) and "12345678" not in str(kept[1])
