"""``python -m bot``: runs the messaging service."""

from __future__ import annotations

import sys

from aiohttp import web

from bot import logs
from bot.config import ConfigError, Settings
from bot.web_app import create_app


def main() -> None:
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        sys.exit(f"Configuration error: {exc}")
    logs.setup(settings)
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log_class=logs.AccessLogger,
        shutdown_timeout=5,  # long-polls are cut short; clients resume from their last id
        print=lambda _: print(f"Messaging service on http://{settings.host}:{settings.port}"),
    )


if __name__ == "__main__":
    main()
