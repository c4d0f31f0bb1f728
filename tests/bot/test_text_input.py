from __future__ import annotations

import pytest

from bot.text_input import InputRejected, clean_text


def test_control_characters_and_lone_surrogates_are_removed() -> None:
    assert clean_text(" hal\x00lo\x1b \ud800daar\n", 100) == "hallo daar"


def test_tabs_newlines_and_dutch_letters_stay() -> None:
    assert clean_text("één\tcafé\nnaïef", 100) == "één\tcafé\nnaïef"


@pytest.mark.parametrize(("text", "code"), [("", "empty_message"), (" \x07 ", "empty_message"),
                                            ("x" * 11, "message_too_long")])  # fmt: skip
def test_rejections_carry_a_code(text: str, code: str) -> None:
    with pytest.raises(InputRejected) as info:
        clean_text(text, 10)
    assert info.value.code == code


def test_invisible_characters_and_compatibility_forms_are_normalised() -> None:
    assert clean_text("ik wil d\u200bood", 100) == "ik wil dood"
    assert clean_text("\ufeffzelf\u00admoord\u2060", 100) == "zelfmoord"
    assert clean_text("\u202eik \u200d\u200cwil", 100) == "ik wil"
    assert clean_text("\uff49\uff4b \uff57\uff49\uff4c", 100) == "ik wil"  # fullwidth


def test_odd_whitespace_becomes_plain_spaces_and_newlines() -> None:
    assert clean_text("ik\u00a0wil\u2003\u3000dood", 100) == "ik wil dood"
    assert clean_text("a\r\nb\u2028c\rd", 100) == "a\nb\nc\nd"


def test_only_invisible_characters_is_an_empty_message() -> None:
    with pytest.raises(InputRejected) as info:
        clean_text("\u200b\u00ad\ufeff", 10)
    assert info.value.code == "empty_message"
