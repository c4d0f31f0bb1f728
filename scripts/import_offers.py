"""Loads a CSV or JSON export of the group offer catalogue into content/offers.yml.

    .venv/bin/python scripts/import_offers.py EXPORT.csv|EXPORT.json [--dry-run]

CSV columns: id, title, theme, audience, age_min, age_max, format, description, link and
optionally topics (topic ids separated by |). With any bad row nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.offers import catalogue_path
from common.offers_import import ImportFailed, read_export, write_catalogue


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("export", type=Path)
    parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")
    parser.add_argument("--target", type=Path, help="default: content/offers.yml")
    args = parser.parse_args()
    print(f"Reading {args.export} ...", flush=True)
    try:
        offers = read_export(
            args.export, progress=lambda n: print(f"  {n} rows checked", flush=True)
        )
    except FileNotFoundError:
        print(f"{args.export}: file not found", file=sys.stderr)
        return 2
    except ImportFailed as failed:
        for problem in failed.problems:
            print(f"{args.export}: {problem}", file=sys.stderr)
        print(f"Nothing was imported: fix the {len(failed.problems)} problem(s) above and run "
              "the import again.", file=sys.stderr)  # fmt: skip
        return 1
    if args.dry_run:
        print(f"All {len(offers)} offers are valid (dry run: nothing written).")
        return 0
    write_catalogue(offers, args.export.name, args.target)
    target = args.target or catalogue_path()
    print(f"Imported {len(offers)} offers into {target}. The assistant reads the catalogue "
          "on every search: no retraining or restart is needed.")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
