"""The Telegram channel: a thin adapter from python-telegram-bot to the conversation core."""

from bot.telegram.app import WEBHOOK_PATH, TelegramChannel

__all__ = ["WEBHOOK_PATH", "TelegramChannel"]
