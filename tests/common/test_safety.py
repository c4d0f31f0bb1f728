"""The safety check: the phrase language, the content files, and the held-out test set.

``tests/safety/messages.yml`` was written apart from ``content/safety.yml`` (by someone who never
saw the phrase list), so these figures measure the list, not its author's memory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from common.content import ContentError
from common.safety import (
    Category,
    SafetyPhrases,
    check_references,
    check_text,
    compile_phrase,
    normalise,
    safety_phrases,
)

HELD_OUT = Path(__file__).resolve().parents[1] / "safety" / "messages.yml"
# Issue #6 asks for recall >= 0.97: tests/bot/test_safety_nlu.py enforces it for the phrase list
# and the crisis intent together. The phrase list alone reaches less (docs/PERFORMANCE.md); this
# guard keeps what it reaches.
TARGET_RECALL = 0.97
MIN_RECALL = 0.79
MAX_FALSE_ALARMS = 0.03


def phrases(*patterns: str, exceptions: tuple[str, ...] = ()) -> SafetyPhrases:
    return SafetyPhrases(
        version=1,
        categories={"risk": Category("Risico", ["alarm"], list(patterns))},
        exceptions=list(exceptions),
    )


def test_normalising_ignores_case_accents_and_punctuation() -> None:
    assert normalise("Ik wíl er NIET méér zijn!!") == ["ik", "wil", "er", "niet", "meer", "zijn"]
    assert normalise("m'n vader...") == ["m", "n", "vader"]


def test_wildcards_alternatives_and_gaps() -> None:
    rules = phrases("zelfmoord*", "vader ... slaat|schopt", "wil dood")
    assert check_text("ik heb zelfmoordgedachten", rules)
    assert check_text("mijn vader die gedronken heeft schopt mij", rules)
    assert not check_text("mijn vader is heel lang weg en iedereen slaat", rules)  # gap > 4
    assert check_text("ik wil dood", rules)
    assert not check_text("ik wil een dode mus begraven", rules)  # whole words only


def test_exceptions_take_their_words_away() -> None:
    rules = phrases("ga dood", exceptions=("dood van het lachen",))
    assert not check_text("ik ga dood van het lachen", rules)
    assert check_text("ik ga dood, echt", rules)
    assert check_text("ik ga dood van het lachen maar ook ik ga dood", rules)


@pytest.mark.parametrize("broken", ["", "...", "... dood", "dood ...", "a|", "*"])
def test_broken_phrases_are_refused_with_the_phrase_named(broken: str) -> None:
    with pytest.raises(ContentError):
        compile_phrase(broken)


def test_the_content_files_are_valid_and_consistent() -> None:
    loaded = safety_phrases()
    assert {"suicide", "self_harm", "abuse_violence", "sexual_abuse", "neglect"} <= set(
        loaded.categories
    )
    check_references()


def test_the_held_out_set_has_the_required_size() -> None:
    data = yaml.safe_load(HELD_OUT.read_text())
    assert sum(len(v) for v in data["risk"].values()) >= 60
    assert len(data["ordinary"]) + len(data["near_miss"]) >= 150
    for must in (
        "mijn peuter slaat als hij boos is",
        "bang in het donker",
        "ik ga dood van het lachen",
    ):
        assert must in data["near_miss"]


def test_recall_and_false_alarms_on_the_held_out_set() -> None:
    data = yaml.safe_load(HELD_OUT.read_text())
    rules = safety_phrases()
    risk = [text for texts in data["risk"].values() for text in texts]
    ordinary = [*data["ordinary"], *data["near_miss"]]
    missed = [text for text in risk if check_text(text, rules) is None]
    alarms = [text for text in ordinary if check_text(text, rules) is not None]
    recall = 1 - len(missed) / len(risk)
    false_alarms = len(alarms) / len(ordinary)
    print(f"safety: recall {recall:.3f} ({len(risk)} risk, target {TARGET_RECALL}), "
          f"false alarms {false_alarms:.3f} ({len(ordinary)} ordinary)")  # fmt: skip
    assert recall >= MIN_RECALL, f"missed {len(missed)} of {len(risk)}"  # never print the set
    assert false_alarms <= MAX_FALSE_ALARMS, f"{len(alarms)} false alarms"


def _inside_words(text: str, mark: str) -> str:
    """``mark`` in the middle of every word of two letters or more."""
    return " ".join(w[: len(w) // 2] + mark + w[len(w) // 2 :] for w in text.split(" "))


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# Ways to hide a phrase from a naive check (issue #13): invisible format characters inside the
# words, fullwidth letters, odd spaces between the words.
DISGUISES: dict[str, Callable[[str], str]] = {
    "zero-width space": lambda t: _inside_words(t, "\u200b"),
    "zero-width joiner": lambda t: _inside_words(t, "\u200d"),
    "zero-width non-joiner": lambda t: _inside_words(t, "\u200c"),
    "word joiner": lambda t: _inside_words(t, "\u2060"),
    "byte-order mark": lambda t: _inside_words(t, "\ufeff"),
    "soft hyphen": lambda t: _inside_words(t, "\u00ad"),
    "direction marks": lambda t: _inside_words(t, "\u200e\u202e"),
    "fullwidth letters": _fullwidth,
    "odd spaces": lambda t: t.replace(" ", "\u00a0\u2003\u3000"),
    "everything": lambda t: _fullwidth(_inside_words(t, "\u00ad\u200b")).replace(" ", "\u2009"),
}


@pytest.mark.parametrize("disguise", sorted(DISGUISES))
def test_disguised_risk_messages_fire_as_the_plain_ones_do(disguise: str) -> None:
    data = yaml.safe_load(HELD_OUT.read_text())
    rules = safety_phrases()
    risk = [text for texts in data["risk"].values() for text in texts]
    plain = {text: check_text(text, rules) for text in risk}
    hide = DISGUISES[disguise]
    differ = [text for text in risk if check_text(hide(text), rules) != plain[text]]
    fired = sum(1 for s in plain.values() if s is not None)
    print(f"safety, {disguise}: {fired - len(differ)} of {fired} fire as the plain text")
    assert not differ, f"{len(differ)} of {len(risk)} differ"  # never print the set


def test_the_normalised_words_ignore_invisible_characters() -> None:
    assert normalise("ik wil d\u200bood") == ["ik", "wil", "dood"]
    assert normalise("zelf\u00admoord") == ["zelfmoord"]
    assert normalise("\uff44\uff4f\uff4f\uff44") == ["dood"]


# Figures of speech, jokes, games and a young child's angry words reported by a parent: found by
# trying the product as a new user would. None of these may show the crisis card.
FIGURES_OF_SPEECH = [
    "ik zou hem wel kunnen wurgen, hij laat alles slingeren",
    "mijn zoon van 10 gaat zijn zus vermoorden als ze nog een keer aan zijn lego komt",
    "ik wil niet meer elk weekend naar mijn vader",
    "de buren hebben een baby die veel huilt, hoe zeg ik dat het me stoort",
    "mijn kind gilt als de buren hun hond uitlaten",
    "ik ga dood van het lachen",
    "we lagen dood van het lachen",
    "ik schrik me dood",
    "ik schrok me dood toen de deurbel ging",
    "ik vermoord hem als hij mijn chips opeet",
    "ik vermoord je als je mijn laatste koekje opeet",
    "als je mijn chocola opeet vermoord ik je",
    "ik maak je af als je de serie spoilt",
    "mijn zoon van 5 roept 'ik maak je dood' als hij boos is",
    "mijn dochter van 4 zegt dat ze me dood gaat maken",
    "mijn dochter van 3 roept ik maak jou dood",
    "mijn zoon van 6 schreeuwt ik vermoord je als hij zijn zin niet krijgt",
    "mijn zoon van 5 jaar zegt ik sla je dood",
    "mijn zoon van 6 zegt dat hij me gaat vermoorden",
    "mijn 4-jarige roept ik ga je vermoorden",
    "mijn peuter roept ik ga je dood maken",
    "mijn kleuter zegt dat hij me dood gaat maken",
    "hij schiet de hele dag mensen dood in fortnite",
    "hij schiet me steeds dood in fortnite",
    "in fortnite schiet hij iedereen dood",
    "hij vermoordt de hele dag mensen in fortnite",
    "mijn zoon zegt dat hij hem in fortnite gaat vermoorden",
    "mijn dochter zegt dat ze haar broer gaat vermoorden als hij weer in haar kamer komt",
    "mijn telefoon is dood",
    "mijn telefoon gaat dood",
    "ik maak me dood ongerust",
    "doodmoe",
    "ik ben doodmoe van de nachten",
    "mijn puber maakt me gek",
    "hoe praat ik met mijn dochter over loverboys",
    "wat is een loverboy precies",
]

# Real threats, and what a child says about dying or about an adult: these must still fire,
# next to and despite the exceptions above.
REAL_THREATS = [
    "mijn vader zegt dat hij me vermoordt als ik nog een keer uit mijn kamer kom",
    "ze zeggen dat ze hem gaan steken na school",
    "mijn dochter van 13 is weggelopen en ze reageert niet op haar telefoon",
    "bij de buren gilt een kind al een uur en ik hoor klappen",
    "ik wil niet meer naar school, ik wil dood",
    "mijn vader zegt dat hij me dood maakt",
    "hij dreigt ons te vermoorden",
    "mijn ex zegt dat hij me vermoordt",
    "mijn man zegt ik maak je dood",
    "mijn vader roept ik maak je dood",
    "hij schreeuwt ik vermoord je",
    "hij zegt ik vermoord je als je het vertelt",
    "ik maak je dood als je het vertelt zegt mijn stiefvader",
    "mijn vriend zegt dat hij me vermoordt als ik weg ga",
    "mijn ex dreigt me dood te schieten",
    "hij heeft gezegd dat hij me neerschiet",
    "mijn zoon van 7 zegt dat zijn vader hem gaat vermoorden",
    "mijn zoon van 5 roept ik maak je dood en mijn man zegt dat hij me vermoordt",
    "mijn dochter van 5 zegt papa slaat me dood",
    "mijn zoon van 7 zegt ik wil dood",
    "mijn zoon van 7 zegt dat hij dood wil",
    "mijn dochter van 7 zegt dat ze me haat en dood wil",
    "mijn zoon van 6 zegt ik wil niet meer leven",
]

# Sexual exploitation and grooming of a teenager: the loverboy pattern, sextortion, an adult
# online asking a child for nude pictures or to meet.
EXPLOITATION = [
    "mijn dochter van 15 heeft een vriendje van 22 die haar dure cadeaus geeft",
    "mijn dochter heeft een oudere vriend met veel geld en ze moet voor hem werken",
    "ze krijgt dure kleren en een telefoon van een jongen van 23",
    "haar vriendje geeft haar geld en vraagt of ze met zijn vrienden wil slapen",
    "hij vraagt of ze seks wil hebben met zijn vrienden",
    "ze moet met zijn vrienden naar bed",
    "mijn vriend vraagt of ik met zijn vrienden naar bed wil",
    "haar vriend neemt haar mee naar hotels",
    "haar vriendje brengt haar naar hotels waar ze met mannen moet",
    "hij neemt haar mee naar een hotel en daar zijn andere mannen",
    "ze zegt dat ze voor hem moet werken",
    "ze moet voor hem werken",
    "hij laat haar slapen met andere mannen voor geld",
    "ze wordt door haar vriendje verkocht aan andere mannen",
    "hij zegt dat ze schulden bij hem heeft en dat ze die moet terugbetalen met seks",
    "ik denk dat mijn dochter in handen van een loverboy is",
    "hij dreigt mijn naaktfoto's te verspreiden",
    "hij heeft naaktfoto's van mij en wil geld",
    "hij heeft mijn nudes en zegt dat hij ze naar iedereen stuurt",
    "een man vraagt mijn zoon van 12 om naaktfoto's",
    "iemand op snapchat vraagt mijn dochter van 12 om nudes",
    "een man op instagram vraagt foto's van mijn lichaam",
    "een man wil dat mijn dochter haar camera aanzet en zich uitkleedt",
    "mijn dochter van 14 chat met een man die wil afspreken",
    "een onbekende man op tiktok wil mijn zoon van 11 ontmoeten",
    "een man wil met mijn dochter van 13 afspreken",
]

# Everyday messages next to the new exploitation phrases.
ORDINARY = [
    "mijn zoon mag met zijn vrienden slapen in de tent",
    "ze willen met zijn vrienden in de tent slapen",
    "mijn puber wil met zijn vrienden slapen",
    "mijn man neemt me mee naar een hotel voor ons jubileum",
    "we gaan met de kinderen naar een hotel in Frankrijk",
    "mijn zoon krijgt te veel cadeaus van opa en oma",
    "haar oudere zus geeft haar steeds geld",
    "mijn dochter van 13 wil een nieuwe telefoon voor haar verjaardag",
    "mijn man moet voor zijn baas veel werken",
    "de school vraagt om een foto van mijn kind",
    "mijn dochter chat met een jongen uit haar klas en wil afspreken",
    "mijn dochter van 17 heeft een vriend van 19",
    "ik heb schulden en slaap slecht",
    "mijn dochter wil met camera videobellen met oma",
]


@pytest.mark.parametrize("text", FIGURES_OF_SPEECH)
def test_figures_of_speech_and_a_young_childs_angry_words_do_not_fire(text: str) -> None:
    assert check_text(text, safety_phrases()) is None


@pytest.mark.parametrize("text", REAL_THREATS)
def test_real_threats_still_fire(text: str) -> None:
    assert check_text(text, safety_phrases()) is not None


@pytest.mark.parametrize("text", EXPLOITATION)
def test_sexual_exploitation_and_grooming_fire_as_sexual_abuse(text: str) -> None:
    signal = check_text(text, safety_phrases())
    assert signal is not None and signal.category == "sexual_abuse", signal


@pytest.mark.parametrize("text", ORDINARY)
def test_everyday_messages_near_the_exploitation_phrases_do_not_fire(text: str) -> None:
    assert check_text(text, safety_phrases()) is None


def test_a_childs_words_are_an_exception_only_for_a_young_child_saying_them() -> None:
    rules = safety_phrases()
    assert check_text("mijn zoon van 5 roept ik maak je dood", rules) is None
    for text in (
        "mijn zoon van 15 roept ik maak je dood",  # not a young child
        "mijn vader zegt ik maak je dood",  # an adult
        "mijn zoon van 5 en mijn vader zegt ik maak je dood",  # the father says it
        "mijn dochter van 6 zegt dat ze dood wil",  # her own wish to die
    ):
        assert check_text(text, rules) is not None, text
