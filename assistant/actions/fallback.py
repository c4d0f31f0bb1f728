"""The two steps of the fallback: "Bedoel je ...?" with choices, and then a handoff offer."""

from __future__ import annotations

from rasa_sdk.events import EventType, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

from assistant.actions.handoff import offer_handoff
from assistant.actions.professional import is_new_professional, route_professional
from assistant.actions.registration import note
from common.content import intent_labels
from common.names import Reason

MAX_CHOICES = 3
NOT_OFFERED = {"nlu_fallback", "out_of_scope", "affirm", "deny"}  # never worth a "Bedoel je"


def user_intents(tracker: Tracker) -> list[str]:
    return [
        e.get("parse_data", {}).get("intent", {}).get("name", "")
        for e in tracker.events
        if e.get("event") == "user"
    ]


def is_second_failure(tracker: Tracker) -> bool:
    """Not understood, "Iets anders", and not understood again."""
    return user_intents(tracker)[-3:] == ["nlu_fallback", "out_of_scope", "nlu_fallback"]


class ActionDefaultAskAffirmation(Action):
    """Replaces Rasa's English "Did you mean" with Dutch choices for the likeliest intents."""

    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # A professional whose question is not clear yet: the route for professionals first.
        events = route_professional(dispatcher) if is_new_professional(tracker) else []
        labels = intent_labels().labels
        ranking = tracker.latest_message.get("intent_ranking") or []
        choices = [
            item["name"]
            for item in ranking
            if item.get("name") in labels and item.get("name") not in NOT_OFFERED
        ][:MAX_CHOICES]
        if is_second_failure(tracker) and "ask_human" not in choices:
            choices.append("ask_human")  # second failure: a person is always one click away
        buttons = [{"title": labels[name], "payload": f"/{name}"} for name in choices]
        buttons.append({"title": labels["out_of_scope"], "payload": "/out_of_scope"})
        dispatcher.utter_message(
            text="Ik weet niet zeker of ik je goed begrijp. Bedoel je een van deze?",
            buttons=buttons,
        )
        note(dispatcher, tracker, "unsure", guess=choices[0] if choices else None)
        return events


class ActionDefaultFallback(Action):
    """After a second failure, offer a person instead of guessing again."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_offer_handoff")
        note(dispatcher, tracker, "not_understood")
        return [UserUtteranceReverted(), *offer_handoff(Reason.FALLBACK)]
