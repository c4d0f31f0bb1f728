"""Dutch phone numbers: which ones a parent can be called back on, and masking them in text."""

from __future__ import annotations

import pytest

from common.phone import for_display, mask, parse


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("0612345678", "0612345678"),
        ("06-12345678", "0612345678"),
        ("06 1234 5678", "0612345678"),
        ("06.12.34.56.78", "0612345678"),
        ("+31 6 12345678", "0612345678"),
        ("+31612345678", "0612345678"),
        ("+31 (0)6 1234 5678", "0612345678"),
        ("0031 6 12345678", "0612345678"),
        ("023-5123456", "0235123456"),
        ("(023) 512 34 56", "0235123456"),
        ("020 123 4567", "0201234567"),
        ("0251 123456", "0251123456"),
        ("+31 23 512 3456", "0235123456"),
        ("085 123 4567", "0851234567"),
        ("  0612345678  ", "0612345678"),
    ],
)
def test_dutch_mobile_and_landline_numbers_are_accepted(typed: str, number: str) -> None:
    assert parse(typed) == number


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "06",
        "061234567",  # one digit short
        "06123456789",  # one digit too many
        "0800-1234",  # free service number
        "0900 1234567",  # paid service number
        "0661234567",  # pager range
        "0671234567",  # data range
        "0971234567",  # machine-to-machine range
        "+32 470 12 34 56",  # Belgium
        "0049 151 12345678",  # Germany
        "612345678",  # without the 0
        "bel me maar",
        "06-1234-567a",
        "112",
        "0612345678 of 0687654321",  # two numbers: which one?
    ],
)
def test_other_input_is_refused(typed: str) -> None:
    assert parse(typed) is None


def test_staff_read_the_number_in_groups() -> None:
    assert for_display("0612345678") == "06 1234 5678"
    assert for_display("0235123456") == "023 512 3456"


def test_numbers_in_a_message_are_masked_and_nothing_else() -> None:
    text = "Kunt u mij terugbellen op 06-12345678 of +31 23 512 3456? Mijn zoon is 6, sinds 2019."
    masked = mask(text)
    assert masked == (
        "Kunt u mij terugbellen op [telefoonnummer] of [telefoonnummer]? "
        "Mijn zoon is 6, sinds 2019."
    )
    assert not any(ch.isdigit() for ch in masked.split("?")[0])
