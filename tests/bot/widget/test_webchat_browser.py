"""rasa-webchat 1.0.1, the widget most Rasa sites embed, on another site's page and pointed at
the service, in Debian's Chromium: what a CJG web team gets when it keeps its rasa-webchat and
changes only the socket URL. The bundle is vendored (tests/vendor/rasa-webchat, locked and
checked by test_webchat_vendor.py); the site is a static server on another loopback port, listed
in CJG_WIDGET_ORIGINS. One service for the module."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Request, expect

from tests.browser import Service, log_in, make_service
from tests.conftest import RasaStack, RedisServer
from tests.nginx import Nginx
from tests.servers import ROOT

WEBCHAT_DB = 12
BUNDLE = ROOT / "tests" / "vendor" / "rasa-webchat" / "lib" / "index.js"
QUIET_SECONDS = 0.5  # no more replies this long after the last: the turn is complete (a
# turn's replies are sent together, in one burst)
pytestmark = pytest.mark.rasa

# The script tag and props from rasa-webchat's README, as a CJG site would write them.
PAGE = """<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>Een site van het CJG</title></head>
<body>
<h1>Opvoeden en opgroeien</h1>
<script src="/rasa-webchat.js"></script>
<script>
  window.received = [];
  WebChat.default({
    initPayload: "/greet",
    socketUrl: "%(service)s",
    socketPath: "/socket.io/",
    title: "CJG Kennemerland",
    params: {storage: "session"},
    // The test's one change to a site's set-up: no reading delay before each message (0.8 to
    // 3 s by default), so the test takes seconds.
    customMessageDelay: () => 0,
    // rasa-webchat's own hook for socket events: the record of what arrived, to compare with
    // what it shows.
    onSocketEvent: {bot_uttered: (message) => window.received.push(message)},
  }, null);
</script>
</body></html>
"""

# Each message rasa-webchat shows: who, its text, its buttons (titles) and links.
SHOWN = """() => Array.from(
  document.querySelectorAll("#rw-messages .rw-message:not(.rw-typing-indication)"),
  (m) => ({
    from: m.querySelector(".rw-client") ? "user" : "bot",
    text: (m.querySelector(".rw-message-text") || m).innerText.replace(/\\s+/g, " ").trim(),
    buttons: Array.from(m.querySelectorAll(".rw-reply"), (b) => b.innerText.trim()),
    links: Array.from(m.querySelectorAll("a.rw-reply"), (a) => [a.href, a.target, a.rel]),
  }))"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Site:
    """A static web site on its own loopback port (so its own origin)."""

    directory: Path
    server: ThreadingHTTPServer

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"


def _serve(directory: Path) -> Site:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return Site(directory, server)


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Site]]:
    """A CJG site listed in CJG_WIDGET_ORIGINS, and another site that is not."""
    directory = tmp_path_factory.mktemp("site")
    shutil.copy(BUNDLE, directory / "rasa-webchat.js")
    listed, other = _serve(directory), _serve(directory)
    yield listed, other
    for site in (listed, other):
        site.server.shutdown()
        site.server.server_close()


@pytest.fixture(scope="module")
def service(
    redis_server: RedisServer,
    rasa_stack: RasaStack,
    sites: tuple[Site, Site],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Service]:
    listed, _ = sites
    service = make_service(
        redis_server, rasa_stack, tmp_path_factory.mktemp("webchat"), WEBCHAT_DB,
        staff=("eva",), extra_env={"CJG_WIDGET_ORIGINS": listed.origin},
    )  # fmt: skip
    (listed.directory / "index.html").write_text(PAGE % {"service": service.url})
    service.start()
    yield service
    service.stop()


class WebChat:
    """The visitor's tab on the CJG site, and what rasa-webchat received and shows."""

    def __init__(self, page: Page) -> None:
        self.page = page

    async def received(self) -> list[dict[str, Any]]:
        return list(await self.page.evaluate("window.received"))

    async def shown(self) -> list[dict[str, Any]]:
        return list(await self.page.evaluate(SHOWN))

    async def replies(self, before: int, timeout_s: float = 30) -> list[dict[str, Any]]:
        """Waits until more than ``before`` replies arrived, every one is on screen, and none
        follows for QUIET_SECONDS; returns the new ones."""
        loop = asyncio.get_running_loop()
        deadline, last_change, seen = loop.time() + timeout_s, loop.time(), -1
        while loop.time() < deadline:
            received = await self.received()
            bots = [m for m in await self.shown() if m["from"] == "bot"]
            if len(received) != seen:
                seen, last_change = len(received), loop.time()
            elif seen > before and len(bots) == seen and loop.time() - last_change >= QUIET_SECONDS:
                return received[before:]
            await asyncio.sleep(0.1)
        raise AssertionError(f"replies after {before}: received {seen}, shown {len(bots)}")

    async def say(self, text: str) -> list[dict[str, Any]]:
        before = len(await self.received())
        await self.page.fill(".rw-new-message", text)
        await self.page.press(".rw-new-message", "Enter")
        return await self.replies(before)

    async def press(self, title: str) -> list[dict[str, Any]]:
        before = len(await self.received())
        await self.page.locator(".rw-reply", has_text=title).last.click()
        return await self.replies(before)


