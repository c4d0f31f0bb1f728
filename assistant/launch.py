"""Starts Rasa and the action server as the stack runs them (the Procfile and tests/servers.py):

    python -m assistant.launch run --model models/cjg.tar.gz --enable-api ...   (Rasa)
    python -m assistant.launch run actions --actions assistant.actions ...      (action server)

Three things ``rasa`` alone does not do:

- **The API token from the environment.** ``rasa run --auth-token=TOKEN`` puts the token on the
  command line, which every local user can read (``ps``, /proc/<pid>/cmdline), and Rasa 3.6 reads
  it from nowhere else. The launcher takes it from ``RASA_TOKEN`` and hands it to Rasa's own
  command line parser inside the process. The action server has no API and gets no token.
- **No message text in the logs.** Rasa's structlog events carry the user's text in fields such
  as ``text`` (``rest.message.received.timeout`` when the service gave up waiting, at ERROR), and
  its JSON tracebacks list every frame's local variables, the message among them. Rasa blanks
  those fields only with its enterprise plugin; the launcher blanks the same fields and renders
  tracebacks without locals.
- **No start-up noise.** Python shows a DeprecationWarning only for code run as ``__main__``;
  Sanic's import turns them on for every module, so each start printed a dozen warnings about
  Rasa's own dependencies (SQLAlchemy, pkg_resources, Keras, pyparsing) that no one running the
  stack can act on. The launcher restores Python's default, unless warnings were asked for with
  ``-W`` or ``PYTHONWARNINGS``.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Callable, MutableMapping
from typing import Any

TOKEN_OPTIONS = ("--auth-token", "-t")
ACTION_SERVER = ["run", "actions"]
# The fields of Rasa's structlog events that may hold what a user wrote: the list Rasa's own
# anonymizer blanks (rasa/utils/log_utils.py, _anonymizer).
TEXT_FIELDS = frozenset(
    {
        "text", "response_text", "user_text", "slot_values", "parse_data_text",
        "parse_data_entities", "prediction_events", "tracker_latest_message", "prefilled_slots",
        "message", "response", "slot_candidates", "rasa_event", "rasa_events", "tracker_states",
        "current_states", "old_states", "successes", "current_entity", "next_entity", "states",
        "entity", "token_text", "user_message", "json_message",
    }
)  # fmt: skip
BLANK = "[not logged]"


def rasa_argv(argv: list[str], token: str) -> list[str]:
    """Rasa's argument list: ``argv`` (after ``rasa``) plus the token, as one ``--opt=value``
    word so that a token that starts with "-" is not taken for an option."""
    for word in argv:
        if word.split("=", 1)[0] in TOKEN_OPTIONS:
            raise SystemExit("Give Rasa's token in RASA_TOKEN, never on the command line.")
    if argv[:2] == ACTION_SERVER:
        return ["rasa", *argv]
    if not token:
        raise SystemExit("RASA_TOKEN is not set; 'make run' generates one in var/secrets.env.")
    return ["rasa", *argv, f"--auth-token={token}"]


def quiet_deprecation_warnings() -> None:
    """Python's default for DeprecationWarnings again, after Sanic's import changed it. Called
    again after Rasa's set-up, whose "once" for UserWarnings would show those that are both
    (pyparsing's, from matplotlib)."""
    if sys.warnoptions:  # a developer asked for warnings
        return
    import sanic  # noqa: F401  (puts its "once" filter first; ours goes in front of it)

    warnings.filterwarnings("ignore", category=DeprecationWarning)


def blank_texts(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: every field that may hold a user's text is replaced."""
    for key in TEXT_FIELDS & event.keys():
        event[key] = BLANK
    return event


def private_structlog() -> None:
    """Our processors around Rasa's structlog configuration, which Rasa's CLI makes at start
    (after its logging and warnings set-up, before it runs the command)."""
    import structlog
    from structlog.processors import ExceptionRenderer, dict_tracebacks
    from structlog.tracebacks import ExceptionDictTransformer

    cli: Any = importlib.import_module("rasa.__main__")  # it calls the name it imported
    without_locals = ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
    configure: Callable[..., None] = cli.configure_structlog

    def configure_privately(*args: Any, **kwargs: Any) -> None:
        configure(*args, **kwargs)
        processors = [
            without_locals if p is dict_tracebacks else p
            for p in structlog.get_config()["processors"]
        ]
        structlog.configure(processors=[blank_texts, *processors])
        quiet_deprecation_warnings()

    cli.configure_structlog = configure_privately


def main() -> None:
    sys.argv = rasa_argv(sys.argv[1:], os.environ.get("RASA_TOKEN", ""))
    quiet_deprecation_warnings()
    private_structlog()  # imports Rasa, which takes seconds: after the checks above
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
