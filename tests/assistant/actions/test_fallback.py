from __future__ import annotations

from collections.abc import Callable

from rasa_sdk.events import SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Tracker
from rasa_sdk.types import DomainDict

from assistant.actions.fallback import ActionDefaultAskAffirmation, ActionDefaultFallback
from tests.assistant.conftest import split_notes


async def test_first_doubt_offers_the_top_intents_in_dutch_and_something_else(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = recorded_tracker("unsure_first_message")  # "hoi dank je": greet or thanks?

    events = await ActionDefaultAskAffirmation().run(dispatcher, tracker, domain)

    assert events == []
    (message,), (note,) = split_notes(dispatcher.messages)
    assert note["outcome"] == "unsure"  # the question is kept (redacted) for improving content
    assert message["text"].startswith("Ik weet niet zeker")
    buttons = message["buttons"]
    assert 2 <= len(buttons) <= 4
    payloads = [b["payload"] for b in buttons]
    assert {"/thanks", "/greet"} <= set(payloads)
    assert "/ask_human" not in payloads
    assert buttons[-1] == {"title": "Iets anders", "payload": "/out_of_scope"}
    assert buttons[0]["title"] in {"Bedankt zeggen", "Gedag zeggen"}  # labels, not intent names


async def test_second_doubt_also_offers_a_person(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()

    await ActionDefaultAskAffirmation().run(
        dispatcher, recorded_tracker("unsure_second_time"), domain
    )

    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert "/ask_human" in payloads
    assert payloads[-1] == "/out_of_scope"


async def test_giving_up_offers_a_handoff_and_remembers_the_offer(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()

    events = await ActionDefaultFallback().run(
        dispatcher, recorded_tracker("second_failure"), domain
    )

    assert events == [
        UserUtteranceReverted(),
        SlotSet("handoff_offered", True),
        SlotSet("handoff_reason", "fallback"),
    ]
    shown, notes = split_notes(dispatcher.messages)
    assert [m["response"] for m in shown] == ["utter_offer_handoff"]
    assert notes == [{"outcome": "not_understood"}]
    offer = next(r for r in domain["responses"]["utter_offer_handoff"])
    callback = '/ask_human{{"contact": "callback"}}'  # "Bel me liever terug" (braces doubled)
    assert {b["payload"] for b in offer["buttons"]} == {"/ask_human", callback, "/deny"}
