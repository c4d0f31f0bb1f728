"""scripts/test: every folder of tests runs, so a new one cannot be left out by mistake."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA_ONLY = {"acceptance", "e2e", "nlu", "safety", "vendor"}  # read by tests, Rasa and bench/


def test_every_folder_of_tests_is_in_the_test_command() -> None:
    lines = (ROOT / "scripts" / "test").read_text().replace("\\\n", " ").splitlines()
    pytest_lines = " ".join(line for line in lines if "-m pytest" in line)
    named = set(re.findall(r"\btests/([a-z_]+)\b", pytest_lines))
    folders = {p.parent.name for p in (ROOT / "tests").glob("*/test_*.py")}
    assert folders - named == set(), "add these folders to the pytest lines of scripts/test"
    for name in sorted(DATA_ONLY):
        assert not list((ROOT / "tests" / name).rglob("test_*.py")), f"tests/{name} has tests"
