"""Reads the hourly counters back as the figures the dashboard, the CSV and the report show."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from base.registrar import CHANNELS, HANDLE_BUCKETS, WAIT_BUCKETS, hour_key
from base.web import api_text
from common.content import content_dir, load_current, topics
from common.payload import ENOUGH_ANSWERS
from common.registration import registration_options
from common.safety import NLU_CATEGORY, NLU_LABEL, safety_phrases
from insight.texts import insight_texts

MAX_DAYS = 400  # one request reads at most this many days of counters
TOTALS = (
    "bot_answered",
    "handed_off",
    "abandoned",
    "left_message",
    "crisis_card",
    "offers_shown",
    "offer_clicked",
    "divorce_info",
    "referred",
    "not_understood",
    "callback_requested",
)
CALLBACK_DONE = ("reached", "not_reached")  # a registered call; "retry" keeps it queued


@dataclass(frozen=True)
class InsightLabels:
    """content/insight.yml: Dutch names for the codes in the figures."""

    version: int
    channels: dict[str, str]
    user_types: dict[str, str]
    municipalities: dict[str, str]
    age_bands: dict[str, str]
    outcomes: dict[str, str]
    enough: dict[str, str] = field(default_factory=dict)  # ja, beetje, nee
    callback_outcomes: dict[str, str] = field(default_factory=dict)  # reached, not_reached, retry


def labels() -> InsightLabels:
    return load_current(InsightLabels, content_dir() / "insight.yml")


@dataclass(frozen=True)
class Query:
    start: date  # first day, inclusive (UTC)
    end: date  # last day, inclusive
    by: str = "week"  # "week" or "month"
    channel: str | None = None
    municipality: str | None = None

    def hours(self) -> list[str]:
        days = (self.end - self.start).days + 1
        first = datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)
        return [(first + timedelta(hours=h)).strftime("%Y%m%d%H") for h in range(days * 24)]

    def period_of(self, hour: str) -> tuple[str, str]:
        """The period key and its Dutch label for an hour (YYYYMMDDHH)."""
        day = date(int(hour[:4]), int(hour[4:6]), int(hour[6:8]))
        texts = insight_texts()
        if self.by == "month":
            return f"{day.year}-{day.month:02d}", f"{texts.months[day.month - 1]} {day.year}"
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}", texts.week.format(week=week, year=year)


class QueryError(ValueError):
    """A filter the dashboard cannot use; the message is Dutch, for the user
    (content/api_messages.yml)."""


def parse_query(params: Any, today: date | None = None) -> Query:
    """From the dashboard's query string: from, to (YYYY-MM-DD), by, channel, municipality."""
    today = today or datetime.now(UTC).date()
    try:
        end = date.fromisoformat(params.get("to") or today.isoformat())
        start = date.fromisoformat(
            params.get("from") or (end - timedelta(weeks=8, days=-1)).isoformat()
        )
    except ValueError:
        raise QueryError(api_text("period_dates")) from None
    if start > end:
        raise QueryError(api_text("period_order"))
    if (end - start).days >= MAX_DAYS:
        raise QueryError(api_text("period_length", days=MAX_DAYS))
    by = params.get("by") or "week"
    if by not in ("week", "month"):
        raise QueryError(api_text("period_by"))
    channel = params.get("channel") or None
    if channel is not None and channel not in CHANNELS:
        raise QueryError(api_text("unknown_channel"))
    municipality = params.get("municipality") or None
    if municipality is not None and municipality not in labels().municipalities:
        raise QueryError(api_text("unknown_municipality"))
    return Query(start, end, by, channel, municipality)


def signal_labels() -> dict[str, str]:
    """The safety categories' own labels (content/safety.yml), and the crisis intent's."""
    found = {key: c.label for key, c in safety_phrases().categories.items()}
    return {**found, NLU_CATEGORY: NLU_LABEL}


async def read_counts(redis: Redis, query: Query) -> dict[str, Counter[tuple[str, str]]]:
    """Per hour, the counters that pass the filters, keyed (metric, value)."""
    hours = query.hours()
    async with redis.pipeline(transaction=False) as pipe:
        for hour in hours:
            pipe.hgetall(hour_key(hour))
        rows = await pipe.execute()
    found: dict[str, Counter[tuple[str, str]]] = {}
    for hour, row in zip(hours, rows, strict=True):
        if not row:
            continue
        counts: Counter[tuple[str, str]] = Counter()
        for name, value in row.items():
            channel, municipality, metric, code = str(name).split("|", 3)
            if query.channel and channel != query.channel:
                continue
            if query.municipality and municipality != query.municipality:
                continue
            counts[(metric, code)] += int(value)
            if metric == "conversations":  # the split of conversations by channel and place
                counts[("channel", channel)] += int(value)
                counts[("municipality", municipality)] += int(value)
        found[hour] = counts
    return found


def _percentile(histogram: list[tuple[str, int]], share: float) -> int | None:
    """The bucket bound at which ``share`` of the counted times is reached (an upper bound;
    for the open-ended last bucket, its lower bound)."""
    total = sum(n for _, n in histogram)
    if not total:
        return None
    running = 0
    for label, n in histogram:
        running += n
        if running >= share * total:
            return int(label.lstrip(">"))
    return None


