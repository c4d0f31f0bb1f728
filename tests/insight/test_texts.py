"""The words of the CSV and the quarterly report come from content/insight_texts.yml, checked
so an edit that would break the export is refused with the file and the key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from common.content import ContentError
from insight.texts import LISTS, REPORT_KEYS, TOTAL_KEYS, insight_texts
from insight.web_insight import render_report, to_csv

ROOT = Path(__file__).resolve().parents[2]
EMPTY = {
    "period": {"from": "2026-10-01", "to": "2026-12-31", "by": "month"},
    "totals": {**dict.fromkeys(TOTAL_KEYS, 0), "answered_by_bot_share": None},
    "series": [],
    **{section: [] for section in LISTS},
    **{s: {"count": 0, "histogram": [], **dict.fromkeys(("p50_seconds", "p90_seconds",
       "p99_seconds"))} for s in ("waiting", "handling")},
    "ratings": {"count": 0, "average": None, "distribution": [{"score": 5, "count": 2}]},
    "enough": {a: {"count": 0, "distribution": []} for a in ("bot", "staff")},
}  # fmt: skip


def edited(tmp_path: Path, change: dict[str, dict[str, str]]) -> Path:
    """A copy of content/insight_texts.yml with ``change`` applied (None: the key removed)."""
    raw = yaml.safe_load((ROOT / "content" / "insight_texts.yml").read_text())
    for part, values in change.items():
        for key, value in values.items():
            if value is None:
                del raw[part][key]
            else:
                raw[part][key] = value
    (tmp_path / "insight_texts.yml").write_text(yaml.safe_dump(raw, allow_unicode=True))
    return tmp_path


def test_the_shipped_texts_are_complete() -> None:
    texts = insight_texts()
    assert set(texts.report) == REPORT_KEYS and texts.csv_header[0] == "onderdeel"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"report": {"no_data": None}}, "report.no_data is missing"),
        ({"sections": {"signals": None}}, "sections.signals is missing"),
        ({"csv": {"score": "Cijfer {cijfer}"}}, r"csv.score: only \{score\} fit"),
        ({"report": {"title": "Rapport {kwartaal}"}}, r"report.title: only \{quarter\} fit"),
        ({"times": {"over": "meer dan {tijd}"}}, r"times.over: only \{time\} fit"),
    ],
)
def test_an_edit_that_would_break_the_export_is_refused(
    tmp_path: Path, change: dict[str, dict[str, str]], reason: str
) -> None:
    with pytest.raises(ContentError, match=reason):
        insight_texts(edited(tmp_path, change))


def test_staff_edits_show_in_the_csv_and_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    edited(content, {"csv": {"score": "Cijfer {score}"}, "report": {"no_data": "Niets."}})
    monkeypatch.setenv("CJG_CONTENT_DIR", str(content))
    assert "tevredenheid;5;Cijfer 5;2" in to_csv(EMPTY).splitlines()
    assert "<td colspan='2'>Niets.</td>" in render_report("Rapport", EMPTY)
