"""Custom actions, served by ``rasa run actions --actions assistant.actions``."""

from assistant.actions.fallback import ActionDefaultAskAffirmation, ActionDefaultFallback
from assistant.actions.handoff import (
    ActionDeclineHandoff,
    ActionOfferConflictHelp,
    ActionRequestHandoff,
)
from assistant.actions.offers import ActionFindOffers
from assistant.actions.safety import ActionSafetySignal
from assistant.actions.topics import ActionAnswerTopic
from assistant.actions.youth import ActionYouthAnswer, ActionYouthMode

__all__ = [
    "ActionAnswerTopic",
    "ActionDeclineHandoff",
    "ActionDefaultAskAffirmation",
    "ActionDefaultFallback",
    "ActionFindOffers",
    "ActionOfferConflictHelp",
    "ActionRequestHandoff",
    "ActionSafetySignal",
    "ActionYouthAnswer",
    "ActionYouthMode",
]
