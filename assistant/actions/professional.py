"""The route for professionals: the first time a teacher, GP or youth worker is recognised
(content/askers.yml), the assistant says what the I&A team does for professionals (consultation
with a staff member) and where the group offer is, above its answer, and remembers the asker,
so the figures count the conversation as a professional's (content/professionals.yml).
"""

from __future__ import annotations

from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Tracker

from common.professional import professional_texts
from common.youth import sounds_professional


def is_new_professional(tracker: Tracker) -> bool:
    """A professional is asking (in this message, or in an earlier one answered with a choice
    of topics), and the conversation did not know yet. A youth is never routed here."""
    if tracker.get_slot("user_type") in ("youth", "professional"):
        return False
    said = [str(tracker.latest_message.get("text") or "")]
    said += [str(e.get("text") or "") for e in tracker.events if e.get("event") == "user"]
    return any(sounds_professional(text) for text in said)


def route_professional(dispatcher: CollectingDispatcher) -> list[EventType]:
    """The reply for professionals, with a consultation one tap away and the offer's site."""
    texts = professional_texts()
    dispatcher.utter_message(
        text=texts.text(),
        buttons=[
            {"title": texts.consult_button, "payload": "/ask_human"},
            {"title": texts.offers_button, "payload": texts.offers_link},
        ],
    )
    return [SlotSet("user_type", "professional")]
