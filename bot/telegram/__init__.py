"""The Telegram channel: a thin adapter from python-telegram-bot to the conversation core."""

import os

# Durations as datetime.timedelta now, as python-telegram-bot 23 will have them (and no
# deprecation warning on every flood-limit reply until then).
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bot.telegram.app import WEBHOOK_PATH, TelegramChannel

__all__ = ["WEBHOOK_PATH", "TelegramChannel"]
