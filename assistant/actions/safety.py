"""The crisis intent: the model recognised a message about someone's safety that the phrase
list (content/safety.yml, checked by the service first) did not catch.

Sure enough (``intent_threshold`` in content/safety.yml), the action only raises the signal: the
service shows the crisis card and starts the urgent handoff, exactly as for a phrase, so there
is one crisis path for every channel. Less sure, it asks whether the message is about someone's
safety ("Ja" comes back as ``/crisis`` and raises the signal): an everyday question then gets a
question, not an alarm. The crisis contacts come with the question, so they are shown at once.
"""

from __future__ import annotations

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

from assistant.actions.registration import note
from common.safety import contact_lines, crisis_contacts, nlu_signal_payload, safety_phrases

YES = "/crisis"
NO = "/out_of_scope"


class ActionSafetySignal(Action):
    def name(self) -> str:
        return "action_safety_signal"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        confidence = float((tracker.latest_message.get("intent") or {}).get("confidence") or 0)
        chosen = str(tracker.latest_message.get("text") or "").startswith(YES)
        threshold = safety_phrases().intent_threshold
        if chosen or (threshold < 1.0 and confidence >= threshold):
            dispatcher.utter_message(json_message=nlu_signal_payload(confidence))
            return []
        contacts = crisis_contacts()
        check = contacts.check
        # The numbers come with the question, so nobody waits for "Ja" to see them.
        lines = [check.text.strip(), "", check.contacts_intro.strip(), *contact_lines(contacts)]
        dispatcher.utter_message(
            text="\n".join(lines),
            buttons=[
                {"title": check.confirm, "payload": YES},
                {"title": check.decline, "payload": NO},
            ],
        )
        note(dispatcher, tracker, "unsure", guess="crisis")
        return []
