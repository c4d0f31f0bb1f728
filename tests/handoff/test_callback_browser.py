"""Issue #15's done-when test for callbacks, end to end in Debian's Chromium: a parent asks to be
called back in the widget, a staff member claims it in the console, sees the number and
registers "bereikt"; then no Redis key (the service's database and Rasa's trackers) holds the
number or its digits, no log line does, and the figures count one callback."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest
from playwright.async_api import Browser, expect
from redis.asyncio import Redis

from handoff.audit import AUDIT
from insight.figures import Query, figures
from tests.bot.widget.test_widget_browser import Widget
from tests.browser import Service, log_in, make_service
from tests.conftest import RasaStack, RedisServer

CALLBACK_DB = 17
pytestmark = pytest.mark.rasa
TYPED = "06 4732 9185"
# The number as typed, and its digits in the forms a leak would take. Not shorter pieces: in
# Rasa's database (shared with the session's other tests) every timestamp is a run of digits.
TRACES = ("647329185", "4732 9185", "47329185", "06 4732", "+316 4732", "4732-9185")


@pytest.fixture
def service(redis_server: RedisServer, rasa_stack: RasaStack, tmp_path: Path) -> Iterator[Service]:
    service = make_service(
        redis_server,
        rasa_stack,
        tmp_path,
        CALLBACK_DB,
        staff=("eva", "bram"),
        extra_env={"CJG_CALLBACK_KEY": secrets.token_hex(32)},
    )
    service.start()
    yield service
    service.stop()


async def every_key_and_value(redis: Redis) -> str:
    found = []
    async for key in redis.scan_iter(count=1000):
        found.append(str(key))
        kind = await redis.type(key)
        if kind == "string":
            found.append(str(await redis.get(key)))
        elif kind == "hash":
            found.append(json.dumps(await redis.hgetall(key)))
        elif kind in ("set", "zset"):
            members = await (redis.smembers(key) if kind == "set" else redis.zrange(key, 0, -1))
            found.append(json.dumps(sorted(members)))
        elif kind == "stream":
            found.append(json.dumps(await redis.xrange(key)))
        elif kind == "list":
            found.append(json.dumps(await redis.lrange(key, 0, -1)))
    return "\n".join(found)


async def test_a_parent_is_called_back_and_the_number_is_gone(
    service: Service, browser: Browser, redis_server: RedisServer
) -> None:
    console = await (await browser.new_context()).new_page()
    await log_in(console, service.url)  # open before the request: it arrives live
    colleague = await (await browser.new_context()).new_page()
    await log_in(colleague, service.url, "bram")
    widget = Widget(await browser.new_page())
    await widget.open(service.url)
    bots = widget('.cjg-msg[data-from="bot"]')

    before = await bots.count()
    await widget.send("Kunnen jullie me terugbellen?")
    await widget.answered(before)
    await expect(bots.last).to_contain_text("Mag ik je telefoonnummer doorgeven")
    await widget("button.cjg-button:enabled").filter(has_text="Ja, dat mag").click()
    await expect(bots.last).to_contain_text("Wat is je telefoonnummer?")
    before = await bots.count()
    await widget.send("0800 1234")  # a service number: a friendly refusal, a way out
    await widget.answered(before)
    await expect(bots.last).to_contain_text("Dat lijkt geen Nederlands telefoonnummer")
    await expect(bots.last.locator("button", has_text="Stoppen")).to_have_count(1)
    before = await bots.count()
    await widget.send(TYPED)
    await widget.answered(before)
    await expect(bots.last).to_contain_text("Wanneer komt het je het best uit")
    await widget("button.cjg-button:enabled").filter(has_text="Maakt niet uit").click()
    await expect(bots.last).to_contain_text("We proberen je ")

    item = console.locator("#callbacks .callback-item")
    await expect(item).to_have_count(1, timeout=15000)
    await expect(item).to_contain_text("Maakt niet uit")
    await expect(item).not_to_contain_text("4732")  # listed without the number
    await item.locator("button[data-action=claim]").click()
    await item.locator("button[data-action=number]").click()
    await expect(item.locator(".callback-number")).to_have_text(TYPED)
    theirs = colleague.locator("#callbacks .callback-item")
    await expect(theirs).to_contain_text("Bij Eva")  # the colleague sees who has it, not the number
    await expect(theirs.locator("button")).to_have_count(0)
    cbid = await theirs.get_attribute("data-cbid")
    peek = f"fetch('/staff/api/callbacks/{cbid}/number').then(r => r.status)"
    assert await colleague.evaluate(peek) == 403
    audit = await console.evaluate("fetch('/staff/api/audit').then(r => r.status)")
    assert audit == 403  # staff cannot read the audit log; the look is in it for admins
    await item.locator("button[data-action=reached]").click()
    await expect(console.locator("#callbacks .callback-item")).to_have_count(0)
    await expect(console.locator("#callbacks-empty")).to_be_visible()

    service_db = Redis.from_url(redis_server.url(CALLBACK_DB), decode_responses=True)
    trackers = Redis.from_url(redis_server.url(0), decode_responses=True)
    try:
        for everything in (
            await every_key_and_value(service_db),
            await every_key_and_value(trackers),  # Rasa's trackers and locks
        ):
            assert not [t for t in TRACES if t in everything]
        # Not merely unreadable: the encrypted number and the request are deleted too.
        assert [k async for k in service_db.scan_iter(match="cjg:callback:*")] == []
        log = service.log.read_text(errors="replace")
        assert not [t for t in TRACES if t in log]
        today = datetime.now(UTC).date()
        counted = await figures(service_db, Query(today, today))
        assert counted["totals"]["callbacks"] == 1
        assert counted["callbacks"] == [{"id": "reached", "label": "Bereikt", "count": 1}]
        audit_log = cast(list[tuple[str, dict[str, str]]], await service_db.xrange(AUDIT))
        actions = [f["action"] for _, f in audit_log if f["action"].startswith("callback_")]
        assert actions == ["callback_claimed", "callback_number_viewed", "callback_reached"]
    finally:
        await service_db.aclose()
        await trackers.aclose()
