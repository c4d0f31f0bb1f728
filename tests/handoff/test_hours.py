"""Opening hours: weekdays 9-17 in Amsterdam, closed on Dutch public holidays."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from common.content import ContentError
from handoff.hours import opening_hours

ROOT = Path(__file__).resolve().parents[2]


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


def shipped_with(tmp_path: Path, **changes: object) -> Path:
    """A copy of content/opening_hours.yml in ``tmp_path`` with ``changes``; the folder."""
    spec = yaml.safe_load((ROOT / "content" / "opening_hours.yml").read_text())
    (tmp_path / "opening_hours.yml").write_text(yaml.safe_dump({**spec, **changes}))
    return tmp_path


def test_a_wrong_file_is_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match=r"weekly\.maandag"):
        opening_hours(shipped_with(tmp_path, weekly={"maandag": ["17:00", "09:00"]}))
    said = {"today": "vandaag om {tijd}", "tomorrow": "morgen", "later": "{day}", "unknown": "?"}
    with pytest.raises(ContentError, match=r"next_opening\.today: \{tijd\} is not filled in"):
        opening_hours(shipped_with(tmp_path, next_opening=said))
    with pytest.raises(ContentError, match="twelve months"):
        opening_hours(shipped_with(tmp_path, months=["januari"]))


def test_how_the_next_opening_is_said_comes_from_the_file(tmp_path: Path) -> None:
    said = {
        "today": "vanaf {time} vandaag",
        "tomorrow": "morgen vanaf {time}",
        "later": "op {day} {date} {month}, vanaf {time}",
        "unknown": "zodra we er weer zijn",
    }
    months = [f"maand-{n}" for n in range(1, 13)]
    hours = opening_hours(shipped_with(tmp_path, next_opening=said, months=months))
    assert hours.describe_next(at("2026-11-23T06:00")) == "vanaf 9:00 vandaag"
    assert hours.describe_next(at("2026-12-24T17:00")) == "op maandag 28 maand-12, vanaf 9:00"
    (tmp_path / "never").mkdir()
    never = opening_hours(shipped_with(tmp_path / "never", weekly={}))
    assert never.describe_next(at("2026-11-23T06:00")) == "zo snel mogelijk"
