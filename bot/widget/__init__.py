"""The web widget channel: Socket.IO with Rasa's socketio events, a thin adapter on the core."""

from bot.widget.channel import SOCKET_PATH, WidgetChannel

__all__ = ["SOCKET_PATH", "WidgetChannel"]
