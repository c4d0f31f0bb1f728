"""The ``browser`` fixture: Debian's Chromium driven by Playwright (nothing downloads a browser).

Each test folder with browser tests re-exports it in its conftest.py; it lives apart from
tests/browser.py so that tests/handoff/conftest.py, which tests/browser.py imports, can too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright, expect

CHROMIUM = "/usr/bin/chromium"
# How long an ``expect`` waits unless the test says otherwise: Playwright's 5 s is too short for
# a 2-core machine that runs the suite in two processes beside the Rasa env's steps.
EXPECT_TIMEOUT_MS = 15_000


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A fresh browser for one test, closed after it."""
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        await launched.close()
