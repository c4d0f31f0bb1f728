"""Every Telegram test runs with the service's logging (bot/logs.py, as ``python -m bot`` sets
it up) and fails if a secret reaches a log line: python-telegram-bot's HTTP client logs each
Bot API URL, and the URL holds the bot token."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot import Settings, logs

# The secrets the tests give the service besides the settings fixture's (module TOKENs too).
TEST_SECRETS = ("123456:TEST-token", "TEST-token", "webhook-secret-0123456789")


def not_test_servers_access(record: logging.LogRecord) -> bool:
    return record.name != "aiohttp.access"  # the test servers' access log; see below


class Records(logging.Handler):
    """Every record as the loggers pass it on, before any formatter could blank a secret."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []
        self.addFilter(not_test_servers_access)

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(logging.Formatter().format(record))


@pytest.fixture(autouse=True)
def no_secret_in_the_log(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """The service's log output during the test, checked for secrets afterwards.

    The aiohttp test servers (the service's and the fake Bot API's, whose paths hold the token)
    log access lines in aiohttp's default format; ``python -m bot`` uses ``logs.AccessLogger``
    (path only), tested in tests/bot/test_logs.py."""
    settings = (
        request.getfixturevalue("settings") if "settings" in request.fixturenames else Settings()
    )
    secrets = {*TEST_SECRETS, *settings.secrets, getattr(request.module, "TOKEN", "")} - {""}
    root = logging.getLogger()
    level = root.level
    levels = {name: logging.getLogger(name).level for name in logs.QUIET}
    output = io.StringIO()
    handler = logs.setup(settings, output)
    handler.addFilter(not_test_servers_access)
    records = Records()
    root.addHandler(records)
    try:
        yield output
    finally:
        root.removeHandler(handler)
        root.removeHandler(records)
        root.setLevel(level)
        for name, old in levels.items():
            logging.getLogger(name).setLevel(old)
    for secret in secrets:
        assert secret not in output.getvalue(), "a secret in the service's log"
        leaked = [m for m in records.messages if secret in m]
        assert not leaked, f"a log record holds a secret: {leaked[0][:160]}"
