"""The staff-facing content files: the console's live-line texts (content/staff_console.yml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.content import ContentError
from common.names import Channel, Reason
from handoff.staff_content import CONSOLE_TEXT_KEYS, REASON_LABEL_KEYS, console_texts


def test_the_shipped_console_texts_are_complete_and_fit_a_close_frame() -> None:
    texts = console_texts()
    assert set(texts.messages) >= CONSOLE_TEXT_KEYS
    assert texts.get("logged_out") == "Je bent uitgelogd. Log opnieuw in."
    assert len(texts.get("logged_out").encode()) <= 123


@pytest.mark.parametrize(
    ("messages", "reason"),
    [
        ({"logged_out": "Uit.", "feed_lost": "Weg."}, "feed_back is missing"),
        ({"logged_out": "x" * 124, "feed_lost": "Weg.", "feed_back": "Er."}, "at most 123"),
        (
            {"logged_out": " ", "feed_lost": "Weg.", "feed_back": "Er."},
            "messages.logged_out: must be a non-empty text",
        ),
    ],
)
def test_bad_console_texts_are_refused(
    tmp_path: Path, messages: dict[str, str], reason: str
) -> None:
    lines = "".join(f'  {key}: "{text}"\n' for key, text in messages.items())
    (tmp_path / "staff_console.yml").write_text(f"version: 1\nmessages:\n{lines}")
    with pytest.raises(ContentError, match=reason):
        console_texts(tmp_path)


def test_the_console_names_every_channel() -> None:
    labels = console_texts().channels
    assert set(labels) == set(Channel)
    assert labels[Channel.TELEGRAM] == "Telegram"


@pytest.mark.parametrize(
    ("channels", "reason"),
    [
        ({"widget": "Website", "telegram": "Telegram"}, "channels.api is missing"),
        (
            {"widget": "Website", "telegram": "Telegram", "api": "API", "fax": "Fax"},
            "channels: 'fax' is not one of widget, telegram, api",
        ),
    ],
)
def test_a_channel_without_a_label_or_an_unknown_one_is_refused(
    tmp_path: Path, channels: dict[str, str], reason: str
) -> None:
    write_console_texts(tmp_path, channels, dict.fromkeys(REASON_LABEL_KEYS, "Reden"))
    with pytest.raises(ContentError, match=reason):
        console_texts(tmp_path)


def test_the_console_names_every_handoff_reason(tmp_path: Path) -> None:
    assert console_texts().reasons[Reason.SAFETY] == "Zorg over veiligheid"
    reasons = dict.fromkeys(REASON_LABEL_KEYS, "Reden")
    del reasons["left_message"]
    write_console_texts(tmp_path, {str(c): "Kanaal" for c in Channel}, reasons)
    with pytest.raises(ContentError, match=r"reasons\.left_message is missing"):
        console_texts(tmp_path)


def write_console_texts(directory: Path, channels: dict[str, str], reasons: dict[str, str]) -> None:
    messages = "".join(f"  {key}: Tekst\n" for key in sorted(CONSOLE_TEXT_KEYS))
    lists = [
        f"{name}:\n" + "".join(f"  {key}: {label}\n" for key, label in labels.items())
        for name, labels in (("channels", channels), ("reasons", reasons))
    ]
    (directory / "staff_console.yml").write_text(
        f"version: 1\nmessages:\n{messages}" + "".join(lists)
    )
