"""Code shared by the Rasa environment and the messaging service: standard library + PyYAML."""

from common.content import (
    ContentError,
    IntentLabels,
    ServiceMessages,
    Topic,
    intent_labels,
    load_file,
    service_messages,
    topics,
)
from common.handoff_payload import HANDOFF_KEY, HandoffRequest

__all__ = [
    "HANDOFF_KEY",
    "ContentError",
    "HandoffRequest",
    "IntentLabels",
    "ServiceMessages",
    "Topic",
    "intent_labels",
    "load_file",
    "service_messages",
    "topics",
]
