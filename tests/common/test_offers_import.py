from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.offers import catalogue
from common.offers_import import ImportFailed, read_export, write_catalogue

HEADER = "id,title,theme,audience,age_min,age_max,format,description,link,topics\n"
GOOD = 'rots,Rots & Water,weerbaarheid,kind,8,12,training,"Sterker staan.",https://samenopgroeien.nu,gepest_worden\n'


def export(tmp_path: Path, text: str, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_csv_is_imported_and_readable(tmp_path: Path) -> None:
    path = export(
        tmp_path, HEADER + GOOD + GOOD.replace("rots,", "kies,").replace("weerbaarheid", "scheiden")
    )
    offers = read_export(path)
    target = tmp_path / "offers.yml"
    write_catalogue(offers, path.name, target)

    loaded = catalogue(target).offers
    assert [o.id for o in loaded] == ["rots", "kies"]
    assert loaded[0].age_min == 8 and loaded[0].topics == ["gepest_worden"]


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_loaded(tmp_path: Path) -> None:
    rows = [
        GOOD,
        GOOD.replace("rots,", "a,").replace("weerbaarheid", "sport"),
        GOOD.replace("rots,", "b,").replace(",8,12,", ",12,8,"),
        GOOD.replace("rots,", "c,").replace("https://", "http://"),
        GOOD.replace("rots,", "d,").replace(",8,", ",acht,"),
        GOOD,
    ]
    path = export(tmp_path, HEADER + "".join(rows))

    with pytest.raises(ImportFailed) as info:
        read_export(path)

    problems = info.value.problems
    assert len(problems) == 5
    assert problems[0].startswith("line 3: theme: 'sport' is not one of")
    assert problems[1] == "line 4: age_min is above age_max"
    assert problems[2] == "line 5: link must start with https://"
    assert problems[3].startswith("line 6: age_min")
    assert problems[4] == "line 7: id 'rots' was already used on line 2"


def test_missing_columns_are_reported_on_line_1(tmp_path: Path) -> None:
    path = export(tmp_path, "id,title\nx,y\n")
    with pytest.raises(ImportFailed, match="missing column"):
        read_export(path)
    with pytest.raises(ImportFailed) as info:
        read_export(path)
    assert info.value.problems[0].startswith("line 1: missing column(s): theme")


def test_json_export_reports_the_line_of_the_bad_item(tmp_path: Path) -> None:
    good = {"id": "x", "title": "X", "theme": "scheiden", "audience": "ouder", "age_min": None,
            "age_max": None, "format": "webinar", "description": "d",
            "link": "https://samenopgroeien.nu"}  # fmt: skip
    bad = {**good, "id": "y", "format": "podcast"}
    path = export(tmp_path, json.dumps({"offers": [good, bad]}, indent=2), "export.json")

    with pytest.raises(ImportFailed) as info:
        read_export(path)

    (problem,) = info.value.problems
    assert problem.startswith("line 14: format: 'podcast' is not one of")


def test_broken_json_binary_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="not valid JSON"):
        read_export(export(tmp_path, '{"offers": [', "x.json"))
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ImportFailed, match="not UTF-8"):
        read_export(binary)
    with pytest.raises(ImportFailed, match="no offers"):
        read_export(export(tmp_path, HEADER))


def test_a_failed_import_leaves_the_catalogue_untouched(tmp_path: Path) -> None:
    target = tmp_path / "offers.yml"
    write_catalogue(read_export(export(tmp_path, HEADER + GOOD)), "first.csv", target)
    before = target.read_text()
    with pytest.raises(ImportFailed):
        read_export(export(tmp_path, HEADER + GOOD.replace("kind", "baby")))
    assert target.read_text() == before
