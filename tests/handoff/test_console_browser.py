"""End to end: a parent on /api/chat, a staff member in the console in Debian's Chromium.

Everything is real: Redis, the trained Rasa model, the action server, the messaging service as
its own process (restarted in the middle), and the browser.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.conftest import RasaStack, RedisServer, _http_ok, free_port, wait_until
from tests.handoff.conftest import ALWAYS, ROOT, content_copy

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "console-test-wachtwoord"
BROWSER_DB = 5
pytestmark = pytest.mark.rasa


@dataclass
class Service:
    url: str
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot"], cwd=ROOT, env=self.env, stdout=log, stderr=log
            )
        wait_until(lambda: _http_ok(self.url + "/health"), 60, "messaging service", self.process)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


@pytest.fixture
def service(redis_server: RedisServer, rasa_stack: RasaStack, tmp_path: Path) -> Iterator[Service]:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CJG_PORT": str(port),
        # a database of its own: other tests' handoffs must not stand in this queue
        "CJG_REDIS_URL": f"redis://127.0.0.1:{redis_server.port}/{BROWSER_DB}",
        "CJG_RASA_URL": rasa_stack.url,
        "RASA_TOKEN": rasa_stack.token,
        "CJG_ACTION_SERVER_URL": rasa_stack.action_url,
        "CJG_PSEUDONYM_SECRET": "browser-test-secret-of-32-characters",
        "CJG_CONTENT_DIR": str(content_copy(tmp_path, ALWAYS)),
    }
    subprocess.run(
        ["redis-cli", "-p", str(redis_server.port), "-n", str(BROWSER_DB), "flushdb"], check=True,
        capture_output=True,
    )  # fmt: skip
    service = Service(f"http://127.0.0.1:{port}", env, tmp_path / "service.log")
    for username in ("eva", "bram"):
        subprocess.run(
            [sys.executable, "-m", "handoff.accounts_cli", "remove", username], env=env,
            cwd=ROOT, capture_output=True,
        )  # fmt: skip
        created = subprocess.run(
            [sys.executable, "-m", "handoff.accounts_cli", "add", username, "--name",
             username.capitalize(), "--password-stdin"],
            input=PASSWORD.encode(), env=env, cwd=ROOT, capture_output=True,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
    service.start()
    yield service
    service.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        await browser.close()


class Parent:
    """The parent's side, through the plain chat API: send, and read the update feed."""

    def __init__(self, http: aiohttp.ClientSession, url: str, sender: str) -> None:
        self.http, self.url, self.sender, self.after = http, url, sender, "0"
        self.seen: list[str] = []

    async def say(self, text: str) -> list[dict[str, Any]]:
        async with self.http.post(
            self.url + "/api/chat", json={"sender": self.sender, "message": text}
        ) as response:
            assert response.status == 200
            replies: list[dict[str, Any]] = await response.json()
            return replies

    async def wait_for(self, fragment: str) -> dict[str, Any]:
        for _ in range(20):
            async with self.http.get(
                self.url + "/api/chat/updates",
                params={"sender": self.sender, "after": self.after, "wait": "3"},
            ) as response:
                body = await response.json()
            self.after = body["next"]
            self.seen += [m["text"] for m in body["messages"]]
            if any(fragment in t for t in self.seen):
                return dict(body["handoff"])
        raise AssertionError(f"never saw {fragment!r}; saw {self.seen}")


async def log_in(page: Page, url: str, username: str = "eva") -> None:
    await page.goto(url + "/staff")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#console")).to_be_visible()


async def test_parent_and_staff_talk_and_a_restart_loses_nothing(
    service: Service, browser: Browser
) -> None:
    page = await (await browser.new_context()).new_page()
    await log_in(page, service.url)
    colleague = await (await browser.new_context()).new_page()  # own cookies: another person
    await log_in(colleague, service.url, "bram")

    # a new connection per request, like a browser after the server restarted
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        parent = Parent(http, service.url, "browser-parent-1")
        await parent.say("hallo")
        replies = await parent.say("ik wil graag een medewerker spreken")
        texts = " ".join(str(r.get("text", "")) for r in replies)
        assert "leest eerst dit gesprek terug" in texts  # told before the handoff happens
        assert "nummer 1" in texts
        waiting = await parent.say("ben je er al?")
        assert "nummer 1" in str(waiting[0]["text"])  # not answered by the bot

        service.stop()  # a restart in the middle of a waiting conversation
        service.start()
        assert await parent.say("ik wacht nog even") != []

        item = page.locator("#queue .queue-item")
        await expect(item).to_have_count(1, timeout=15000)
        await expect(page.locator("#queue-badge")).to_have_text("1")
        await expect(colleague.locator("#queue .queue-item")).to_have_count(1, timeout=15000)
        await item.locator("button.claim").click()
        # the colleague's console moves it from the queue to "Collega's" at once
        await expect(colleague.locator("#queue .queue-item")).to_have_count(0)
        await expect(colleague.locator("#others .conversation-item")).to_have_count(1)
        await expect(page.locator("#summary")).to_contain_text("Vroeg zelf om een medewerker")
        transcript = page.locator("#transcript .entry .text")
        await expect(transcript.filter(has_text="ik wacht nog even")).to_have_count(1)
        all_texts = await transcript.all_inner_texts()
        order = [all_texts.index(t) for t in ("hallo", "ben je er al?", "ik wacht nog even")]
        assert order == sorted(order)  # in the order the parent wrote them

        state = await parent.wait_for("Eva van het CJG is er nu")
        assert state["state"] == "with_staff"

        await page.fill("#reply", "Hoi, ik ben Eva. <b>Waar</b> kan ik mee helpen?")
        await page.click("#send")
        await parent.wait_for("Hoi, ik ben Eva. <b>Waar</b> kan ik mee helpen?")

        await parent.say("mijn zoon van 6 plast nog in bed")
        await expect(transcript.filter(has_text="plast nog in bed")).to_have_count(1)
        await expect(page.locator("#transcript b")).to_have_count(0)  # text, never markup

        await page.select_option("#close-topic", "opvoeden_school")
        await page.select_option("#close-outcome", "advies")
        await page.click("#close-submit")
        await parent.wait_for("Hoe tevreden ben je")
        thanks = await parent.say("/cjg_rating_5")
        assert "Dank je wel" in str(thanks[0]["text"])
        back = await parent.say("hallo")
        assert "CJG" in str(back[0]["text"])  # the bot answers again
