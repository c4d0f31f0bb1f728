from __future__ import annotations

from collections.abc import Callable

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Tracker
from rasa_sdk.types import DomainDict

from assistant.actions.handoff import (
    ActionDeclineHandoff,
    ActionOfferConflictHelp,
    ActionRequestHandoff,
)
from common.handoff_payload import HandoffRequest
from common.payload import ASK_CALLBACK


async def test_ask_human_emits_a_structured_handoff_request(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()

    events = await ActionRequestHandoff().run(dispatcher, recorded_tracker("ask_human"), domain)

    assert events == [SlotSet("handoff_offered", False), SlotSet("handoff_reason", None)]
    told, payload = dispatcher.messages
    assert told["response"] == "utter_handoff_requested"  # the user hears it before the handoff
    request = HandoffRequest.from_custom(payload["custom"])
    assert request is not None
    assert request.reason == "ask_human"
    assert request.urgent is False
    assert request.recent_intents == ["greet", "ask_human"]


async def test_a_callback_wish_is_a_callback_request_for_the_service(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    """The service asks consent, number and time itself: the assistant says nothing more."""
    dispatcher = CollectingDispatcher()
    tracker = recorded_tracker("ask_human")
    tracker.latest_message = {**tracker.latest_message, "text": "kunnen jullie me terugbellen?"}

    events = await ActionRequestHandoff().run(dispatcher, tracker, domain)

    assert events == [SlotSet("handoff_offered", False), SlotSet("handoff_reason", None)]
    (payload,) = dispatcher.messages
    request = HandoffRequest.from_custom(payload["custom"])
    assert request is not None and request.reason == "callback"
    assert request.recent_intents == ["greet", "ask_human"]


async def test_the_callback_button_is_a_callback_request(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = recorded_tracker("callback_button")

    await ActionRequestHandoff().run(dispatcher, tracker, domain)

    (payload,) = dispatcher.messages
    request = HandoffRequest.from_custom(payload["custom"])
    assert request is not None and request.reason == "callback"
    assert "nlu_fallback" in request.recent_intents  # offered after the fallback
    assert request.context == {"topic": "sociale_media"}  # what staff know beforehand


@pytest.mark.parametrize(
    "response", ["utter_greet", "utter_offer_handoff", "utter_conflict_divorce"]
)
def test_a_callback_is_offered_wherever_a_person_is(response: str, domain: DomainDict) -> None:
    payloads = [b["payload"] for b in domain["responses"][response][0]["buttons"]]
    # Rasa fills {slot} placeholders in buttons, so the JSON's braces are doubled in domain.yml.
    assert ASK_CALLBACK.replace("{", "{{").replace("}", "}}") in payloads


async def test_accepting_the_offer_after_fallbacks_is_a_fallback_handoff(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()

    events = await ActionRequestHandoff().run(dispatcher, recorded_tracker("accept_offer"), domain)

    assert events == [SlotSet("handoff_offered", False), SlotSet("handoff_reason", None)]
    request = HandoffRequest.from_custom(dispatcher.messages[1]["custom"])
    assert request is not None and request.reason == "fallback"
    assert "nlu_fallback" in request.recent_intents


async def test_declining_withdraws_the_offer(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()

    events = await ActionDeclineHandoff().run(dispatcher, recorded_tracker("accept_offer"), domain)

    assert events == [SlotSet("handoff_offered", False), SlotSet("handoff_reason", None)]
    assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_declined"]


async def test_conflict_divorce_offers_a_talk_and_passes_the_context_on_acceptance(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionOfferConflictHelp().run(dispatcher, recorded_tracker("conflict"), domain)
    assert events == [
        SlotSet("handoff_offered", True),
        SlotSet("handoff_reason", "conflict_divorce"),
    ]
    assert [m["response"] for m in dispatcher.messages] == ["utter_conflict_divorce"]

    dispatcher = CollectingDispatcher()
    await ActionRequestHandoff().run(dispatcher, recorded_tracker("conflict_accepted"), domain)

    request = HandoffRequest.from_custom(dispatcher.messages[1]["custom"])
    assert request is not None
    assert request.reason == "conflict_divorce"
    assert request.context == {"topic": "scheiding_vertellen"}  # what the bot already advised
