"""Answers to everyday parenting questions (opvoedvragen), read from content/topics/.

NLU recognises the retrieval intent ``opvoedvraag/<topic>``; the answer text lives in the content
files that I&A staff edit, so changing an answer needs no retraining.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

from assistant.actions.professional import is_new_professional, route_professional
from assistant.actions.registration import note
from common.content import Topic, life_stages, topics
from common.extract import extract_age
from common.professional import professional_texts
from common.youth import sounds_young

RETRIEVAL_INTENT = "opvoedvraag"


# The best topic is answered when it is at least this likely and this far ahead of the next;
# otherwise the parent picks from the likeliest (a wrong answer costs more than a question).
# Below SURE, or within MARGIN of the next, the answer comes with "Ging je vraag over iets
# anders?" and the other likely topics as buttons. Chosen on bench/first_reply.py's held-out set.
ANSWER = 0.3
ANSWER_MARGIN = 0.05
SURE = 0.6
MARGIN = 0.2
MAX_CHOICES = 3


def ranked_topics(tracker: Tracker) -> list[tuple[str, float]]:
    """Topics the ResponseSelector considered for the latest message, best first."""
    selector: dict[str, Any] = tracker.latest_message.get("response_selector") or {}
    for key in (RETRIEVAL_INTENT, "default"):
        ranking = (selector.get(key) or {}).get("ranking") or []
        found = [
            (str(r["intent_response_key"]).split("/", 1)[1], float(r.get("confidence") or 0))
            for r in ranking
            if str(r.get("intent_response_key") or "").startswith(f"{RETRIEVAL_INTENT}/")
        ]
        if found:
            return found
    return []


def chosen_topic(tracker: Tracker) -> str | None:
    """A topic the user picked with a button: /opvoedvraag{"topic": "slapen"}."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "topic":
            return str(entity.get("value"))
    return None


def render(topic: Topic, youth: bool = False) -> str:
    if youth and topic.youth is not None:
        tips = "\n".join(f"• {tip}" for tip in topic.youth.tips)
        return f"{topic.youth.answer}\n\n{tips}"
    tips = "\n".join(f"• {tip}" for tip in topic.tips)
    return f"{topic.answer}\n\nWat je kunt proberen:\n{tips}"


def child_age(tracker: Tracker) -> float | None:
    """The child's age in this message (a number, "groep 3", "peuter"), else the one known."""
    said = extract_age(str(tracker.latest_message.get("text") or ""), life_stages().as_words())
    return float(said) if said is not None else tracker.get_slot("child_age")


def is_youth(tracker: Tracker) -> bool:
    """Youth mode: chosen with "Ik ben jongere", or the message sounds like a youth writing."""
    if tracker.get_slot("user_type") == "youth":
        return True
    return sounds_young(str(tracker.latest_message.get("text") or ""))


class ActionAnswerTopic(Action):
    def name(self) -> str:
        return "action_answer_topic"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        known = topics()
        picked = chosen_topic(tracker)
        ranking = [(t, c) for t, c in ranked_topics(tracker) if t in known]
        alternatives: list[str] = []
        if picked is None and ranking:
            best, confidence = ranking[0]
            runner_up = ranking[1][1] if len(ranking) > 1 else 0.0
            if confidence < ANSWER or confidence - runner_up < ANSWER_MARGIN:
                self.ask_which(dispatcher, [t for t, _ in ranking[:MAX_CHOICES]])
                note(dispatcher, tracker, "unsure", guess=f"{RETRIEVAL_INTENT}/{best}")
                return []
            picked = best
            if confidence < SURE or confidence - runner_up < MARGIN:
                alternatives = [t for t, c in ranking[1:MAX_CHOICES] if c >= confidence / 4]
        topic = known.get(picked or "")
        if topic is None:
            dispatcher.utter_message(response="utter_ask_rephrase")
            note(dispatcher, tracker, "not_understood")
            return []
        youth = is_youth(tracker) and topic.youth is not None
        events: list[EventType] = [SlotSet("topic", topic.id)]
        professional = not is_youth(tracker) and is_new_professional(tracker)
        if professional:  # the route for professionals first; the answer is written for parents
            events += route_professional(dispatcher)
        age = child_age(tracker)
        if age is not None and age != tracker.get_slot("child_age"):
            events.append(SlotSet("child_age", float(age)))
        if youth and tracker.get_slot("user_type") != "youth":
            events.append(SlotSet("user_type", "youth"))
        intro = f"{professional_texts().topic_intro}\n\n" if professional else ""
        dispatcher.utter_message(text=intro + render(topic, youth))
        if youth and topic.youth is not None:  # a person is one tap away; no offer finder
            dispatcher.utter_message(
                text=topic.youth.see_a_person,
                buttons=[{"title": "Chat met een medewerker", "payload": "/ask_human"}],
            )
        else:
            step, see_a_person = topic.step_for(None if age is None else int(age))
            buttons = [{"title": "Een medewerker spreken", "payload": "/ask_human"}]
            if topic.offer_theme or step.kind == "groepsaanbod":
                buttons.insert(
                    0, {"title": "Zoek een training of webinar", "payload": "/zoek_aanbod"}
                )
            dispatcher.utter_message(text=f"{step.text}\n\n{see_a_person}", buttons=buttons)
        if alternatives:
            self.offer_alternatives(dispatcher, alternatives)
        user_type = (
            "youth" if youth else "professional" if professional else tracker.get_slot("user_type")
        )
        note(dispatcher, tracker, "topic_answered", user_type, age, topic=topic.id)
        return events

    @staticmethod
    def offer_alternatives(dispatcher: CollectingDispatcher, candidates: list[str]) -> None:
        """Fairly sure, not certain: the answer, and the other likely topics one tap away."""
        dispatcher.utter_message(
            text="Ging je vraag over iets anders? Kies dan hieronder.",
            buttons=[
                {"title": topics()[t].title, "payload": f'/opvoedvraag{{"topic": "{t}"}}'}
                for t in candidates
            ],
        )

    @staticmethod
    def ask_which(dispatcher: CollectingDispatcher, candidates: list[str]) -> None:
        """Unsure between topics: let the parent pick rather than answer the wrong question."""
        buttons = [
            {"title": topics()[t].title, "payload": f'/opvoedvraag{{"topic": "{t}"}}'}
            for t in candidates
        ]
        dispatcher.utter_message(
            text=(
                "Waar gaat je vraag het meest over? Staat het er niet bij, typ je vraag dan in "
                "andere woorden."
            ),
            buttons=buttons,
        )
