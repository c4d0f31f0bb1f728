"""content/insight_texts.yml: the Dutch texts of the figures' CSV export, the quarterly report,
the dashboard's periods and time buckets and the improvement loop, so staff can edit them; the
names of the codes are in insight.yml (``insight.figures.labels``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.content import ContentError, content_dir, load_current

# Every key each part must have (the lists in the order the CSV shows them).
LISTS = (
    "themes", "topics", "user_types", "outcomes", "staff_outcomes", "callbacks", "channels",
    "municipalities", "age_bands", "referrals", "signals",
)  # fmt: skip
ENOUGH_AFTER = ("bot", "staff")  # "Heb je hier genoeg aan ...?" after the bot, after staff
SECTION_KEYS = frozenset((*LISTS, "waiting", "handling", *(f"enough_{a}" for a in ENOUGH_AFTER)))
CSV_KEYS = frozenset((
    "file_name", "period", "period_from", "period_to", "total", "per", "count", "ratings",
    "rating_average", "score",
))  # fmt: skip
TOTAL_KEYS = frozenset((
    "conversations", "answered_by_bot", "answered_by_bot_share", "anonymous", "handoffs",
    "abandoned", "left_messages", "crisis", "offers_shown", "offer_clicks", "divorce_info",
    "referred", "not_understood", "callback_requests", "callbacks",
))  # fmt: skip
REPORT_KEYS = frozenset((
    "title", "period", "no_data", "questions", "conversations", "conversations_total",
    "themes", "user_types", "channels", "municipalities", "age_bands", "answered_heading",
    "answered", "answered_by_bot", "answered_by_bot_share", "handoffs", "left_messages",
    "abandoned", "anonymous", "referred", "crisis", "staff_outcomes", "referrals", "signals",
    "waiting", "offers_heading", "offers", "offers_shown", "offer_clicks", "divorce_info",
    "satisfaction_heading", "ratings", "rating_count", "rating_average", "score",
    "enough_count", "enough_bot", "enough_staff",
))  # fmt: skip
TIME_KEYS = frozenset(("seconds", "minutes", "up_to", "over"))
# The texts the service fills words into, and those words.
FILLED = {
    ("csv", "file_name"): ("start", "end"),
    ("csv", "per"): ("by",),
    ("csv", "score"): ("score",),
    ("report", "title"): ("quarter",),
    ("report", "period"): ("start", "end"),
    ("report", "score"): ("score",),
    ("times", "seconds"): ("n",),
    ("times", "minutes"): ("n",),
    ("times", "up_to"): ("time",),
    ("times", "over"): ("time",),
}


@dataclass(frozen=True)
class InsightTexts:
    version: int
    csv_header: list[str]  # section; code; label; count
    csv: dict[str, str]
    totals: dict[str, str]  # total -> its label in the CSV
    sections: dict[str, str]  # list of figures -> the CSV's first column
    report: dict[str, str]
    week: str  # {week}, {year}
    months: list[str]  # januari ... december
    times: dict[str, str]  # a time bucket's label: "tot 5 min", "meer dan 60 min"
    topic_choice: str  # {title}: a topic in the improvement loop's list of intents


def _check(loaded: Any, path: Path) -> None:
    assert isinstance(loaded, InsightTexts)
    if len(loaded.csv_header) != 4:
        raise ContentError(f"{path}: csv_header: give the four column names")
    if len(loaded.months) != 12:
        raise ContentError(f"{path}: months: give the twelve months, januari first")
    for name, needed in (
        ("csv", CSV_KEYS),
        ("totals", TOTAL_KEYS),
        ("sections", SECTION_KEYS),
        ("report", REPORT_KEYS),
        ("times", TIME_KEYS),
    ):
        missing = sorted(needed - set(getattr(loaded, name)))
        if missing:
            raise ContentError(f"{path}: {name}.{missing[0]} is missing")
    filled = {**FILLED, ("topic_choice", ""): ("title",), ("week", ""): ("week", "year")}
    for (group, key), words in filled.items():
        text = getattr(loaded, group)[key] if key else getattr(loaded, group)
        try:
            text.format(**dict.fromkeys(words, "x"))
        except (KeyError, IndexError, ValueError) as exc:
            where = f"{group}.{key}" if key else group
            only = ", ".join(f"{{{w}}}" for w in words)
            raise ContentError(f"{path}: {where}: only {only} fit") from exc


def insight_texts(directory: Path | None = None) -> InsightTexts:
    """The file, checked, re-read when staff edit it."""
    return load_current(InsightTexts, (directory or content_dir()) / "insight_texts.yml", _check)
