"""The widget's own texts come from content/widget_texts.yml: an edit in the service's copy of
content/ (CJG_CONTENT_DIR) shows in Debian's Chromium at the next page load, without a restart,
and a page's data-strings still win."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.async_api import Browser, Route, expect

from tests.bot.widget.test_widget_browser import Widget
from tests.browser import Service, make_service
from tests.conftest import RasaStack, RedisServer

DB = 46
pytestmark = pytest.mark.rasa
# A site that embeds the widget and renames one button itself.
HOST_PAGE = """<!doctype html><html lang="nl"><head><title>Site</title></head><body>
<script src="/widget/widget.js" defer data-strings='{"send": "Stuur"}'></script></body></html>"""


@pytest.fixture
def service(redis_server: RedisServer, rasa_stack: RasaStack, tmp_path: Path) -> Iterator[Service]:
    service = make_service(redis_server, rasa_stack, tmp_path, DB, staff=())
    service.start()
    yield service
    service.stop()


async def test_an_edited_text_shows_at_the_next_load_and_data_strings_win(
    service: Service, browser: Browser, tmp_path: Path
) -> None:
    widget = Widget(await browser.new_page())
    await widget.page.goto(service.url + "/demo")
    await expect(widget("#cjg-send")).to_have_text("Verstuur")  # as shipped

    path = tmp_path / "content" / "widget_texts.yml"  # the service's CJG_CONTENT_DIR
    spec = yaml.safe_load(path.read_text())
    spec["texts"] |= {"send": "Verstuur maar", "clear": "Alles wissen", "launcher": "Vraag het"}
    path.write_text(yaml.safe_dump(spec, allow_unicode=True))

    await widget.page.reload()
    await expect(widget("#cjg-launcher")).to_have_accessible_name("Vraag het")
    await widget("#cjg-launcher").click()
    await expect(widget("#cjg-panel")).to_be_visible()
    await expect(widget("#cjg-send")).to_have_text("Verstuur maar")
    await expect(widget("#cjg-clear")).to_have_text("Alles wissen")
    await expect(widget("#cjg-exit")).to_have_text("Snel weg")  # the texts left as they were

    site = Widget(await browser.new_page())

    async def host_page(route: Route) -> None:
        await route.fulfill(body=HOST_PAGE, content_type="text/html")

    await site.page.route(service.url + "/site", host_page)
    await site.page.goto(service.url + "/site")
    await expect(site("#cjg-send")).to_have_text("Stuur")  # the site's own text wins
    await expect(site("#cjg-clear")).to_have_text("Alles wissen")
    assert widget.dialogs == site.dialogs == []
