"""The wish for a person (content/person_wish.yml): it wins over the topic, and stays tight."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.content import ContentError
from common.person_wish import person_wish, wants_callback, wants_person

PERSON = [
    "ik wil een medewerker spreken over mijn zoon van 6 die niet wil slapen",
    "kan ik iemand spreken",
    "ik wil dit liever met een echt persoon bespreken",
    "kan iemand mij helpen",
    "liever even bellen",
    "ik ben 15 en wil met iemand praten",
    "ik zou graag in contact komen met iemand",
    "hoe kan ik jullie bereiken",
]
CALLBACK = [
    "kunnen jullie me terugbellen op 06-12345678",
    "bel me vanmiddag op 0612345678",
    "graag een terugbelverzoek",
    "ik wil graag gebeld worden",
]
NOT_A_WISH = [
    "hoe praat ik met mijn puber",
    "mijn zoon wil met niemand praten",
    "ik wil geen medewerker",
    "hoe krijg ik mijn zoon zover dat hij met iemand gaat praten",
    "mijn dochter belt me steeds op",
    "mijn puber wil niet gebeld worden door opa",
    "kan ik met mijn ex praten over de kinderen",
    "mijn moeder belt me elke dag, wat moet ik daarmee",
    "moet mijn kind met iemand praten over de scheiding",
    "mijn zoon van 4 wil niet slapen",
]


@pytest.mark.parametrize("text", PERSON + CALLBACK)
def test_a_wish_for_a_person_is_recognised(text: str) -> None:
    assert wants_person(text)


@pytest.mark.parametrize("text", CALLBACK)
def test_a_callback_wish_is_recognised(text: str) -> None:
    assert wants_callback(text)


@pytest.mark.parametrize("text", PERSON[:4])
def test_a_wish_to_talk_is_not_a_callback(text: str) -> None:
    assert not wants_callback(text)


@pytest.mark.parametrize("text", NOT_A_WISH)
def test_talking_about_talking_is_not_a_wish(text: str) -> None:
    assert not wants_person(text)


def test_a_broken_phrase_names_itself(tmp_path: Path) -> None:
    (tmp_path / "person_wish.yml").write_text(
        'version: 1\nwish: ["medewerker ..."]\ncallback: ["terugbellen"]\n'
    )
    with pytest.raises(ContentError, match="medewerker"):
        person_wish(tmp_path)
