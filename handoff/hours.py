"""Opening hours of the I&A team: weekly hours from a content file, minus Dutch public holidays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from common.content import ContentError, check_texts, content_dir, load_current

# The file's own keys for the days of the week (``weekly``), Monday first; they are also the
# day names the next opening is said with.
DAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
NEXT_OPENING = {  # how the next opening is said: its phrases and the words each may fill in
    "today": frozenset({"time"}),
    "tomorrow": frozenset({"time"}),
    "later": frozenset({"day", "date", "month", "time"}),
    "unknown": frozenset(),
}


@dataclass(frozen=True)
class OpeningHoursFile:
    version: int
    timezone: str
    public_holidays_country: str
    open_on_holidays: list[str]
    extra_closed_days: list[str]
    weekly: dict[str, list[str]]
    next_opening: dict[str, str]  # "vandaag om {time}" ... (NEXT_OPENING)
    months: list[str]  # januari ... december, for "maandag 28 december"


def _clock(text: str, where: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ContentError(f"{where}: '{text}' is not a time like 09:00") from None


def _check(loaded: Any, path: Path) -> None:
    assert isinstance(loaded, OpeningHoursFile)
    try:
        ZoneInfo(loaded.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ContentError(f"{path}: timezone '{loaded.timezone}' is unknown") from None
    for day, hours in loaded.weekly.items():
        if day not in DAYS:
            raise ContentError(f"{path}: weekly.{day}: use a Dutch day name ({', '.join(DAYS)})")
        if hours and (
            len(hours) != 2 or _clock(hours[0], path.name) >= _clock(hours[1], path.name)
        ):
            raise ContentError(f"{path}: weekly.{day}: give [opening, closing] like [09:00, 17:00]")
    for day in loaded.extra_closed_days:
        try:
            date.fromisoformat(day)
        except ValueError:
            raise ContentError(f"{path}: extra_closed_days: '{day}' is not a date") from None
    try:
        holidays.country_holidays(loaded.public_holidays_country)
    except NotImplementedError:
        raise ContentError(f"{path}: public_holidays_country is unknown") from None
    if len(loaded.months) != 12:
        raise ContentError(f"{path}: months: give the twelve months, januari first")
    check_texts(loaded.next_opening, NEXT_OPENING, f"{path}: next_opening")


class OpeningHours:
    def __init__(self, spec: OpeningHoursFile) -> None:
        self.zone = ZoneInfo(spec.timezone)
        self._weekly = {
            DAYS.index(day): (time.fromisoformat(h[0]), time.fromisoformat(h[1]))
            for day, h in spec.weekly.items()
            if h
        }
        self._holidays = holidays.country_holidays(spec.public_holidays_country, language="nl")
        self._open_on = set(spec.open_on_holidays)
        self._closed = {date.fromisoformat(d) for d in spec.extra_closed_days}
        self._said, self._months = spec.next_opening, spec.months

    def _hours_on(self, day: date) -> tuple[time, time] | None:
        if day in self._closed:
            return None
        name = self._holidays.get(day)
        if name is not None and not any(part in self._open_on for part in name.split("; ")):
            return None
        return self._weekly.get(day.weekday())

    def hours_on(self, day: date) -> tuple[time, time] | None:
        """Opening and closing time on ``day`` (local), or None when closed all day."""
        return self._hours_on(day)

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)
        hours = self._hours_on(local.date())
        return hours is not None and hours[0] <= local.time() < hours[1]

    def next_opening(self, at: datetime) -> datetime | None:
        """The next moment the team opens (``at`` itself when open); None if never in a year."""
        local = at.astimezone(self.zone)
        for offset in range(366):
            day = local.date() + timedelta(days=offset)
            hours = self._hours_on(day)
            if hours is None:
                continue
            opening = datetime.combine(day, hours[0], self.zone)
            closing = datetime.combine(day, hours[1], self.zone)
            if local < closing:
                return max(opening, local)
        return None

    def describe_next(self, at: datetime) -> str:
        """In the file's words: "vandaag om 9:00", "morgen om 9:00", "maandag 29 december om
        9:00", or "zo snel mogelijk" when no opening is known."""
        nxt = self.next_opening(at)
        if nxt is None:
            return self._said["unknown"]
        today = at.astimezone(self.zone).date()
        clock = f"{nxt.hour}:{nxt.minute:02d}"
        if nxt.date() == today:
            return self._said["today"].format(time=clock)
        if nxt.date() == today + timedelta(days=1):
            return self._said["tomorrow"].format(time=clock)
        return self._said["later"].format(
            day=DAYS[nxt.weekday()], date=nxt.day, month=self._months[nxt.month - 1], time=clock
        )


def opening_hours(directory: Path | None = None) -> OpeningHours:
    spec = load_current(
        OpeningHoursFile, (directory or content_dir()) / "opening_hours.yml", _check
    )
    return _cached(spec)


_last: tuple[OpeningHoursFile, OpeningHours] | None = None


def _cached(spec: OpeningHoursFile) -> OpeningHours:
    """One OpeningHours per loaded file version (building the holiday table costs a little)."""
    global _last
    if _last is None or _last[0] is not spec:
        _last = (spec, OpeningHours(spec))
    return _last[1]
