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
