"""The route for professionals, on recorded trackers whose message is a professional's: the
topic answer and the fallback's choices come after the reply for professionals, once, and the
registration note counts a professional."""

from __future__ import annotations

from collections.abc import Callable

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Tracker
from rasa_sdk.types import DomainDict

from assistant.actions.fallback import ActionDefaultAskAffirmation
from assistant.actions.topics import ActionAnswerTopic
from common.content import topics
from common.professional import professional_texts
from tests.assistant.conftest import split_notes

TEACHER = "Ik ben leerkracht, een leerling van mij slaapt slecht"


def said_by(tracker: Tracker, text: str, user_type: str | None = None) -> Tracker:
    """The recorded tracker as if its last message had been ``text`` (the model's parse kept)."""
    tracker.latest_message["text"] = text
    user = [e for e in tracker.events if e.get("event") == "user"]
    user[-1]["text"] = text
    tracker.slots["user_type"] = user_type
    return tracker


async def test_a_professionals_topic_question_gets_the_route_first_and_counts_as_professional(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = said_by(recorded_tracker("topic_clear"), TEACHER)

    events = await ActionAnswerTopic().run(dispatcher, tracker, domain)

    texts = professional_texts()
    assert SlotSet("user_type", "professional") in events
    (route, answer, _step), (note,) = split_notes(dispatcher.messages)
    assert route["text"] == texts.text()
    assert route["buttons"] == [
        {"title": texts.consult_button, "payload": "/ask_human"},
        {"title": texts.offers_button, "payload": "https://samenopgroeien.nu"},
    ]
    assert answer["text"].startswith(f"{texts.topic_intro}\n\n{topics()['slapen'].answer}")
    assert note["user_type"] == "professional" and note["outcome"] == "topic_answered"


async def test_a_known_professional_or_a_youth_or_a_parent_gets_no_route(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    for text, user_type in (
        (TEACHER, "professional"),
        (TEACHER, "youth"),
        ("hij slaapt slecht", None),
    ):
        dispatcher = CollectingDispatcher()
        tracker = said_by(recorded_tracker("topic_clear"), text, user_type)

        events = await ActionAnswerTopic().run(dispatcher, tracker, domain)

        shown, _ = split_notes(dispatcher.messages)
        assert all(m.get("text") != professional_texts().text() for m in shown), text
        assert SlotSet("user_type", "professional") not in events


async def test_an_unclear_professionals_question_gets_the_route_before_the_choices(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = said_by(recorded_tracker("unsure_first_message"), "ik werk op een school, hoi")

    events = await ActionDefaultAskAffirmation().run(dispatcher, tracker, domain)

    assert events == [SlotSet("user_type", "professional")]
    (route, choices), (note,) = split_notes(dispatcher.messages)
    assert route["text"] == professional_texts().text()
    assert choices["text"].startswith("Ik weet niet zeker")
    assert note["user_type"] == "professional"
