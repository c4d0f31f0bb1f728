"""Rasa's log lines as the launcher configures them (assistant/launch.py): no message text, no
local variables in tracebacks, however Rasa's own code logs an event."""

from __future__ import annotations

import importlib
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from assistant import launch

TEXT = "mijn dochter van 9 slaapt slecht sinds de scheiding"


@pytest.fixture
def rasa_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Rasa's structlog set-up, wrapped by the launcher, writing JSON lines (as under honcho)."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    root = logging.getLogger()
    cli: Any = importlib.import_module("rasa.__main__")
    monkeypatch.setattr(cli, "configure_structlog", cli.configure_structlog)  # undone after
    root.addHandler(handler)
    launch.private_structlog()
    cli.configure_structlog(logging.INFO)  # as Rasa's CLI does at start
    yield output
    root.removeHandler(handler)
    structlog.reset_defaults()


def fail_with(text: str) -> None:
    message = {"sender": "x", "message": text}  # a local variable, as in Rasa's channel code
    raise RuntimeError(f"failed after {len(message)} fields")


def test_rasa_events_lose_the_fields_that_hold_a_message(rasa_log: io.StringIO) -> None:
    log = structlog.get_logger("rasa.core.channels.rest")
    log.error("rest.message.received.timeout", text=TEXT)  # the service gave up waiting
    try:
        fail_with(TEXT)
    except RuntimeError:
        log.exception("rest.message.received.failure", text=TEXT, user_message=TEXT)
    lines = [json.loads(line) for line in rasa_log.getvalue().splitlines()]
    assert [line["event"] for line in lines] == [
        "rest.message.received.timeout",
        "rest.message.received.failure",
    ]
    assert lines[0]["text"] == launch.BLANK and lines[1]["user_message"] == launch.BLANK
    assert "failed after 2 fields" in rasa_log.getvalue()  # the exception itself is still there
    assert "fail_with" in rasa_log.getvalue()  # and where it happened
    assert TEXT not in rasa_log.getvalue()  # but not a local variable's value
