"""The offer finder: a form that asks only what is missing, then the best group offers."""

from __future__ import annotations

from typing import Any

from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

from assistant.actions.handoff import offer_handoff
from assistant.actions.registration import note
from common.content import municipalities, offer_themes, topics
from common.extract import extract_age, extract_municipality
from common.offers import THEME_LABELS, Offer, catalogue, search, theme_for_topic

FORMAT_LABELS = {
    "training": "training",
    "webinar": "webinar (online)",
    "workshop": "workshop",
    "ouderavond": "ouderavond",
}
AUDIENCE_LABELS = {
    "ouder": "voor ouders",
    "kind": "voor kinderen",
    "jongere": "voor jongeren",
    "gezin": "voor het hele gezin",
}
MUNICIPALITY_VALUES = {"haarlem", "zandvoort", "bloemendaal", "anders"}


def _entity(tracker: Tracker, name: str) -> str | None:
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == name and entity.get("value") is not None:
            return str(entity["value"])
    return None


def _text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")


class ValidateOfferForm(FormValidationAction):
    """Fills theme, age and municipality from whatever the parent already said."""

    def name(self) -> str:
        return "validate_offer_form"

    async def extract_offer_theme(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("offer_theme"):
            return {}
        text = _text(tracker)
        theme = _entity(tracker, "offer_theme") or offer_themes().find(text)
        if theme is None:
            lowered = text.lower()
            named = [o for o in catalogue().offers if o.title.lower() in lowered]
            theme = named[0].theme if named else None
        topic = tracker.get_slot("topic")
        if theme is None and topic:
            known = topics().get(topic)
            theme = (known.offer_theme if known else None) or theme_for_topic(
                catalogue().offers, topic
            )
        return {"offer_theme": theme} if theme in THEME_LABELS else {}

    async def extract_child_age(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("child_age") is not None:
            return {}
        age = extract_age(_text(tracker))
        return {} if age is None else {"child_age": age}

    async def extract_municipality(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("municipality"):
            return {}
        found = _entity(tracker, "municipality") or extract_municipality(
            _text(tracker), municipalities().places()
        )
        return {"municipality": found} if found in MUNICIPALITY_VALUES else {}


def offer_message(offer: Offer) -> dict[str, Any]:
    kind = f"{FORMAT_LABELS[offer.format]}, {AUDIENCE_LABELS[offer.audience]}"
    return {
        "text": f"{offer.title} ({kind})\n{offer.description}",
        "buttons": [{"title": f"Data en aanmelden: {offer.title}", "payload": offer.link}],
    }


class ActionShowOffers(Action):
    """Shows 1-3 matches, or says honestly that nothing fits and offers the I&A team."""

    def name(self) -> str:
        return "action_show_offers"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        theme = tracker.get_slot("offer_theme")
        age = tracker.get_slot("child_age")
        age = None if age is None else int(age)
        matches = search(catalogue().offers, theme=theme, age=age, topic=tracker.get_slot("topic"))
        label = THEME_LABELS.get(theme or "", "dit thema")
        for_child = f" voor een kind van {age}" if age is not None else ""
        events: list[EventType] = [SlotSet("offer_theme", None)]  # a next search asks again
        if not matches:
            dispatcher.utter_message(
                text=(
                    f"Ik vond geen aanbod over {label}{for_child} dat goed past. Het hele aanbod "
                    "staat op samenopgroeien.nu. Wil je dat een medewerker van het Informatie & "
                    "Advies-team met je meedenkt?"
                ),
                buttons=[
                    {"title": "Ja, graag", "payload": "/affirm"},
                    {"title": "Nee, dank je", "payload": "/deny"},
                ],
            )
            note(dispatcher, tracker, "no_offer_match", user_type="parent", offer_theme=theme)
            return [*events, *offer_handoff("no_offer_match")]
        dispatcher.utter_message(text=f"Dit aanbod over {label}{for_child} past misschien bij je:")
        for offer in matches:
            dispatcher.utter_message(**offer_message(offer))
        dispatcher.utter_message(
            text="Data, plaatsen en aanmelden vind je via de knoppen op samenopgroeien.nu."
        )
        note(dispatcher, tracker, "offers_shown", user_type="parent", offer_theme=theme)
        return events
