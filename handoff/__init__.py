"""Handoff from the bot to a person of the I&A team: state machine, queue, staff console."""

from common.names import State
from handoff.hours import OpeningHours, opening_hours
from handoff.requests import HandoffLog
from handoff.service import HandoffService, Timing
from handoff.store import Handoff, HandoffStore
from handoff.transcript import Outbox, OutboxWatcher, Transcript

__all__ = [
    "Handoff",
    "HandoffLog",
    "HandoffService",
    "HandoffStore",
    "OpeningHours",
    "Outbox",
    "OutboxWatcher",
    "State",
    "Timing",
    "Transcript",
    "opening_hours",
]