def _expected(received: list[dict[str, Any]], said: list[tuple[int, str]]) -> list[tuple[str, str]]:
    """The conversation as it should show: every reply once, in order, and each thing the user
    said where it was said (``said``: how many replies had arrived by then, and the text)."""
    out: list[tuple[str, str]] = []
    pending = list(said)
    for index, message in enumerate(received):
        while pending and pending[0][0] == index:
            out.append(("user", pending.pop(0)[1]))
        out.append(("bot", " ".join(str(message["text"]).split())))
    return out + [("user", text) for _, text in pending]


async def test_rasa_webchat_on_a_cjg_site_shows_every_reply_once_in_order(
    service: Service, sites: tuple[Site, Site], browser: Browser
) -> None:
    listed, _ = sites
    console = await (await browser.new_context()).new_page()
    await log_in(console, service.url)  # Eva is there, so a handoff queues for her
    chat = WebChat(await (await browser.new_context()).new_page())
    await chat.page.goto(listed.origin + "/")
    await chat.page.click(".rw-launcher")  # shown once the socket is connected
    greeting = await chat.replies(0)
    said: list[tuple[int, str]] = []

    assert "CJG" in greeting[0]["text"]
    said.append((len(await chat.received()), "Zoek een training of webinar"))
    offers = await chat.press("Zoek een training of webinar")  # a quick reply
    links = [m for m in await chat.shown() if m["links"]]
    assert links, "no link button"
    hrefs = [href for m in links for href, _, _ in m["links"]]
    counted = [h for h in hrefs if h.startswith(service.url + "/go/") and "via=widget" in h]
    assert counted and len(counted) >= len(hrefs) - 1  # each offer counted; the overview is not
    for _, target, rel in (link for m in links for link in m["links"]):
        assert target == "_blank" and rel == "noopener noreferrer"
    assert sum(len(m.get("buttons", [])) for m in offers) == sum(len(m["links"]) for m in links)

    for text in ("hallo", "mijn peuter van 3 wil niet slapen", "dank je wel"):  # in a row
        said.append((len(await chat.received()), text))
        assert await chat.say(text), text

    said.append((len(await chat.received()), "ik wil graag een medewerker spreken"))
    queued = await chat.say("ik wil graag een medewerker spreken")
    assert any("wachtrij" in m["text"] for m in queued)
    item = console.locator("#queue .queue-item")
    await expect(item).to_have_count(1, timeout=15000)
    before = len(await chat.received())
    await item.locator("button.claim").click()
    (joined,) = await chat.replies(before)
    assert "Eva" in joined["text"] and joined["quick_replies"]  # and a button to end the chat
    before = len(await chat.received())
    await console.fill("#reply", "Hoi, ik ben Eva. Waar kan ik je mee helpen?")
    await console.click("#send")
    assert await chat.replies(before) == [{"text": "Hoi, ik ben Eva. Waar kan ik je mee helpen?"}]
    said.append((len(await chat.received()), "Mijn zoon slaapt slecht"))  # to Eva, not Rasa
    await chat.page.fill(".rw-new-message", "Mijn zoon slaapt slecht")
    await chat.page.press(".rw-new-message", "Enter")
    await expect(
        console.locator("#transcript .entry .text").filter(has_text="Mijn zoon slaapt slecht")
    ).to_have_count(1, timeout=15000)

    received = await chat.received()
    shapes = ({"text"}, {"text", "quick_replies"}, {"text", "buttons"})  # Rasa's, nothing more
    assert all(set(m) in shapes for m in received)
    shown = [(m["from"], m["text"]) for m in await chat.shown()]
    assert shown == _expected(received, said)  # every reply, once, in order, between the user's


async def test_the_listed_site_and_the_services_own_pages_connect(
    service: Service, sites: tuple[Site, Site], browser: Browser, tmp_path: Path
) -> None:
    """CJG_WIDGET_ORIGINS names another site: that site's rasa-webchat and the service's own
    /demo (directly and through a reverse proxy) connect; a site that is not listed does not."""
    listed, other = sites
    site = await browser.new_page()
    await site.goto(listed.origin + "/")
    await expect(site.locator(".rw-launcher")).to_be_visible(timeout=15000)  # connected

    port = int(service.url.rsplit(":", 1)[1])
    proxy = Nginx(tmp_path, port)  # passes the Host header on, as the README's configuration
    proxy.start()
    try:
        for url in (service.url, proxy.url):
            demo = await browser.new_page()
            await demo.goto(url + "/demo")
            await demo.locator("#cjg-chat #cjg-launcher").click()
            bot = demo.locator('#cjg-chat .cjg-msg[data-from="bot"]').first
            await expect(bot).to_be_visible(timeout=30000)
    finally:
        proxy.stop()

    refusals = service.log.read_text().count("GET /socket.io/ 400")
    refused = await browser.new_page()
    failed: list[str] = []

    def on_failure(request: Request) -> None:
        if "/socket.io/" in request.url:
            failed.append(request.url)

    refused.on("requestfailed", on_failure)
    await refused.goto(other.origin + "/")
    for _ in range(100):
        if failed:
            break
        await refused.wait_for_timeout(100)
    assert failed  # the browser got no answer it may use ...
    for _ in range(50):  # ... as the server said no (its access log line may come a bit later)
        if service.log.read_text().count("GET /socket.io/ 400") > refusals:
            break
        await refused.wait_for_timeout(100)
    assert service.log.read_text().count("GET /socket.io/ 400") > refusals
    assert await refused.evaluate("window.received") == []
    await expect(refused.locator(".rw-launcher")).to_be_hidden()  # never connected
