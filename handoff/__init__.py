"""Handoff from the bot to a person of the I&A team."""

from handoff.requests import HandoffLog

__all__ = ["HandoffLog"]
