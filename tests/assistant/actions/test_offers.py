from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Tracker
from rasa_sdk.types import DomainDict

from assistant.actions.offers import ActionShowOffers, ValidateOfferForm
from tests.assistant.conftest import split_notes


async def test_the_form_takes_theme_and_age_from_the_first_message(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = recorded_tracker("offer_request")  # "... weerbaarheidstraining ... dochter van 10"

    events = await ValidateOfferForm().run(dispatcher, tracker, domain)

    assert SlotSet("offer_theme", "weerbaarheid") in events
    assert SlotSet("child_age", 10) in events
    assert not any(e.get("name") == "municipality" for e in events)  # still to ask


async def test_a_place_name_fills_the_municipality(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    events = await ValidateOfferForm().run(
        CollectingDispatcher(), recorded_tracker("offer_municipality"), domain
    )

    assert SlotSet("municipality", "bloemendaal") in events  # "we wonen in overveen"


async def test_matches_are_shown_with_links_and_the_theme_is_cleared(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    dispatcher = CollectingDispatcher()

    events = await ActionShowOffers().run(dispatcher, recorded_tracker("offer_complete"), domain)

    assert events == [SlotSet("offer_theme", None)]
    (intro, *offers, outro), (note,) = split_notes(dispatcher.messages)
    assert note == {
        "outcome": "offers_shown",
        "user_type": "parent",
        "age_band": "5-12",
        "municipality": "bloemendaal",
        "offer_theme": "weerbaarheid",
    }
    assert "voor een kind van 10" in intro["text"]
    assert 1 <= len(offers) <= 3
    for offer in offers:
        (button,) = offer["buttons"]
        assert button["payload"] == "https://samenopgroeien.nu"
    assert "samenopgroeien.nu" in outro["text"]


async def test_no_match_says_so_and_offers_the_ia_team(
    recorded_tracker: Callable[[str], Tracker],
    domain: DomainDict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "offers.yml").write_text(
        "version: 1\noffers:\n"
        "  - {id: a, title: Pubers, theme: weerbaarheid, audience: ouder, age_min: 12,\n"
        "     age_max: 18, format: training, description: d, link: 'https://samenopgroeien.nu'}\n"
    )
    monkeypatch.setenv("CJG_CONTENT_DIR", str(tmp_path))  # a catalogue with nothing for age 10
    dispatcher = CollectingDispatcher()

    events = await ActionShowOffers().run(dispatcher, recorded_tracker("offer_complete"), domain)

    assert events == [
        SlotSet("offer_theme", None),
        SlotSet("handoff_offered", True),
        SlotSet("handoff_reason", "no_offer_match"),
    ]
    (message,), (note,) = split_notes(dispatcher.messages)
    assert note["outcome"] == "no_offer_match"
    assert message["text"].startswith("Ik vond geen aanbod over Weerbaarheid voor een kind van 10")
    assert [b["payload"] for b in message["buttons"]] == ["/affirm", "/deny"]
