"""The service's log lines: one per record, without secrets, without query strings.

python-telegram-bot talks to the Bot API through httpx, which logs every request at INFO with its
URL, and the URL holds the bot token (``.../bot<token>/getUpdates``). Those HTTP client loggers
are held at WARNING, and every line passes a formatter that blanks each secret of the settings,
in case a library puts one into a message or an exception.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from bot.config import Settings

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Loggers of HTTP clients that write request URLs (with the bot token) at INFO or DEBUG.
QUIET = ("httpx", "httpcore", "hpack")
REDACTED = "[secret]"
MIN_SECRET_CHARS = 8  # shorter values are no secrets (and would blank ordinary words)


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then replaces every secret (message, arguments, traceback alike)."""

    def __init__(self, secrets: Iterable[str], fmt: str = FORMAT) -> None:
        super().__init__(fmt)
        found = {s for s in secrets if len(s) >= MIN_SECRET_CHARS}
        self._secrets = sorted(found, key=len, reverse=True)  # a longer one may contain another

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


class AccessLogger(AbstractAccessLogger):
    """Method, path, status and time only: no client address, no query string, no ids."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %.1fms", request.method, request.path, response.status, time * 1000
        )


def quiet_http_clients() -> None:
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def setup(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """Logging for ``python -m bot``: INFO and up to ``stream`` (stderr), secrets blanked."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter(settings.secrets))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    quiet_http_clients()
    return handler