def _times(total: Counter[tuple[str, str]], metric: str, bounds: tuple[int, ...]) -> dict[str, Any]:
    names = [str(b) for b in bounds] + [f">{bounds[-1]}"]
    histogram = [(name, total[(metric, name)]) for name in names]
    count = sum(n for _, n in histogram)
    return {
        "count": count,
        "p50_seconds": _percentile(histogram, 0.5),
        "p90_seconds": _percentile(histogram, 0.9),
        "p99_seconds": _percentile(histogram, 0.99),
        "histogram": [{"label": _time_label(name), "count": n} for name, n in histogram],
    }


def _time_label(name: str) -> str:
    seconds, say = int(name.lstrip(">")), insight_texts().times
    text = (
        say["seconds"].format(n=seconds)
        if seconds < 120
        else say["minutes"].format(n=seconds // 60)
    )
    return say["over" if name.startswith(">") else "up_to"].format(time=text)


def _enough(total: Counter[tuple[str, str]], metric: str, names: dict[str, str]) -> dict[str, Any]:
    """The answers to "Heb je hier genoeg aan ...?", every code (also when none said it)."""
    rows = [
        {"id": code, "label": names.get(code, code), "count": total[(metric, code)]}
        for code in ENOUGH_ANSWERS
    ]
    return {"count": sum(r["count"] for r in rows), "distribution": rows}


def _listed(
    total: Counter[tuple[str, str]], metric: str, names: dict[str, str]
) -> list[dict[str, Any]]:
    found = [(code, n) for (m, code), n in total.items() if m == metric and n]
    found.sort(key=lambda item: (-item[1], item[0]))
    return [{"id": code, "label": names.get(code, code), "count": n} for code, n in found]


async def figures(redis: Redis, query: Query) -> dict[str, Any]:
    """Everything the dashboard shows for one period and filter (docs/INSIGHT.md)."""
    per_hour = await read_counts(redis, query)
    total: Counter[tuple[str, str]] = Counter()
    series: dict[str, dict[str, Any]] = {}
    for hour in query.hours():  # every period, also the empty ones, in order
        key, label = query.period_of(hour)
        row = series.setdefault(
            key,
            {
                "period": key,
                "label": label,
                "conversations": 0,
                "answered_by_bot": 0,
                "handoffs": 0,
                "abandoned": 0,
            },
        )
        counts = per_hour.get(hour)
        if counts is None:
            continue
        total.update(counts)
        row["conversations"] += counts[("conversations", "all")]
        row["answered_by_bot"] += counts[("outcome", "bot_answered")]
        row["handoffs"] += counts[("outcome", "handed_off")]
        row["abandoned"] += counts[("outcome", "abandoned")]
    names = labels()
    options = registration_options()
    conversations = total[("conversations", "all")]
    answered = total[("outcome", "bot_answered")]
    ratings = [(n, total[("rating", str(n))]) for n in range(1, 6)]
    rated = sum(c for _, c in ratings)
    topic_titles = {t.id: t.title for t in topics().values()}
    totals = {name: total[("outcome", name)] for name in TOTALS}
    return {
        "period": {"from": query.start.isoformat(), "to": query.end.isoformat(), "by": query.by},
        "filters": {"channel": query.channel, "municipality": query.municipality},
        "options": {
            "channels": [{"id": k, "label": v} for k, v in names.channels.items()],
            "municipalities": [{"id": k, "label": v} for k, v in names.municipalities.items()],
        },
        "totals": {
            "conversations": conversations,
            "answered_by_bot": answered,
            "answered_by_bot_share": round(answered / conversations, 3) if conversations else None,
            "anonymous": total[("anonymous", "yes")],
            "handoffs": totals["handed_off"],
            "abandoned": totals["abandoned"],
            "left_messages": totals["left_message"],
            "crisis": totals["crisis_card"],
            "offers_shown": totals["offers_shown"],
            "offer_clicks": totals["offer_clicked"],
            "divorce_info": totals["divorce_info"],
            "referred": totals["referred"],
            "not_understood": totals["not_understood"],
            "callback_requests": totals["callback_requested"],
            "callbacks": sum(total[("callback", code)] for code in CALLBACK_DONE),
        },
        "series": list(series.values()),
        "themes": _listed(total, "theme", options.topics),
        "topics": _listed(total, "topic", topic_titles)[:15],
        "user_types": _listed(total, "user_type", names.user_types),
        "outcomes": _listed(total, "outcome", names.outcomes),
        "staff_outcomes": _listed(
            total, "staff_outcome", {k: o.label for k, o in options.outcomes.items()}
        ),
        "callbacks": _listed(total, "callback", names.callback_outcomes),
        "channels": _listed(total, "channel", names.channels),
        "municipalities": _listed(total, "municipality", names.municipalities),
        "age_bands": _listed(total, "age_band", names.age_bands),
        "referrals": _listed(total, "referral", options.referrals),
        "signals": _listed(total, "signal", signal_labels()),
        "waiting": _times(total, "wait", WAIT_BUCKETS),
        "handling": _times(total, "handle", HANDLE_BUCKETS),
        "enough": {
            "bot": _enough(total, "enough_bot", names.enough),
            "staff": _enough(total, "enough_staff", names.enough),
        },
        "ratings": {
            "count": rated,
            "average": round(sum(n * c for n, c in ratings) / rated, 2) if rated else None,
            "distribution": [{"score": n, "count": c} for n, c in ratings],
        },
    }
