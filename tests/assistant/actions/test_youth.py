"""Youth mode and the crisis intent, run on trackers recorded from the real stack."""

from __future__ import annotations

from collections.abc import Callable

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Tracker
from rasa_sdk.types import DomainDict

from assistant.actions.safety import ActionSafetySignal
from assistant.actions.topics import ActionAnswerTopic
from assistant.actions.youth import ActionYouthAnswer, ActionYouthMode
from common.address import YOUTH_MARK
from common.content import topics
from common.safety import crisis_contacts, nlu_signal
from common.youth import youth_content
from tests.assistant.conftest import split_notes

NEVER_ASKED = ("hoe heet je", "wat is je naam", "op welke school", "je telefoonnummer", "je adres")


async def test_ik_ben_jongere_welcomes_with_the_youth_topics(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()

    events = await ActionYouthMode().run(dispatcher, recorded_tracker("youth_mode"), domain)

    assert events == [SlotSet("user_type", "youth")]
    welcome, mark = dispatcher.messages
    assert mark["custom"] == YOUTH_MARK  # the service keeps "je" for this conversation
    assert welcome["text"] == youth_content().welcome.strip()
    assert [b["title"] for b in welcome["buttons"]] == [i.title for i in youth_content().menu]
    assert welcome["buttons"][0]["payload"] == '/opvoedvraag{"topic": "prestatiedruk_examenstress"}'
    assert not any(asked in welcome["text"].lower() for asked in NEVER_ASKED)


async def test_blijft_dit_anoniem_gets_the_true_answer(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()

    await ActionYouthAnswer().run(dispatcher, recorded_tracker("youth_anonymous"), domain)

    (answer,), (note,) = split_notes(dispatcher.messages)
    assert answer["text"] == youth_content().answers["anoniem"].strip()
    assert note == {"outcome": "youth_answer", "user_type": "youth"}


async def test_weten_mijn_ouders_dit_gets_the_true_answer(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()

    await ActionYouthAnswer().run(dispatcher, recorded_tracker("youth_parents"), domain)

    (answer,), _ = split_notes(dispatcher.messages)
    assert answer["text"] == youth_content().answers["ouders_weten"].strip()


async def test_a_youths_own_words_get_the_short_youth_answer(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()

    events = await ActionAnswerTopic().run(dispatcher, recorded_tracker("youth_words"), domain)

    assert events == [SlotSet("topic", "gepest_worden"), SlotSet("user_type", "youth")]
    (answer, person), (note,) = split_notes(dispatcher.messages)
    youth = topics()["gepest_worden"].youth
    assert youth is not None and answer["text"].startswith(youth.answer)
    assert person["text"] == youth.see_a_person
    assert [b["payload"] for b in person["buttons"]] == ["/ask_human"]  # no offer finder
    assert note == {"outcome": "topic_answered", "topic": "gepest_worden", "user_type": "youth"}


async def test_the_crisis_intent_asks_first_while_the_model_is_not_sure_enough(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = recorded_tracker("crisis_intent")  # "ik ben net van huis weggerend ..."

    events = await ActionSafetySignal().run(dispatcher, tracker, domain)

    assert events == []
    (question,), (note,) = split_notes(dispatcher.messages)
    check = crisis_contacts().check
    assert question["text"].startswith(check.text.strip()) and "112" in question["text"]
    for contact in crisis_contacts().contacts.values():  # the numbers at once, before "Ja"
        assert f"{contact.name}: {contact.phone}." in question["text"]
    assert question["buttons"] == [
        {"title": check.confirm, "payload": "/crisis"},
        {"title": check.decline, "payload": "/out_of_scope"},
    ]
    assert note == {"outcome": "unsure", "guess": "crisis"}


async def test_yes_raises_the_signal_and_nothing_else(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()

    await ActionSafetySignal().run(dispatcher, recorded_tracker("crisis_confirmed"), domain)

    (signal,) = dispatcher.messages
    assert nlu_signal(signal["custom"]) is not None
    assert not signal.get("text")  # the service shows the crisis card, the same on every path
