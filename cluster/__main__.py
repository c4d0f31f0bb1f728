"""``make cluster``: the production layout on loopback until Ctrl-C, then everything stops.

python -m cluster [--instances 2] [--rasa-replicas 2] [--no-sentinels] [--directory var/cluster]
                  [--model models/cjg.tar.gz]
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from cluster.layout import Layout
from tests.servers import MODEL, ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cluster", description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=2, help="service instances (2)")
    parser.add_argument("--rasa-replicas", type=int, default=2, help="Rasa replicas (2)")
    parser.add_argument(
        "--no-sentinels", action="store_true", help="one redis-server (no replica, no sentinels)"
    )
    parser.add_argument("--directory", type=Path, default=ROOT / "var" / "cluster",
                        help="logs, Redis data and secrets; emptied at every start")  # fmt: skip
    parser.add_argument("--model", type=Path, default=MODEL, help="the trained model")
    args = parser.parse_args(argv)
    if args.instances < 1 or args.rasa_replicas < 1:
        parser.error("--instances and --rasa-replicas must be 1 or more")

    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    # A fresh start: the secrets are new each time, so old data could not be read anyway. Only
    # a folder that an earlier run made (with its stack.env) is emptied, never any other.
    directory: Path = args.directory
    if directory.exists() and any(directory.iterdir()):
        if not (directory / "stack.env").exists():
            print(f"{directory} is not empty and not a layout's folder: choose another "
                  "--directory.", file=sys.stderr)  # fmt: skip
            return 1
        shutil.rmtree(directory)
    layout = Layout(directory, instances=args.instances, rasa_replicas=args.rasa_replicas,
                    sentinels=not args.no_sentinels, model=args.model)  # fmt: skip
    try:
        layout.start(lambda line: print(line, flush=True))
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(f"The layout did not come up: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Stopped before everything was up.", flush=True)
        return 130
    try:
        env_file = layout.env_file
        if env_file.is_relative_to(ROOT):
            env_file = env_file.relative_to(ROOT)
        print(
            f"\nReady: {layout.url}/demo (the widget)   {layout.url}/staff (the console)\n"
            "The certificate is self-signed: let the browser accept it, or trust\n"
            f"  {layout.ca_file}\n"
            "Add a staff account in another terminal:\n"
            f"  CJG_STACK_ENV={env_file} scripts/staff-account add anne --name Anne\n"
            f"Logs: {layout.directory}/*.log   Parts: {', '.join(layout.parts)}\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        while not stopping.is_set():
            stopping.wait(1)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave parts behind
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("Stopping all parts (Rasa can take up to 30 s) ...", flush=True)
        layout.stop()
        print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
