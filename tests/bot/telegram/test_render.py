"""Bot messages as Telegram messages (bot/telegram/render.py) over a real redis-server: inline
keyboards, and payloads too long for Telegram's 64 bytes kept in Redis under a short token."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.telegram.render import BUTTON_TTL, CALLBACK_LIMIT, Buttons, text_of

DB = 44  # this module's own database


async def test_a_short_payload_is_sent_as_it_is_a_long_one_under_a_token(
    module_db: Redis,
) -> None:
    buttons = Buttons(module_db)
    assert await buttons.callback_data("/ask_human") == "/ask_human"
    long = '/opvoedvraag{"topic": "' + "slapen" * 12 + '"}'
    assert len(long.encode()) > CALLBACK_LIMIT
    data = await buttons.callback_data(long)
    assert data.startswith("t:") and len(data.encode()) <= CALLBACK_LIMIT
    assert await buttons.payload(data) == long
    assert 0 < await module_db.ttl(f"cjg:tg:button:{data[2:]}") <= BUTTON_TTL
    # A payload that looks like a token is kept under one too, so it cannot be mistaken.
    assert await buttons.payload(await buttons.callback_data("t:abc")) == "t:abc"
    assert await buttons.payload("t:gone-or-never-there") is None
    assert await buttons.payload("/ask_human") == "/ask_human"


async def test_links_open_urls_other_buttons_answer_and_titles_are_cut(module_db: Redis) -> None:
    keyboard = await Buttons(module_db).keyboard(
        {
            "text": "Kies maar",
            "buttons": [
                {"title": "Lees meer", "payload": "https://www.cjgkennemerland.nl"},
                {"title": "x" * 80, "payload": "/ask_human"},
            ],
        }
    )
    assert keyboard is not None
    (link,), (answer,) = keyboard.inline_keyboard
    assert (link.text, link.url, link.callback_data) == (
        "Lees meer",
        "https://www.cjgkennemerland.nl",
        None,
    )
    assert (answer.text, answer.callback_data) == ("x" * 64, "/ask_human")
    assert await Buttons(module_db).keyboard({"text": "Zonder knoppen"}) is None


def test_a_message_without_text_has_none() -> None:
    assert text_of({"text": "Hallo"}) == "Hallo"
    assert text_of({"text": "  "}) is None
    assert text_of({"image": "https://example.org/plaatje.png"}) is None
