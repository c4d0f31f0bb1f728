"""Handing a conversation over to a person of the I&A team."""

from __future__ import annotations

from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

from common.handoff_payload import REASONS, HandoffRequest
from common.names import Reason
from common.person_wish import wants_callback

# What the conversation taught us, for the staff member's summary (never free text).
CONTEXT_SLOTS = ("topic", "offer_theme", "child_age", "municipality", "user_type")


def recent_intents(tracker: Tracker, limit: int = 5) -> list[str]:
    """The last user intents, newest last: staff see what the bot was asked before."""
    names = [
        e["parse_data"]["intent"].get("name")
        for e in tracker.events
        if e.get("event") == "user" and e.get("parse_data", {}).get("intent")
    ]
    return [n for n in names if n][-limit:]


def _text(value: object) -> str:
    """Slot values as staff read them: an age of 10.0 is "10"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def handoff_request(tracker: Tracker, reason: Reason, urgent: bool = False) -> HandoffRequest:
    context = {
        slot: _text(tracker.get_slot(slot))
        for slot in CONTEXT_SLOTS
        if tracker.slots.get(slot) is not None
    }
    return HandoffRequest(
        reason=reason, urgent=urgent, context=context, recent_intents=recent_intents(tracker)
    )


def offer_handoff(reason: Reason) -> list[EventType]:
    """Remember that a person was offered, and why; "ja" then starts the handoff."""
    return [SlotSet("handoff_offered", True), SlotSet("handoff_reason", str(reason))]


def withdraw_offer() -> list[EventType]:
    return [SlotSet("handoff_offered", False), SlotSet("handoff_reason", None)]


class ActionRequestHandoff(Action):
    """Tells the user a person takes over, and asks the messaging service to queue the handoff.

    The request travels as a ``custom`` payload in the bot's reply; the service recognises it.
    """

    def name(self) -> str:
        return "action_request_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        offered = tracker.get_slot("handoff_offered")
        slot = tracker.get_slot("handoff_reason")
        reason = (
            (Reason(slot) if slot in REASONS else Reason.FALLBACK) if offered else Reason.ASK_HUMAN
        )
        if wants_callback(str(tracker.latest_message.get("text") or "")) or _callback_button(
            tracker
        ):
            # The messaging service asks for consent, the number and a time itself, so the
            # number never reaches the assistant (handoff/callbacks.py).
            reason = Reason.CALLBACK
        else:
            dispatcher.utter_message(response="utter_handoff_requested")
        dispatcher.utter_message(json_message=handoff_request(tracker, reason).to_custom())
        return withdraw_offer()


def _callback_button(tracker: Tracker) -> bool:
    """The "Bel me (liever) terug" button: /ask_human{"contact": "callback"}."""
    entities = tracker.latest_message.get("entities") or []
    return any(e.get("entity") == "contact" and e.get("value") == "callback" for e in entities)


class ActionDeclineHandoff(Action):
    """The user said no to the handoff offer: back to the bot, offer withdrawn."""

    def name(self) -> str:
        return "action_decline_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_handoff_declined")
        return withdraw_offer()


class ActionOfferConflictHelp(Action):
    """Signs of a vechtscheiding, or a child caught in between: offer a talk with the I&A team."""

    def name(self) -> str:
        return "action_offer_conflict_help"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_conflict_divorce")
        return offer_handoff(Reason.CONFLICT_DIVORCE)
