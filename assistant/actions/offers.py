"""The offer finder: the best group offers for what the parent said, at once.

No form first: the first reply shows what fits what is known (theme, age, topic), with the link
to the whole offer on samenopgroeien.nu, and then offers to narrow down only where that changes
the result. Texts live in content/offer_finder.yml.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

from assistant.actions.handoff import offer_handoff
from assistant.actions.registration import note
from assistant.actions.topics import ranked_topics
from common.content import life_stages, municipalities, offer_themes, topics
from common.extract import extract_age, extract_municipality
from common.names import Reason
from common.offers import (
    THEME_LABELS,
    FinderTexts,
    Offer,
    age_matters,
    catalogue,
    finder_texts,
    named,
    search,
    spread,
    theme_for_topic,
)
from common.payload import is_payload

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
TOPIC_SURE = 0.5  # a course request names a parenting topic this surely: offers for it first


def _entity(tracker: Tracker, name: str) -> str | None:
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == name and entity.get("value") is not None:
            return str(entity["value"])
    return None


def _text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")


def wanted_theme(tracker: Tracker) -> str | None:
    """The theme a button, a keyword or a named offer gives; else that of the known topic."""
    text = _text(tracker)
    theme = _entity(tracker, "offer_theme") or offer_themes().find(text)
    if theme is None:
        mentioned = named(catalogue().offers, text)
        theme = mentioned[0].theme if mentioned else None
    follow_up = is_payload(text) or tracker.get_intent_of_latest_message() == "inform"
    if theme is None and follow_up:  # an age button or "hij is 9" after the offers
        theme = tracker.get_slot("offer_theme")
    topic = wanted_topic(tracker)
    if theme is None and topic and not follow_up:
        known = topics().get(topic)
        theme = (known.offer_theme if known else None) or theme_for_topic(catalogue().offers, topic)
    return theme if theme in THEME_LABELS else None


def wanted_topic(tracker: Tracker) -> str | None:
    """The parenting topic the request is about ("cursus voor mijn kind met faalangst"), when the
    model is sure enough; else the topic answered earlier in the conversation."""
    ranking = ranked_topics(tracker)
    if ranking and ranking[0][1] >= TOPIC_SURE and not is_payload(_text(tracker)):
        return ranking[0][0]
    topic = tracker.get_slot("topic")
    return str(topic) if topic else None


def wanted_age(tracker: Tracker) -> int | None:
    """The age in this message (a number, "groep 7", "brugklasser"), else the one known."""
    given = _entity(tracker, "child_age")
    if given is not None:
        return int(float(given))
    age = extract_age(_text(tracker), life_stages().as_words())
    known = tracker.get_slot("child_age")
    return int(known) if age is None and known is not None else age


def wanted_municipality(tracker: Tracker) -> str | None:
    found = _entity(tracker, "municipality") or extract_municipality(
        _text(tracker), municipalities().places()
    )
    return found if found in MUNICIPALITY_VALUES else None


def offer_message(offer: Offer, texts: FinderTexts) -> dict[str, Any]:
    kind = f"{FORMAT_LABELS[offer.format]}, {AUDIENCE_LABELS[offer.audience]}"
    return {
        "text": f"{offer.title} ({kind})\n{offer.description}",
        "buttons": [{"title": texts.offer_button.format(title=offer.title), "payload": offer.link}],
        # Offers may share one link (all of them do while samenopgroeien.nu has no page per
        # offer): the service counts the click by this id, not by the link.
        "json_message": {"offer": offer.id},
    }


def narrowing(texts: FinderTexts, theme: str | None, age: int | None) -> dict[str, Any] | None:
    """The one question that would change what is shown, with buttons; None if none would."""
    if theme is None:
        return {
            "text": texts.narrow_theme,
            "buttons": [
                {"title": label, "payload": f'/zoek_aanbod{{"offer_theme": "{key}"}}'}
                for key, label in THEME_LABELS.items()
            ],
        }
    if age is None and age_matters(catalogue().offers, theme):
        return {
            "text": texts.narrow_age,
            "buttons": [
                {"title": b.title, "payload": f'/zoek_aanbod{{"child_age": {b.age}}}'}
                for b in texts.age_buttons
            ],
        }
    return None


class ActionFindOffers(Action):
    """Shows 1-3 matches at once, or says honestly that nothing fits and offers the I&A team."""

    def name(self) -> str:
        return "action_find_offers"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        texts = finder_texts()
        theme, age = wanted_theme(tracker), wanted_age(tracker)
        municipality = wanted_municipality(tracker)
        events: list[EventType] = [SlotSet("user_type", tracker.get_slot("user_type") or "parent")]
        if age is not None:
            events.append(SlotSet("child_age", float(age)))
        if municipality is not None:
            events.append(SlotSet("municipality", municipality))
        found = search(
            catalogue().offers,
            theme=theme,
            age=age,
            topic=wanted_topic(tracker),
            limit=100,
            text=_text(tracker),
        )
        matches = found[:3] if theme is not None else spread(found)
        about = f" over {THEME_LABELS[theme]}" if theme else ""
        for_child = f" voor een kind van {age}" if age is not None else ""
        if not matches:
            dispatcher.utter_message(
                text=texts.none_found.format(about=about, for_child=for_child),
                buttons=[
                    {"title": texts.accept, "payload": "/affirm"},
                    {"title": texts.decline, "payload": "/deny"},
                ],
            )
            note(
                dispatcher,
                tracker,
                "no_offer_match",
                "parent",
                age,
                municipality,
                offer_theme=theme,
            )
            return [*events, *offer_handoff(Reason.NO_OFFER_MATCH)]
        dispatcher.utter_message(text=texts.found.format(about=about, for_child=for_child))
        for offer in matches:
            dispatcher.utter_message(**offer_message(offer, texts))
        dispatcher.utter_message(
            text=texts.overview,
            buttons=[{"title": texts.overview_button, "payload": texts.overview_link}],
        )
        question = narrowing(texts, theme, age)
        if question is not None:
            dispatcher.utter_message(**question)
        note(dispatcher, tracker, "offers_shown", "parent", age, municipality, offer_theme=theme)
        return [*events, SlotSet("offer_theme", theme)]
