from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Tracker
from rasa_sdk.types import DomainDict

from assistant.actions.offers import ActionFindOffers
from common.offers import THEME_LABELS, catalogue
from tests.assistant.conftest import split_notes

OFFER_IDS = {o.id for o in catalogue().offers}


def saying(tracker: Tracker, text: str, intent: str = "zoek_aanbod") -> Tracker:
    """The recorded tracker with another first message (same shape, other words)."""
    tracker.latest_message = {**tracker.latest_message, "text": text, "entities": []}
    tracker.latest_message["intent"] = {"name": intent, "confidence": 0.99}
    return tracker


async def find(tracker: Tracker, domain: DomainDict) -> tuple[list[Any], list[Any], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = await ActionFindOffers().run(dispatcher, tracker, domain)
    shown, notes = split_notes(dispatcher.messages)
    return events, shown, notes


def titles(shown: list[dict[str, Any]]) -> list[str]:
    by_title = {o.title for o in catalogue().offers}
    return [m["text"].split(" (")[0] for m in shown if m["text"].split(" (")[0] in by_title]


async def test_theme_and_age_from_the_first_message_show_offers_at_once(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    tracker = recorded_tracker("offer_request")  # "... weerbaarheidstraining ... dochter van 10"

    events, shown, (note,) = await find(tracker, domain)

    assert SlotSet("child_age", 10.0) in events
    assert SlotSet("offer_theme", "weerbaarheid") in events
    assert (
        shown[0]["text"]
        == "Dit aanbod over Weerbaarheid voor een kind van 10 past misschien bij je:"
    )
    offers = shown[1:-1]
    assert 1 <= len(offers) <= 3
    for offer in offers:
        (button,) = offer["buttons"]
        assert button["payload"] == "https://samenopgroeien.nu"
        assert offer["custom"]["offer"] in OFFER_IDS  # the service counts clicks by it
    assert len({o["custom"]["offer"] for o in offers}) == len(offers)
    overview = shown[-1]  # no question: no weerbaarheid offer depends on the age
    assert "samenopgroeien.nu" in overview["text"]
    assert overview["buttons"] == [
        {"title": "Al het aanbod op samenopgroeien.nu", "payload": "https://samenopgroeien.nu"}
    ]
    assert note["outcome"] == "offers_shown"
    assert note["offer_theme"] == "weerbaarheid"


async def test_a_school_stage_is_read_as_an_age(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    tracker = saying(
        recorded_tracker("offer_request"), "webinar voor ouders, onze zoon zit in groep 8"
    )

    events, shown, _ = await find(tracker, domain)

    assert SlotSet("child_age", 11.0) in events
    assert "Van basisschool naar brugger" in " ".join(titles(shown))


async def test_an_overview_shows_every_theme_and_offers_to_narrow_by_theme(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    tracker = saying(recorded_tracker("offer_request"), "welke cursussen hebben jullie allemaal")

    events, shown, _ = await find(tracker, domain)

    themes = {o.title: o.theme for o in catalogue().offers}
    assert len({themes[t] for t in titles(shown)}) == 3  # three offers, three themes
    question = shown[-1]
    assert [b["payload"] for b in question["buttons"]] == [
        f'/zoek_aanbod{{"offer_theme": "{key}"}}' for key in THEME_LABELS
    ]
    assert SlotSet("offer_theme", None) in events


async def test_the_age_is_asked_only_where_it_changes_the_offers(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    tracker = saying(recorded_tracker("offer_request"), "cursus voor ouders over opvoeden")

    _, shown, _ = await find(tracker, domain)  # "Pubers & Zo" is for 12-18: the age matters

    assert shown[-1]["text"].startswith("Hoe oud is je kind?")
    assert shown[-1]["buttons"][0]["payload"] == '/zoek_aanbod{"child_age": 2}'


async def test_an_age_button_keeps_the_theme_of_the_search(
    recorded_tracker: Callable[[str], Tracker], domain: DomainDict
) -> None:
    tracker = saying(recorded_tracker("offer_complete"), '/zoek_aanbod{"child_age": 14}')
    tracker.latest_message["entities"] = [{"entity": "child_age", "value": 14}]

    events, shown, _ = await find(tracker, domain)

    assert SlotSet("offer_theme", "weerbaarheid") in events  # from the slot
    assert SlotSet("child_age", 14.0) in events
    assert shown[0]["text"].startswith("Dit aanbod over Weerbaarheid voor een kind van 14")


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
    (tmp_path / "offer_finder.yml").write_text(
        (Path(__file__).parents[3] / "content" / "offer_finder.yml").read_text()
    )
    for name in ("offer_themes.yml", "life_stages.yml", "municipalities.yml"):
        (tmp_path / name).write_text((Path(__file__).parents[3] / "content" / name).read_text())
    (tmp_path / "topics").mkdir()
    monkeypatch.setenv("CJG_CONTENT_DIR", str(tmp_path))  # a catalogue with nothing for age 10

    events, (message,), (note,) = await find(recorded_tracker("offer_request"), domain)

    assert events[-2:] == [
        SlotSet("handoff_offered", True),
        SlotSet("handoff_reason", "no_offer_match"),
    ]
    assert note["outcome"] == "no_offer_match"
    assert message["text"].startswith("Ik vond geen aanbod over Weerbaarheid voor een kind van 10")
    assert [b["payload"] for b in message["buttons"]] == ["/affirm", "/deny"]
