"""The dashboard's filters and periods (insight/figures.py): what a query string may ask, the
Dutch answer when it cannot be used, and how hours group into weeks and months. The figures
themselves are tested with the registrar that counts them (tests/insight/test_registrar.py)."""

from __future__ import annotations

from datetime import date

import pytest

from base.registrar import CHANNELS
from insight.figures import MAX_DAYS, Query, QueryError, labels, parse_query

TODAY = date(2026, 12, 4)


def test_without_filters_the_last_eight_weeks_by_week() -> None:
    query = parse_query({}, today=TODAY)
    assert query == Query(date(2026, 10, 10), TODAY, "week", None, None)
    assert (query.end - query.start).days + 1 == 8 * 7


def test_a_channel_and_a_municipality_of_the_lists_are_kept() -> None:
    channel, municipality = sorted(CHANNELS)[0], sorted(labels().municipalities)[0]
    params = {"from": "2026-01-01", "to": "2026-03-31", "by": "month"}
    query = parse_query(params | {"channel": channel, "municipality": municipality})
    assert (query.start, query.end, query.by) == (date(2026, 1, 1), date(2026, 3, 31), "month")
    assert (query.channel, query.municipality) == (channel, municipality)


@pytest.mark.parametrize(
    ("params", "told"),
    [
        ({"to": "gisteren"}, "als datums"),
        ({"from": "2026-12-05", "to": "2026-12-04"}, "begindatum ligt na de einddatum"),
        ({"from": "2025-01-01", "to": "2026-12-04"}, f"hoogstens {MAX_DAYS} dagen"),
        ({"by": "dag"}, "per week of per maand"),
        ({"channel": "fax"}, "Onbekend kanaal"),
        ({"municipality": "atlantis"}, "Onbekende gemeente"),
    ],
)
def test_a_filter_the_dashboard_cannot_use_is_refused_in_dutch(
    params: dict[str, str], told: str
) -> None:
    with pytest.raises(QueryError, match=told):
        parse_query(params, today=TODAY)


def test_hours_group_into_iso_weeks_and_months_with_dutch_labels() -> None:
    query = Query(date(2026, 12, 28), date(2027, 1, 3))
    hours = query.hours()
    assert (len(hours), hours[0], hours[-1]) == (7 * 24, "2026122800", "2027010323")
    assert query.period_of("2027010312") == ("2026-W53", "week 53 (2026)")  # ISO: still 2026
    by_month = Query(query.start, query.end, "month")
    assert by_month.period_of("2027010312") == ("2027-01", "januari 2027")
    assert by_month.period_of("2026122800") == ("2026-12", "december 2026")
