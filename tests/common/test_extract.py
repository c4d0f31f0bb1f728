from __future__ import annotations

import pytest

from common.content import life_stages, municipalities
from common.extract import extract_age, extract_municipality


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("mijn zoon van 9", 9),
        ("dochter (14)", 14),
        ("hij is net 4 geworden", 4),
        ("ze is veertien", 14),
        ("9", 9),
        ("onze jongste is 3 jaar en heeft driftbuien", 3),
        ("twee kinderen van 6 en 8", 6),
        ("baby van 8 maanden", 0),
        ("mijn kindje van 18 maanden", 1),
        ("mijn pasgeboren dochter", 0),
        ("een webinar van 2 uur", None),
        ("moeder van 2 kinderen", None),
        ("ik wil een training", None),
        ("mijn zoon van 45", None),
    ],
)
def test_age_from_what_a_parent_types(text: str, age: int | None) -> None:
    assert extract_age(text) == age


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("cursus voor ouders van een brugklasser", 12),  # "van een" is no age of 1
        ("mijn kind zit in groep 7", 10),
        ("training voor ouders van pubers", 14),
        ("iets voor peuters?", 3),
        ("mijn zoon van 6 zit in groep 3", 6),  # a number always wins
        ("kleuter of brugklas", 5),  # the first stage named
        ("in groep 12 van de voetbal", None),
        ("overzicht van alle cursussen", None),
    ],
)
def test_school_and_life_stages_give_an_age(text: str, age: int | None) -> None:
    assert extract_age(text, life_stages().as_words()) == age


@pytest.mark.parametrize(
    ("text", "municipality"),
    [
        ("we wonen in Haarlem", "haarlem"),
        ("Haarlem-Noord", "haarlem"),
        ("schalkwijk", "haarlem"),
        ("zandvoort", "zandvoort"),
        ("in Overveen", "bloemendaal"),
        ("Aerdenhout", "bloemendaal"),
        ("ik woon in Amsterdam", None),
        ("haarlemmermeer", None),
    ],
)
def test_municipality_from_a_place_name(text: str, municipality: str | None) -> None:
    assert extract_municipality(text, municipalities().places()) == municipality
