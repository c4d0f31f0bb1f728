"""bot/logs.py: the service's log lines hold no secret and no query string."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from bot import logs
from bot.config import Settings

SETTINGS = Settings(
    redis_url="redis://:redis-password-123@127.0.0.1:6390/0",
    rasa_token="rasa-token-0123456789",
    pseudonym_secret="p" * 40,
    telegram_token="123456:telegram-secret-part",
    telegram_webhook_secret="webhook-secret-0123456789",
)


@pytest.fixture
def service_log() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level, output = root.level, io.StringIO()
    handler = logs.setup(SETTINGS, output)
    yield output
    root.removeHandler(handler)
    root.setLevel(level)


def test_every_secret_of_the_settings_is_blanked(service_log: io.StringIO) -> None:
    log = logging.getLogger("some.library")
    log.info("GET https://api.telegram.org/bot%s/getMe", SETTINGS.telegram_token)
    log.info("token=%s redis=%s", SETTINGS.rasa_token, SETTINGS.redis_url)
    try:
        raise RuntimeError(f"{SETTINGS.telegram_webhook_secret} {SETTINGS.pseudonym_secret}")
    except RuntimeError:
        log.exception("with a traceback")
    text = service_log.getvalue()
    assert "getMe" in text and "traceback" in text and text.count(logs.REDACTED) >= 5
    for secret in (*SETTINGS.secrets, "telegram-secret-part", "redis-password-123"):
        assert secret not in text


def test_http_clients_log_no_urls(service_log: io.StringIO) -> None:
    """httpx (python-telegram-bot's client) logs each URL, with the bot token, at INFO."""
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot123:x/getMe")
    logging.getLogger("httpcore.http11").debug("send_request_headers.started")
    assert service_log.getvalue() == ""


def test_the_access_log_has_no_query_string_and_no_address(service_log: io.StringIO) -> None:
    request = make_mocked_request("GET", "/api/chat/updates?token=conversation-secret&after=0")
    logs.AccessLogger(logging.getLogger("aiohttp.access"), "").log(
        request, web.Response(status=200), 0.0123
    )
    line = service_log.getvalue()
    assert "GET /api/chat/updates 200 12.3ms" in line
    assert "conversation-secret" not in line and "?" not in line and "127.0.0.1" not in line
