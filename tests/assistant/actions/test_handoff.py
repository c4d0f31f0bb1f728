from __future__ import annotations

from collections.abc import Callable

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


async def test_a_callback_wish_is_a_callback_handoff_with_an_honest_reply(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = recorded_tracker("ask_human")
    tracker.latest_message = {**tracker.latest_message, "text": "kunnen jullie me terugbellen?"}

    await ActionRequestHandoff().run(dispatcher, tracker, domain)

    told, payload = dispatcher.messages
    assert told["response"] == "utter_handoff_callback"
    assert (
        "Terugbellen kan ik zelf niet inplannen"
        in domain["responses"]["utter_handoff_callback"][0]["text"]
    )
    request = HandoffRequest.from_custom(payload["custom"])
    assert request is not None and request.reason == "callback"


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
