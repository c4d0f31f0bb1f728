"""The override after the model: a wish for a person or a course wins, clearly ahead."""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from assistant.nlu.explicit_wish import ExplicitWishOverride


def parsed(text: str, intent: str = "opvoedvraag") -> Message:
    """A message as the model left it: sure it is (say) a parenting question."""
    ranking = [
        {"name": intent, "confidence": 0.97},
        {"name": "ask_human", "confidence": 0.02},
    ]
    return Message(data={"text": text, "intent": ranking[0], "intent_ranking": ranking})


def test_the_wish_for_a_person_wins_over_the_topic() -> None:
    (message,) = ExplicitWishOverride().process(
        [parsed("ik wil een medewerker spreken over mijn zoon die niet slaapt")]
    )

    assert message.get("intent") == {"name": "ask_human", "confidence": 1.0}
    ranking = message.get("intent_ranking")
    assert ranking[0] == {"name": "ask_human", "confidence": 1.0}
    assert ranking[1] == {"name": "opvoedvraag", "confidence": 0.485}  # far enough behind
    assert [r["name"] for r in ranking].count("ask_human") == 1


def test_other_messages_and_button_payloads_are_left_alone() -> None:
    plain, payload = ExplicitWishOverride().process(
        [parsed("mijn zoon van 4 wil niet slapen"), parsed("/ask_human")]
    )

    assert plain.get("intent")["name"] == "opvoedvraag"
    assert payload.get("intent")["name"] == "opvoedvraag"


def test_a_course_request_about_a_topic_shows_offers() -> None:
    course, named, sport = ExplicitWishOverride().process(
        [
            parsed("is er een cursus voor kinderen met faalangst"),
            parsed("triple p voor ouders die gaan scheiden"),
            parsed("hij wil niet meer naar voetbaltraining"),
        ]
    )

    assert course.get("intent") == {"name": "zoek_aanbod", "confidence": 1.0}
    assert named.get("intent") == {"name": "zoek_aanbod", "confidence": 1.0}
    assert sport.get("intent")["name"] == "opvoedvraag"


def test_a_crisis_is_never_overridden() -> None:
    (message,) = ExplicitWishOverride().process(
        [parsed("ik wil met iemand praten want ik wil niet meer leven", intent="crisis")]
    )

    assert message.get("intent")["name"] == "crisis"
