"""Import of a catalogue export (CSV or JSON) into content/offers.yml: all rows or nothing.

Every row is checked against the same schema as the catalogue. With any bad row nothing is
written, and each problem is reported with its line and reason, so staff can fix the export.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from common.content import ContentError
from common.offers import Offer, catalogue_path, parse_offer

COLUMNS = (
    "id",
    "title",
    "theme",
    "audience",
    "age_min",
    "age_max",
    "format",
    "description",
    "link",
)
OPTIONAL_COLUMNS = ("topics",)


class ImportFailed(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _age(value: str) -> int | str | None:
    value = value.strip()
    if not value:
        return None
    return int(value) if value.isdigit() else value  # a non-number fails the schema check


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(
        io.StringIO(text), delimiter=";" if text.count(";") > text.count(",") else ","
    )
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        detail = "; ".join(
            part for part in (
                f"missing column(s): {', '.join(missing)}" if missing else "",
                f"unknown column(s): {', '.join(unknown)}" if unknown else "",
            ) if part
        )  # fmt: skip
        raise ImportFailed([f"line 1: {detail}"])
    for row in reader:
        clean = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        data: dict[str, Any] = {c: clean[c] for c in COLUMNS}
        data["age_min"], data["age_max"] = _age(clean["age_min"]), _age(clean["age_max"])
        data["topics"] = [t.strip() for t in clean.get("topics", "").split("|") if t.strip()]
        yield reader.line_num, data


def _json_rows(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFailed([f"line {exc.lineno}: not valid JSON ({exc.msg})"]) from None
    items = loaded.get("offers") if isinstance(loaded, dict) else loaded
    if not isinstance(items, list):
        raise ImportFailed(['line 1: expected a list of offers, or {"offers": [...]}'])
    # Line of each item: decode them one by one from the text, to point staff at the right place.
    decoder, pos, lines = json.JSONDecoder(), text.index("[", text.find("offers")) + 1, []
    for _ in items:
        while text[pos] in " \t\r\n,":
            pos += 1
        lines.append(text.count("\n", 0, pos) + 1)
        _, pos = decoder.raw_decode(text, pos)
    yield from zip(lines, items, strict=True)


def read_export(path: Path, progress: Callable[[int], None] | None = None) -> list[Offer]:
    """Parses and checks every row; raises ImportFailed listing every bad line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFailed(["line 1: the file is not UTF-8 text"]) from None
    rows = _json_rows(text) if path.suffix.lower() == ".json" else _csv_rows(text)
    offers: list[Offer] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for count, (line, data) in enumerate(rows, 1):
        try:
            offer = parse_offer(data, f"line {line}")
        except ContentError as exc:
            problems.append(str(exc))
        else:
            if offer.id in seen:
                problems.append(
                    f"line {line}: id '{offer.id}' was already used on line {seen[offer.id]}"
                )
            seen[offer.id] = line
            offers.append(offer)
        if progress and count % 100 == 0:
            progress(count)
    if problems:
        raise ImportFailed(problems)
    if not offers:
        raise ImportFailed(["line 1: the file holds no offers"])
    return offers


def write_catalogue(offers: list[Offer], source: str, target: Path | None = None) -> None:
    """Replaces the catalogue atomically: readers see the old file or the new one, never half."""
    header = (
        f"# Imported from {source} on {date.today().isoformat()} by scripts/import_offers.py.\n"
        "# Edit the export and import again, or edit this file directly (make test checks it).\n"
    )
    body = yaml.safe_dump(
        {"version": 1, "offers": [asdict(o) for o in offers]},
        allow_unicode=True, sort_keys=False, width=100,
    )  # fmt: skip
    target = target or catalogue_path()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".offers-", suffix=".yml")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(header + body)
    os.replace(tmp, target)
