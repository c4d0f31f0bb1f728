"""The shared web helpers (base/web.py): one JSON error shape, and its Dutch texts in
content/api_messages.yml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp import web

from base.web import API_MESSAGE_KEYS, api_messages, api_text, json_error, json_exception
from common.content import ContentError


def test_the_shipped_texts_are_complete_and_fill_in_their_values() -> None:
    assert set(api_messages().messages) == API_MESSAGE_KEYS
    assert api_text("not_logged_in") == "Log eerst in."
    assert api_text("message_length", max=4000) == "Schrijf een bericht van 1 tot 4000 tekens."
    assert api_text("login_locked", minutes=15).startswith("Te veel mislukte pogingen. Probeer")


def test_a_missing_text_is_refused_with_its_key(tmp_path: Path) -> None:
    lines = "".join(f'  {key}: "Tekst"\n' for key in sorted(API_MESSAGE_KEYS - {"csrf"}))
    (tmp_path / "api_messages.yml").write_text(f"version: 1\nmessages:\n{lines}")
    with pytest.raises(ContentError, match=r"messages\.csrf is missing"):
        api_messages(tmp_path)


def test_a_returned_and_a_raised_error_have_the_same_body() -> None:
    returned = json_error(403, "bad_origin", api_text("socket_bad_origin"))
    raised = json_exception(web.HTTPForbidden, "bad_origin", api_text("socket_bad_origin"))
    assert raised.status == returned.status == 403
    assert raised.content_type == returned.content_type == "application/json"
    assert isinstance(returned.body, bytes) and raised.text is not None
    assert json.loads(raised.text) == json.loads(returned.body)
    assert json.loads(returned.body) == {
        "error": "bad_origin",
        "message": "Alleen vanaf de console zelf.",
    }
