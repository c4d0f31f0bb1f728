"""How the stack launches Rasa: a generated token must survive Rasa's own argument parser.

A CI run once failed because a random token began with "-" and argparse took it for an option
(`rasa run --auth-token -x...` exits with code 2). The Procfile and the test fixture therefore
pass the token as `--auth-token=TOKEN`.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from rasa.__main__ import create_argument_parser

ROOT = Path(__file__).resolve().parents[2]


def _procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name!r} process in the Procfile")


@pytest.mark.parametrize("token", ["-starts-with-a-dash", "--looks-like-an-option", "plain_token"])
def test_the_procfile_passes_any_token_to_rasa_intact(token: str) -> None:
    values = {"RASA_PORT": "5005", "RASA_TOKEN": token}
    command = re.sub(r"\$(\w+)", lambda m: values[m.group(1)], _procfile_command("rasa"))
    argv = shlex.split(command)
    assert argv[0] == "exec"  # honcho's signal reaches Rasa itself, not the shell around it
    argv = argv[1:]
    assert argv[0].endswith("rasa")
    args = create_argument_parser().parse_args(argv[1:])
    assert args.auth_token == token
    assert args.enable_api and args.interface == "127.0.0.1"


def test_every_process_gets_the_stop_signal_itself() -> None:
    """Without ``exec`` honcho's SIGTERM stops only the shell around a process (rc -15), and
    the process is not waited for while it shuts down cleanly."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip():
            assert line.split(":", 1)[1].split()[0] == "exec", line
