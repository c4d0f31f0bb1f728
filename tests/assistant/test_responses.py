"""Every response of domain.yml goes through Rasa's own response generator without an error,
and its buttons reach the user as working payloads.

Rasa fills ``{slot}`` placeholders in a response's text *and in its buttons*, so a button whose
payload carries JSON (``/inform{"municipality": "haarlem"}``) is taken for a placeholder: Rasa
logs an ERROR ("The specified slot name does not exist", ``rasa.core.nlg.interpolator``) every
time it sends that response, as it did for the offer finder's municipality buttons (issue #16).
Write such a payload in domain.yml with doubled braces, ``'/inform{{"municipality": "haarlem"}}'``:
Rasa turns them back into single ones. Buttons that actions make (assistant/actions) are not
filled in, and keep single braces.
"""

from __future__ import annotations

import warnings
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from structlog.testing import capture_logs

from common.payload import is_intent_payload

ROOT = Path(__file__).resolve().parents[2]
with warnings.catch_warnings():  # Rasa 3.6 says this of every domain with slots
    warnings.filterwarnings("ignore", "Slot auto-fill has been removed", UserWarning)
    DOMAIN = Domain.load(str(ROOT / "domain.yml"))
VARIATIONS = [
    pytest.param(name, variation, id=f"{name}-{n}")
    for name, variations in DOMAIN.responses.items()
    for n, variation in enumerate(variations)
]


def render(
    name: str, variation: dict[str, Any]
) -> tuple[dict[str, Any], list[MutableMapping[str, Any]]]:
    """The message Rasa sends for this variation, as in a conversation (every slot known to
    the tracker, most of them empty), and what Rasa logged meanwhile."""
    generator = TemplatedNaturalLanguageGenerator({name: [variation]})
    slots = {slot.name: slot.value for slot in DOMAIN.slots}
    with capture_logs() as logged:
        message = generator.generate_from_slots(name, slots, "cjg")
    assert message is not None
    return message, logged


@pytest.mark.parametrize(("name", "variation"), VARIATIONS)
def test_a_response_renders_without_an_error(name: str, variation: dict[str, Any]) -> None:
    message, logged = render(name, variation)
    assert [e for e in logged if e["log_level"] in ("warning", "error", "critical")] == []
    for button in message.get("buttons") or []:
        payload = button["payload"]
        assert payload.startswith("https://") or is_intent_payload(payload), payload
    assert "{" not in str(message.get("text") or "")  # no placeholder left unfilled


def test_a_json_payload_needs_doubled_braces() -> None:
    """What the guard above catches, and the way to write it."""
    single = {"text": "Waar woon je?", "buttons": [
        {"title": "Haarlem", "payload": '/inform{"municipality": "haarlem"}'}]}  # fmt: skip
    doubled = {"text": "Waar woon je?", "buttons": [
        {"title": "Haarlem", "payload": '/inform{{"municipality": "haarlem"}}'}]}  # fmt: skip
    _, logged = render("utter_ask_municipality", single)
    assert [e["event"] for e in logged] == ["interpolator.interpolate.text"]
    message, logged = render("utter_ask_municipality", doubled)
    assert logged == []
    assert message["buttons"][0]["payload"] == '/inform{"municipality": "haarlem"}'
