"""Opening hours: weekdays 9-17 in Amsterdam, closed on Dutch public holidays."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.content import ContentError
from handoff.hours import opening_hours


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_weekday_hours_in_amsterdam_time() -> None:
    hours = opening_hours()
    assert hours.is_open(at("2026-11-23T08:00"))  # Monday 9:00 in Amsterdam
    assert not hours.is_open(at("2026-11-23T07:59"))
    assert not hours.is_open(at("2026-11-23T16:00"))  # 17:00 in Amsterdam
    assert not hours.is_open(at("2026-11-28T10:00"))  # Saturday


def test_public_holidays_are_closed_and_the_next_opening_is_named() -> None:
    hours = opening_hours()
    assert not hours.is_open(at("2026-12-25T10:00"))  # Eerste kerstdag
    assert not hours.is_open(at("2027-04-27T10:00"))  # Koningsdag
    assert hours.describe_next(at("2026-12-24T17:00")) == "maandag 28 december om 9:00"
    assert hours.describe_next(at("2026-11-23T20:00")) == "morgen om 9:00"
    assert hours.describe_next(at("2026-11-23T06:00")) == "vandaag om 9:00"


def test_a_wrong_file_is_refused_with_its_name(tmp_path: Path) -> None:
    (tmp_path / "opening_hours.yml").write_text(
        "version: 1\ntimezone: Europe/Amsterdam\npublic_holidays_country: NL\n"
        "open_on_holidays: []\nextra_closed_days: []\nweekly:\n  maandag: ['17:00', '09:00']\n"
    )
    with pytest.raises(ContentError, match=r"weekly\.maandag"):
        opening_hours(tmp_path)
