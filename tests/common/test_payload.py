"""Which messages are a button's payload and which are text (issue #13): only the exact forms
of the buttons' own payloads skip the safety check and redaction."""

from __future__ import annotations

import pytest

from common.payload import as_text, domain, is_intent_payload, is_payload, is_service_payload


@pytest.mark.parametrize(
    "payload",
    [
        "/greet",
        "/ask_human",
        "/crisis",
        '/inform{"municipality": "Haarlem"}',
        '/zoek_aanbod{"child_age": 10}',
        '/zoek_aanbod{"offer_theme": "scheiden"}',
        '/opvoedvraag{"topic": "slapen"}',
        "/cjg_cancel",
        "/cjg_end",
        "/cjg_rating_5",
    ],
)
def test_the_buttons_own_payloads_are_payloads(payload: str) -> None:
    assert is_payload(payload)


@pytest.mark.parametrize(
    "text",
    [
        "/ik wil dood",
        "/greet extra text",
        "/greet ",
        " /greet",
        "/greet{}",
        "/greet@0.9",
        "/restart",  # Rasa's own intent, no button of ours
        "/unknown_intent",
        '/inform{"municipality": "Haarlem"} en nog wat',
        '/inform{"naam": "Jan"}',  # not a slot or entity
        '/inform{"municipality": ["Haarlem"]}',  # not a scalar
        '/inform{"municipality": {"a": 1}}',
        '/inform{"municipality": null}',
        "/inform[1, 2]",
        "/inform{not json}",
        "/cjg_rating_9",
        "/cjg_whatever",
        "/",
        "//greet",
        "greet",
    ],
)
def test_everything_else_is_text(text: str) -> None:
    assert not is_payload(text)


def test_the_known_intents_and_names_come_from_the_domain() -> None:
    known = domain()
    assert {"greet", "inform", "crisis", "zoek_aanbod"} <= known.intents
    assert {"municipality", "child_age", "topic", "offer_theme"} <= known.names
    assert is_intent_payload("/greet") and not is_service_payload("/greet")


def test_rasa_gets_text_without_the_leading_slashes() -> None:
    assert as_text("/ik wil dood") == "ik wil dood"
    assert as_text("// /greet extra") == "greet extra"
    assert as_text("///") == ""
    assert as_text("hallo /daar") == "hallo /daar"
