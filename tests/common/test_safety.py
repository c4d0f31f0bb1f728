"""The safety check: the phrase language, the content files, and the held-out test set.

``tests/safety/messages.yml`` was written apart from ``content/safety.yml`` (by someone who never
saw the phrase list), so these figures measure the list, not its author's memory.
"""

from __future__ import annotations

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
