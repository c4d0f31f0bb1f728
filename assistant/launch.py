"""Starts ``rasa`` with its API token from the environment, so the token never shows in ``ps``.

``rasa run --auth-token=TOKEN`` puts the token on the command line, which every local user can
read (``ps``, /proc/<pid>/cmdline), and Rasa 3.6 reads it from nowhere else. This launcher takes
it from ``RASA_TOKEN`` and hands it to Rasa's own command line parser inside the process:

    python -m assistant.launch run --model models/cjg.tar.gz --enable-api ...

(the Procfile and tests/servers.py start Rasa this way).
"""

from __future__ import annotations

import os
import sys

TOKEN_OPTIONS = ("--auth-token", "-t")


def rasa_argv(argv: list[str], token: str) -> list[str]:
    """Rasa's argument list: ``argv`` (after ``rasa``) plus the token, as one ``--opt=value``
    word so that a token that starts with "-" is not taken for an option."""
    if not token:
        raise SystemExit("RASA_TOKEN is not set; 'make run' generates one in var/secrets.env.")
    for word in argv:
        if word.split("=", 1)[0] in TOKEN_OPTIONS:
            raise SystemExit("Give Rasa's token in RASA_TOKEN, never on the command line.")
    return ["rasa", *argv, f"--auth-token={token}"]


def main() -> None:
    sys.argv = rasa_argv(sys.argv[1:], os.environ.get("RASA_TOKEN", ""))
    from rasa.__main__ import main as rasa_main  # after the check: Rasa takes seconds to import

    rasa_main()


if __name__ == "__main__":
    main()
