"""Handing a conversation over to a person of the I&A team."""

from __future__ import annotations

from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

from common.handoff_payload import HandoffRequest, Reason

CONTEXT_SLOTS = ("theme", "child_age", "municipality")  # filled by later flows; passed on if set


def recent_intents(tracker: Tracker, limit: int = 5) -> list[str]:
    """The last user intents, newest last: staff see what the bot was asked before."""
    names = [
        e["parse_data"]["intent"].get("name")
        for e in tracker.events
        if e.get("event") == "user" and e.get("parse_data", {}).get("intent")
    ]
    return [n for n in names if n][-limit:]


def handoff_request(tracker: Tracker, reason: Reason, urgent: bool = False) -> HandoffRequest:
    context = {
        slot: str(tracker.get_slot(slot))
        for slot in CONTEXT_SLOTS
        if tracker.slots.get(slot) is not None
    }
    return HandoffRequest(
        reason=reason, urgent=urgent, context=context, recent_intents=recent_intents(tracker)
    )


class ActionRequestHandoff(Action):
    """Tells the user a person takes over, and asks the messaging service to queue the handoff.

    The request travels as a ``custom`` payload in the bot's reply; the service recognises it.
    """

    def name(self) -> str:
        return "action_request_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reason: Reason = "fallback" if tracker.get_slot("handoff_offered") else "ask_human"
        dispatcher.utter_message(response="utter_handoff_requested")
        dispatcher.utter_message(json_message=handoff_request(tracker, reason).to_custom())
        return [SlotSet("handoff_offered", False)]


class ActionDeclineHandoff(Action):
    """The user said no to the handoff offer: back to the bot, offer withdrawn."""

    def name(self) -> str:
        return "action_decline_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_handoff_declined")
        return [SlotSet("handoff_offered", False)]
