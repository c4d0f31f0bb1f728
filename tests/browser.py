"""Shared by the browser tests: the messaging service as its own process, Debian's Chromium
driven by Playwright, and staff accounts made with the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from playwright.async_api import Page, expect

from tests.conftest import RasaStack, RedisServer, free_port
from tests.handoff.conftest import ALWAYS, ROOT, content_copy
from tests.servers import Service as Service  # re-exported for the browser tests

PASSWORD = "console-test-wachtwoord"


def make_service(
    redis_server: RedisServer,
    rasa_stack: RasaStack,
    tmp_path: Path,
    db: int,
    staff: tuple[str, ...] = ("eva", "bram"),
    roles: dict[str, str] | None = None,
    extra_env: dict[str, str] | None = None,
) -> Service:
    """A service on a Redis database of its own (other tests' handoffs must not stand in this
    queue), open all week, with the given staff accounts. Not started yet."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CJG_PORT": str(port),
        **redis_server.env(db),
        "CJG_RASA_URL": rasa_stack.url,
        "RASA_TOKEN": rasa_stack.token,
        "CJG_ACTION_SERVER_URL": rasa_stack.action_url,
        "CJG_PSEUDONYM_SECRET": "browser-test-secret-of-32-characters",
        "CJG_CONTENT_DIR": str(content_copy(tmp_path, ALWAYS)),
        **(extra_env or {}),
    }
    subprocess.run(
        ["redis-cli", "-p", str(redis_server.port), "-n", str(db), "flushdb"], check=True,
        capture_output=True, env={**os.environ, "REDISCLI_AUTH": redis_server.password},
    )  # fmt: skip
    for username in staff:
        created = subprocess.run(
            [sys.executable, "-m", "staff.accounts_cli", "add", username, "--name",
             username.capitalize(), "--password-stdin", "--role",
             (roles or {}).get(username, "staff")],
            input=PASSWORD.encode(), env=env, cwd=ROOT, capture_output=True,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
    return Service(f"http://127.0.0.1:{port}", env, tmp_path / "service.log")


async def log_in(page: Page, url: str, username: str = "eva") -> None:
    await page.goto(url + "/staff")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#console")).to_be_visible()
