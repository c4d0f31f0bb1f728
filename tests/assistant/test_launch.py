"""How the stack launches Rasa: through assistant/launch.py, which takes the API token from
RASA_TOKEN, so that no secret is on a command line (``ps`` shows those to every local user).

A CI run once failed because a random token began with "-" and argparse took it for an option
(`rasa run --auth-token -x...` exits with code 2). The launcher therefore hands the token to
Rasa's parser as `--auth-token=TOKEN`.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from rasa.__main__ import create_argument_parser

from assistant.launch import rasa_argv

ROOT = Path(__file__).resolve().parents[2]
# The generated secrets (scripts/prepare-env); none may be expanded into a command line.
SECRETS = (
    "RASA_TOKEN",
    "CJG_PSEUDONYM_SECRET",
    "CJG_TELEGRAM_WEBHOOK_SECRET",
    "REDIS_PASSWORD",
    "CJG_CALLBACK_KEY",
)


def _procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name!r} process in the Procfile")


@pytest.mark.parametrize("token", ["-starts-with-a-dash", "--looks-like-an-option", "plain_token"])
def test_the_launcher_passes_any_token_to_rasa_intact(token: str) -> None:
    values = {"RASA_PORT": "5005", "RASA_INTERFACE": "127.0.0.1"}  # defaults.env
    command = re.sub(r"\$(\w+)", lambda m: values[m.group(1)], _procfile_command("rasa"))
    argv = shlex.split(command)
    assert argv[0] == "exec"  # honcho's signal reaches Rasa itself, not the shell around it
    assert argv[1:4] == [".venv-rasa/bin/python", "-m", "assistant.launch"]
    rasa = rasa_argv(argv[4:], token)
    assert rasa[0] == "rasa"
    args = create_argument_parser().parse_args(rasa[1:])
    assert args.auth_token == token
    assert args.enable_api and args.interface == "127.0.0.1"


def test_no_secret_is_on_a_command_line_of_the_procfile() -> None:
    for line in (ROOT / "Procfile").read_text().splitlines():
        used = set(re.findall(r"\$\{?(\w+)", line))
        assert not used & set(SECRETS), line
        assert "--auth-token" not in line and "requirepass" not in line, line


@pytest.mark.parametrize("given", [["--auth-token=x"], ["--auth-token", "x"], ["-t", "x"]])
def test_the_launcher_refuses_a_token_on_the_command_line(given: list[str]) -> None:
    with pytest.raises(SystemExit, match="RASA_TOKEN"):
        rasa_argv(["run", "--enable-api", *given], "secret")


def test_the_launcher_needs_the_token() -> None:
    with pytest.raises(SystemExit, match="RASA_TOKEN is not set"):
        rasa_argv(["run", "--enable-api"], "")


def test_every_process_gets_the_stop_signal_itself() -> None:
    """Without ``exec`` honcho's SIGTERM stops only the shell around a process (rc -15), and
    the process is not waited for while it shuts down cleanly."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip():
            assert line.split(":", 1)[1].split()[0] == "exec", line


def test_the_action_server_starts_through_the_launcher_without_a_token() -> None:
    argv = shlex.split(_procfile_command("actions").replace("$ACTION_PORT", "5055"))
    assert argv[1:4] == [".venv-rasa/bin/python", "-m", "assistant.launch"]
    rasa = rasa_argv(argv[4:], "")  # the action server has no API: no token needed
    assert rasa == ["rasa", "run", "actions", "--actions", "assistant.actions", "--port", "5055"]
    args = create_argument_parser().parse_args(rasa[1:])
    assert args.actions == "assistant.actions" and args.port == 5055
