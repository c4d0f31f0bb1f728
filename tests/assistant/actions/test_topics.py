from __future__ import annotations

from collections.abc import Callable

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Tracker
from rasa_sdk.types import DomainDict

from assistant.actions.topics import ActionAnswerTopic
from common.content import topics
from tests.assistant.conftest import split_notes


async def test_a_clear_question_gets_the_topic_answer_tips_and_next_step(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()

    events = await ActionAnswerTopic().run(dispatcher, recorded_tracker("topic_clear"), domain)

    slapen = topics()["slapen"]
    assert events == [SlotSet("topic", "slapen"), SlotSet("child_age", 2.0)]  # "peuter van 2"
    (answer, next_step), (note,) = split_notes(dispatcher.messages)
    assert note == {"outcome": "topic_answered", "topic": "slapen", "age_band": "2-4"}  # codes
    assert answer["text"].startswith(slapen.answer)
    assert all(f"• {tip}" in answer["text"] for tip in slapen.tips)
    step, see_a_person = slapen.step_for(2)
    assert step.text in next_step["text"]
    assert see_a_person in next_step["text"]
    assert {"title": "Een medewerker spreken", "payload": "/ask_human"} in next_step["buttons"]


async def test_a_topic_picked_with_a_button_is_answered(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()

    events = await ActionAnswerTopic().run(dispatcher, recorded_tracker("topic_button"), domain)

    assert events == [SlotSet("topic", "scheiding_vertellen")]
    # a divorce topic has an offer theme, so the parent can look for a training straight away
    assert dispatcher.messages[1]["buttons"][0]["payload"] == "/zoek_aanbod"


def ranked(tracker: Tracker, confidences: list[tuple[str, float]]) -> Tracker:
    """The recorded tracker with another ranking of topics (the model's output, as recorded)."""
    selector = tracker.latest_message["response_selector"]
    key = next(k for k in selector if k != "all_retrieval_intents")
    selector[key]["ranking"] = [
        {"intent_response_key": f"opvoedvraag/{t}", "confidence": c} for t, c in confidences
    ]
    return tracker


async def test_when_unsure_the_parent_chooses_between_topics(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = ranked(
        recorded_tracker("topic_unsure"),
        [("schoolweigering_spijbelen", 0.28), ("angst", 0.26), ("schooluitval", 0.2)],
    )

    events = await ActionAnswerTopic().run(dispatcher, tracker, domain)

    assert events == []  # nothing answered yet, nothing remembered
    (question,), (note,) = split_notes(dispatcher.messages)
    assert note["outcome"] == "unsure" and note["guess"].startswith("opvoedvraag/")
    assert question["text"].startswith("Waar gaat je vraag het meest over?")
    assert 2 <= len(question["buttons"]) <= 3
    for button in question["buttons"]:
        topic_id = button["payload"].split('"topic": "')[1].rstrip('"}')
        assert button["title"] == topics()[topic_id].title


async def test_fairly_sure_answers_and_offers_the_other_likely_topics(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = ranked(
        recorded_tracker("topic_unsure"),  # "mijn kind wil niet naar school en is bang"
        [("schoolweigering_spijbelen", 0.46), ("angst", 0.3), ("gamen", 0.02)],
    )

    events = await ActionAnswerTopic().run(dispatcher, tracker, domain)

    assert events == [SlotSet("topic", "schoolweigering_spijbelen")]
    (answer, _, other), _ = split_notes(dispatcher.messages)
    assert answer["text"].startswith(topics()["schoolweigering_spijbelen"].answer)
    assert other["text"].startswith("Ging je vraag over iets anders?")
    assert other["buttons"] == [
        {"title": topics()["angst"].title, "payload": '/opvoedvraag{"topic": "angst"}'}
    ]  # gamen is too unlikely to offer
