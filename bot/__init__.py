"""The messaging service: the public face of the assistant (Python 3.12, current libraries)."""

from bot.config import ConfigError, Settings
from bot.conversation import ConversationCore, Incoming
from bot.web_app import create_app

__all__ = ["ConfigError", "ConversationCore", "Incoming", "Settings", "create_app"]
