"""Training benchmark: a full Rasa training from scratch, the time of each component, and the
held-out figures of the model it produced, with the commit they belong to.

"From scratch" means an empty Rasa cache (Rasa otherwise reuses components whose inputs did not
change) and a fresh output folder, as on a clean clone. Component times come from Rasa's own
"Starting/Finished training component" log lines (1 s resolution); what is left is loading,
validating and preparing the data.

    .venv/bin/python bench/train_time.py            # full training + held-out evaluation
    .venv/bin/python bench/train_time.py --smoke    # NLU only, no evaluation (the test command)

Writes var/bench/train_time.json; docs/PERFORMANCE.md records the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
RASA_PY = ROOT / ".venv-rasa" / "bin" / "python"
LINE = re.compile(
    r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) INFO +rasa\.engine\.training\.hooks +- "
    r"(Starting to train|Finished training) component '([^']+)'"
)


def component_seconds(log: str) -> dict[str, float]:
    """Seconds per trained component, from Rasa's hook log lines."""
    started: dict[str, datetime] = {}
    seconds: dict[str, float] = {}
    for line in log.splitlines():
        match = LINE.search(line)  # a line may start with a colour code
        if not match:
            continue
        at = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")
        if match.group(2) == "Starting to train":
            started[match.group(3)] = at
        elif match.group(3) in started:
            seconds[match.group(3)] = (at - started[match.group(3)]).total_seconds()
    return seconds


def commit() -> str:
    described = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    )
    return described.stdout.strip() or "unknown"


def train(out: Path, nlu_only: bool) -> tuple[float, dict[str, float]]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
        "RASA_CACHE_DIRECTORY": str(out / "cache"),  # empty: nothing is reused
    }
    command = [str(RASA), "train", *(["nlu"] if nlu_only else []), "--config", "config.yml",
               "--out", str(out), "--fixed-model-name", "cjg",
               *(["--nlu", "nlu"] if nlu_only else ["--domain", "domain.yml", "--data", "nlu",
                                                    "stories"])]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    total = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"rasa train failed (exit {done.returncode}):\n{done.stdout[-3000:]}")
    return total, component_seconds(done.stdout + done.stderr)


def evaluate(model: Path, report: Path) -> dict[str, object]:
    command = [str(RASA_PY), "scripts/eval_nlu.py", "--model", str(model), "--report", str(report)]
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if not report.exists():
        sys.exit(f"the held-out evaluation failed (exit {done.returncode}) before its report")
    if done.returncode != 0:
        print("(the held-out evaluation is below its floors; figures recorded anyway)")
    figures: dict[str, object] = json.loads(report.read_text())
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="NLU only, no evaluation")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "train_time.json")
    args = parser.parse_args()
    print(f"Training from scratch ({'NLU only' if args.smoke else 'NLU and dialogue'}); "
          "about 1 minute for NLU only, 2 minutes in all on 2 cores", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="cjg-train-") as tmp:
        total, parts = train(Path(tmp), args.smoke)
        model = Path(tmp) / "cjg.tar.gz"
        if not model.exists():
            sys.exit("rasa train finished without writing a model")
        figures = {} if args.smoke else evaluate(model, Path(tmp) / "eval.json")
    held_out = {k: v for k, v in figures.items() if not isinstance(v, dict | list)}
    result = {
        "commit": commit(),
        "when": datetime.now().isoformat(timespec="seconds"),
        "mode": "smoke (NLU only)" if args.smoke else "full",
        "total_seconds": round(total, 1),
        "component_seconds": parts,
        "other_seconds": round(total - sum(parts.values()), 1),
        "held_out": held_out,
    }
    print(f"\ncommit {result['commit']}: trained in {total:.0f} s")
    for name, seconds in sorted(parts.items(), key=lambda kv: -kv[1]):
        print(f"  {seconds:6.0f} s  {name}")
    print(f"  {result['other_seconds']:6.0f} s  loading, validating and preparing the data")
    for name, value in held_out.items():
        print(f"  {name}: {value:.3f}" if isinstance(value, float) else f"  {name}: {value}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    if "SparseIntentClassifier" not in parts and "DIETClassifier" not in parts:
        sys.exit("no intent classifier was trained: check config.yml")


if __name__ == "__main__":
    main()
