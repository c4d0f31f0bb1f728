""" "Je" or "u" in the widget in Debian's Chromium, against the real stack (the trained model,
Redis db 28, the service as its own process) and the staff console in a second context."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from common.address import address_content, outside_quotes, to_u
from common.content import service_messages
from handoff.staff_content import console_texts
from tests.bot.widget.test_widget_browser import Widget
from tests.browser import Service, log_in, make_service
from tests.conftest import RasaStack, RedisServer

DB = 28
pytestmark = pytest.mark.rasa
JE = re.compile(r"\b(je|jij|jou|jouw)\b", re.IGNORECASE)
QUESTION = "mijn baby huilt heel veel, wat kan ik doen?"


@pytest.fixture
def service(redis_server: RedisServer, rasa_stack: RasaStack, tmp_path: Path) -> Iterator[Service]:
    service = make_service(redis_server, rasa_stack, tmp_path, DB, staff=("eva",))
    service.start()
    yield service
    service.stop()


async def answer_to(widget: Widget, question: str) -> str:
    """The assistant's whole answer (one or more messages) to one question."""
    bots = widget('.cjg-msg[data-from="bot"] .cjg-text')
    before = await bots.count()
    await widget.send(question)
    await widget.answered(before)
    return "\n".join((await bots.all_inner_texts())[before:])


async def test_the_parent_picks_u_and_back_to_je_and_staff_see_it(
    service: Service, browser: Browser
) -> None:
    texts, labels = service_messages(), address_content().widget
    widget = Widget(await browser.new_page())
    await widget.open(service.url)
    control, je, u = widget("#cjg-address"), widget("#cjg-address-je"), widget("#cjg-address-u")
    await expect(control).to_be_visible()  # once the server said what it is
    await expect(control).to_have_attribute("role", "group")
    await expect(widget("#cjg-address-label")).to_have_text(labels.label)
    await expect(u).to_have_text(labels.u)
    await expect(u).to_have_accessible_name(labels.u_name)
    await expect(je).to_have_attribute("aria-pressed", "true")  # CJG_FORM_OF_ADDRESS: je
    await expect(u).to_have_attribute("aria-pressed", "false")

    await u.focus()  # the keyboard: the buttons are in the tab order, Enter presses
    await widget.page.keyboard.press("Enter")
    await expect(widget.said(to_u(texts.get("address_u")))).to_have_count(1, timeout=15000)
    await expect(u).to_have_attribute("aria-pressed", "true")
    await expect(je).to_have_attribute("aria-pressed", "false")
    await expect(widget('.cjg-msg[data-from="user"]')).to_have_count(0)  # no payload shown
    strings_u = labels.strings_u  # the widget's own texts follow too
    await expect(widget("#cjg-input")).to_have_attribute("placeholder", strings_u["placeholder"])
    await expect(widget("#cjg-input")).to_have_accessible_name(strings_u["inputLabel"])
    as_u = await answer_to(widget, QUESTION)
    assert not JE.search(outside_quotes(as_u)) and re.search(r"\buw\b", as_u)

    await je.click()
    await expect(widget.said(texts.get("address_je"))).to_have_count(1, timeout=15000)
    await expect(je).to_have_attribute("aria-pressed", "true")
    await expect(widget("#cjg-input")).to_have_attribute("placeholder", "Typ je vraag…")
    as_je = await answer_to(widget, "onze baby huilt zo veel, wat kunnen we doen?")
    assert JE.search(as_je)

    # "u" again, then a staff member: the console says so; their own words are not rewritten.
    await u.click()
    await expect(u).to_have_attribute("aria-pressed", "true", timeout=15000)
    console = await (await browser.new_context()).new_page()
    await log_in(console, service.url)
    await widget.send("ik wil graag een medewerker spreken")
    queue_line = strings_u["queue"].format(position=1)
    await expect(widget("#cjg-status")).to_contain_text(queue_line, timeout=30000)
    item = console.locator("#queue .queue-item")
    await expect(item).to_have_count(1, timeout=30000)
    await item.locator("button.claim").click()
    label = console.locator("#conversation-address")
    await expect(label).to_have_text(console_texts().get("address_u"), timeout=15000)
    joined = to_u(texts.get("staff_joined").format(name="Eva"))  # the service's line: "u"
    await expect(widget.said(joined)).to_have_count(1, timeout=15000)
    await console.fill("#reply", "Hoi, ik ben Eva. Wat kan ik voor je doen?")
    await console.click("#send")
    staff = widget('.cjg-msg[data-from="staff"] .cjg-text')
    await expect(staff).to_have_text("Hoi, ik ben Eva. Wat kan ik voor je doen?", timeout=15000)

    await je.click()  # also during a chat with staff
    await expect(widget.said(texts.get("address_je"))).to_have_count(2, timeout=15000)
    await console.reload()
    await console.locator("#mine li[data-hid]").first.click()
    await expect(console.locator("#conversation-title")).to_be_visible()
    await expect(label).to_be_hidden()
    assert widget.dialogs == []
