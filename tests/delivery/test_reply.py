"""One reply type without recipient (delivery/reply.py)."""

from __future__ import annotations

from delivery.reply import from_rasa, service_reply


def test_a_rasa_reply_loses_its_recipient_and_keeps_what_channels_show() -> None:
    raw = {
        "recipient_id": "the-token",
        "text": "Hoi",
        "buttons": [{"title": "Ja", "payload": "/ja"}, {"title": 1}],
        "image": "https://example.org/a.png",
        "custom": {"crisis": True},
        "attachment": "dropped",
    }
    assert from_rasa(raw) == {
        "text": "Hoi",
        "buttons": [{"title": "Ja", "payload": "/ja"}],
        "image": "https://example.org/a.png",
        "custom": {"crisis": True},
    }


def test_a_rasa_reply_with_nothing_to_show_is_dropped() -> None:
    assert from_rasa({"recipient_id": "x"}) is None
    assert from_rasa({"text": 3, "buttons": "no"}) is None
    assert from_rasa("text") is None


def test_a_service_reply_says_why() -> None:
    assert service_reply("Even niet", "no_answer") == {
        "text": "Even niet",
        "custom": {"service": "no_answer"},
    }
