"""Custom actions, served by ``rasa run actions --actions assistant.actions``."""

from assistant.actions.fallback import ActionDefaultAskAffirmation, ActionDefaultFallback
from assistant.actions.handoff import ActionDeclineHandoff, ActionRequestHandoff

__all__ = [
    "ActionDeclineHandoff",
    "ActionDefaultAskAffirmation",
    "ActionDefaultFallback",
    "ActionRequestHandoff",
]
