"""``make cluster``'s command without a model: it says what to do and leaves nothing behind (the
whole start is what tests/cluster/test_instance_killed_browser.py runs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.servers import ROOT


def test_without_a_model_it_says_to_train_first_and_starts_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "cluster"
    result = subprocess.run(
        [sys.executable, "-m", "cluster", "--directory", str(directory),
         "--model", str(tmp_path / "missing.tar.gz")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "run make run or scripts/train first" in result.stderr
    assert not directory.exists()  # no secrets written, no process started
