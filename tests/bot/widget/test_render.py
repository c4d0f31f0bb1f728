"""Outbox messages as bot_uttered payloads: Rasa 3.6's shapes by default, the widget's when
it opts in (the channel tests check them on the wire, the rasa-webchat test in a browser)."""

from __future__ import annotations

from bot.widget.render import bot_uttered, rasa_uttered

OFFER = "https://chat.cjg.example/go/pubers?via=widget"


def test_text_is_split_at_blank_lines_as_rasa_does() -> None:
    message = {"text": "Eén.\n\nTwee\nen een half.\n\n\n\nDrie.", "at": 1}
    # Rasa's SocketIOOutput.send_text_message: text.strip().split("\n\n"), one event each.
    assert rasa_uttered(message) == [
        {"text": "Eén."}, {"text": "Twee\nen een half."}, {"text": ""}, {"text": "Drie."},
    ]  # fmt: skip


def test_buttons_go_with_the_last_part_and_links_are_web_url() -> None:
    message = {
        "text": "Hoi!\n\nWaar gaat je vraag over?",
        "buttons": [
            {"title": "Slapen", "payload": "/slapen"},
            {"title": "Meer lezen", "payload": OFFER},
        ],
        "custom": {"handoff": {"event": "queue"}},
    }
    assert rasa_uttered(message) == [
        {"text": "Hoi!", "quick_replies": []},
        {
            "text": "Waar gaat je vraag over?",
            "quick_replies": [
                {"content_type": "text", "title": "Slapen", "payload": "/slapen"},
                {"type": "web_url", "title": "Meer lezen", "url": OFFER},
            ],
        },
    ]


def test_links_only_stay_on_screen_as_buttons() -> None:
    message = {"text": "Pubers & Zo", "buttons": [{"title": "Aanmelden", "payload": OFFER}]}
    link = {"type": "web_url", "title": "Aanmelden", "url": OFFER}
    assert rasa_uttered(message) == [{"text": "Pubers & Zo", "buttons": [link]}]


def test_images_custom_and_nothing_to_show() -> None:
    image = {"image": "https://cjg.example/kaart.png", "text": "Kaart"}
    assert rasa_uttered(image) == [
        {"text": "Kaart"},
        {"attachment": {"type": "image", "payload": {"src": "https://cjg.example/kaart.png"}}},
    ]
    assert rasa_uttered({"image": "javascript:alert(1)"}) == []
    assert rasa_uttered({"custom": {"handoff": {"event": "rated"}}}) == []
    assert rasa_uttered({"text": "", "custom": {"service": "x"}}) == []


def test_the_widget_gets_one_payload_with_its_fields() -> None:
    message = {"text": "A\n\nB", "at": 5, "buttons": [{"title": "Ja", "payload": "/ja"}],
               "custom": {"service": "x"}}  # fmt: skip
    assert bot_uttered("5-0", message) == {
        "id": "5-0",
        "at": 5,
        "text": "A\n\nB",
        "quick_replies": [{"content_type": "text", "title": "Ja", "payload": "/ja"}],
        "custom": {"service": "x"},
    }


def test_only_http_links_stay_links_for_markdown_clients() -> None:
    """rasa-webchat renders Markdown and follows any scheme: a staff reply with a javascript:
    link must reach it as text, whatever disguise the scheme wears."""
    hostile = (
        "[klik](javascript:alert(1)) [b]( javascript:x) [c](&#106;avascript:x) "
        "<javascript:alert(2)> [d][r]\n[r]: javascript:alert(3)"
    )
    (sent,) = rasa_uttered({"text": hostile})
    assert sent["text"] == (
        "[klik]\\(javascript:alert(1)) [b]\\( javascript:x) [c]\\(&#106;avascript:x) "
        "\\<javascript:alert(2)> [d][r]\n\\[r]: javascript:alert(3)"
    )
    safe = "Kijk op [samenopgroeien](https://samenopgroeien.nu) of <https://www.cjgkennemerland.nl>"
    assert rasa_uttered({"text": safe}) == [{"text": safe}]
