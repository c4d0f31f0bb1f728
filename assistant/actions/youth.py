"""Youth mode: "Ik ben jongere" (a button in the welcome, or said in words), the youth topic
menu, and honest answers to "blijft dit anoniem?" and "weten mijn ouders dit?".

All texts come from content/youth.yml and the youth blocks of content/topics/. Youth mode
never asks for a name, school or phone number.
"""

from __future__ import annotations

from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

from assistant.actions.registration import note
from common.address import YOUTH_MARK
from common.content import topics
from common.youth import youth_content

YOUTH = "youth"


def menu_buttons() -> list[dict[str, str]]:
    return [
        {"title": item.title, "payload": f'/opvoedvraag{{"topic": "{item.topic}"}}'}
        for item in youth_content().menu
        if item.topic in topics()
    ]


class ActionYouthMode(Action):
    def name(self) -> str:
        return "action_youth_mode"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=youth_content().welcome.strip(), buttons=menu_buttons())
        dispatcher.utter_message(json_message=YOUTH_MARK)  # the service keeps "je" from here on
        return [SlotSet("user_type", YOUTH)]


class ActionYouthAnswer(Action):
    """Who reads this, and do my parents find out: the truth, for youths and parents alike."""

    def name(self) -> str:
        return "action_youth_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        key = "ouders_weten" if intent == "vraag_ouders_weten" else "anoniem"
        dispatcher.utter_message(text=youth_content().answers[key].strip())
        note(dispatcher, tracker, "youth_answer")
        return []
