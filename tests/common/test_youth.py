"""Youth mode content: the file is valid, the menu points at topics with a youth answer, and
the markers tell a youth's words from a parent's."""

from __future__ import annotations

from common.content import topics
from common.registration import age_band, from_custom, registration_options, tag
from common.youth import sounds_professional, sounds_young, youth_content


def test_the_youth_menu_points_at_topics_with_a_youth_answer() -> None:
    content = youth_content()
    assert 5 <= len(content.menu) <= 10  # a menu, not a wall of buttons
    known = topics()
    for item in content.menu:
        youth = known[item.topic].youth
        assert youth is not None and len(youth.answer.split()) <= 80
        assert "Kindertelefoon" in youth.see_a_person or "medewerker" in youth.see_a_person


def test_the_anonymity_answers_say_what_is_really_stored() -> None:
    answers = youth_content().answers
    assert "30 dagen" in answers["anoniem"]  # CJG_RETENTION_SECONDS and TRACKER_TTL_SECONDS
    assert "gevaar" in answers["ouders_weten"] and "Veilig Thuis" in answers["ouders_weten"]
    for text in answers.values():
        assert "naam" not in text.lower() or "hoeft" in text.lower()  # never asks for a name


def test_a_youths_words_switch_to_youth_mode_and_a_parents_do_not() -> None:
    assert sounds_young("ik ben 14 jaar en word gepest")
    assert sounds_young("mijn ouders maken altijd ruzie")
    assert sounds_young("ik zit in de brugklas en heb stress")
    assert not sounds_young("mijn dochter van 14 wordt gepest")
    assert not sounds_young("hoe leer ik mijn zoon zindelijk worden")


def test_every_bot_topic_counts_under_one_theme() -> None:
    options = registration_options()
    unmapped = [t for t in topics() if options.theme_of(t) == "anders"]
    assert unmapped == []


def test_registration_notes_carry_codes_only() -> None:
    note = tag(outcome="topic_answered", topic="slapen", municipality=None)
    assert from_custom(note) == {"outcome": "topic_answered", "topic": "slapen"}
    assert from_custom(
        {"cjg_registration": {"outcome": "topic_answered", "topic": "hallo daar"}}
    ) == {"outcome": "topic_answered"}  # free text is dropped
    assert from_custom({"cjg_registration": {"outcome": "made_up"}}) is None
    assert [age_band(a) for a in (0.5, 3, 4.5, 9, 14, 19)] == [
        "0-2",
        "2-4",
        "2-4",
        "5-12",
        "12-16",
        "16-23",
    ]


def test_a_professional_is_recognised_for_the_figures() -> None:
    assert sounds_professional("ik ben leerkracht en een leerling van mij is erg druk")
    assert sounds_professional("ik werk op een bso en een kind bijt steeds")
    assert not sounds_professional("een jongen in mijn klas pest mij")  # a youth
    assert not sounds_professional("mijn dochter van 6 slaapt slecht")  # a parent
