"""``python -m bot``: runs the messaging service."""

from __future__ import annotations

import logging
import sys

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from bot.config import ConfigError, Settings
from bot.web_app import create_app


class AccessLogger(AbstractAccessLogger):
    """Method, path, status and time only: no client address, no query string, no ids."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %.1fms", request.method, request.path, response.status, time * 1000
        )


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        sys.exit(f"Configuration error: {exc}")
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log_class=AccessLogger,
        shutdown_timeout=5,  # long-polls are cut short; clients resume from their last id
        print=lambda _: print(f"Messaging service on http://{settings.host}:{settings.port}"),
    )


if __name__ == "__main__":
    main()
