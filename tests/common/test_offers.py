from __future__ import annotations

import pytest

from common.content import topics
from common.offers import THEME_LABELS, Offer, catalogue, named, search, theme_for_topic


def offer(id: str, theme: str = "weerbaarheid", ages: tuple[int | None, int | None] = (None, None),
          topics: tuple[str, ...] = ()) -> Offer:  # fmt: skip
    return Offer(id=id, title=id.title(), theme=theme, audience="kind",  # type: ignore[arg-type]
                 age_min=ages[0], age_max=ages[1], format="training", description="d",
                 link="https://samenopgroeien.nu", topics=list(topics))  # fmt: skip


OFFERS = [
    offer("open_for_all"),
    offer("teens", ages=(12, 18)),
    offer("young", ages=(4, 8), topics=("gepest_worden",)),
    offer("divorce", theme="scheiden", ages=(6, 12)),
]


def test_theme_and_age_filter_and_rank() -> None:
    assert [o.id for o in search(OFFERS, theme="weerbaarheid", age=6)] == ["young", "open_for_all"]
    assert [o.id for o in search(OFFERS, theme="weerbaarheid", age=14)] == ["teens", "open_for_all"]


def test_an_offer_made_for_the_topic_ranks_first() -> None:
    found = search(OFFERS, theme="weerbaarheid", topic="gepest_worden")
    assert found[0].id == "young"


def test_no_good_match_is_an_empty_list() -> None:
    assert search(OFFERS, theme="scheiden", age=3) == []
    assert search(OFFERS, theme="mindset_prestatiedruk") == []


def test_at_most_three_results() -> None:
    many = [offer(f"o{i}") for i in range(6)]
    assert len(search(many, theme="weerbaarheid")) == 3


def test_theme_for_topic() -> None:
    assert theme_for_topic(OFFERS, "gepest_worden") == "weerbaarheid"
    assert theme_for_topic(OFFERS, "slapen") is None


def test_shipped_catalogue_is_valid_and_linked_to_real_topics() -> None:
    shipped = catalogue().offers
    assert len(shipped) >= 16
    assert {o.theme for o in shipped} == set(THEME_LABELS)
    known = set(topics())
    for o in shipped:
        assert set(o.topics) <= known, f"{o.id} names an unknown topic"
    titles = {o.title for o in shipped}
    assert {"Kinderen In Een Scheiding (KIES)", "Rots & Water trainingen"} & titles


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("triple p cursus", "triple_p"),
        ("Triple P transitions, wordt dat nog gegeven?", "triple_p_transitions"),
        ("vanaf welke leeftijd kan je kind naar rots & water", "rots_en_water"),
        ("hoe meld ik mijn kind aan voor sta sterk", "sta_sterk"),
        ("KIES voor mijn zoon", "kies"),
        ("is er een kies-groep in haarlem", "kies"),
    ],
)
def test_an_offer_named_in_the_message_comes_first(text: str, first: str) -> None:
    offers = catalogue().offers

    assert named(offers, text)[0].id == first
    assert search(offers, theme="opvoeden_opgroeien", text=text)[0].id == first


def test_the_verb_kiezen_is_not_the_kies_group() -> None:
    assert named(catalogue().offers, "ik kies voor een cursus over opvoeden") == []
