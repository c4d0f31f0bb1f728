"""content/widget_texts.yml: the chat widget's own Dutch texts (web/widget/widget.js), so that
staff can edit them; the service puts them into widget.js when it serves it (bot/web_widget.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.content import check_texts, content_dir, load_current, text_words

# Every text widget.js asks for (STRINGS.key) and the words in braces it fills in.
WIDGET_TEXT_WORDS = text_words(
    {
        "launcher": "",
        "title": "",
        "subtitle": "",
        "placeholder": "",
        "inputLabel": "",
        "send": "",
        "close": "",
        "clear": "",
        "clearConfirm": "",
        "clearYes": "",
        "clearNo": "",
        "clearFailed": "",
        "exit": "",
        "exitHint": "",
        "connecting": "",
        "reconnecting": "",
        "loadFailed": "",
        "botTyping": "",
        "staffTyping": "name",
        "staffTypingNoName": "",
        "queue": "position",
        "queueNoPosition": "",
        "queueEstimate": "minutes",
        "queueEstimateOne": "",
        "staffJoined": "name",
        "staffJoinedNoName": "",
        "unread": "n",
        "unreadOne": "",
        "botName": "",
        "userName": "",
        "staffName": "",
        "logLabel": "",
        "newTab": "",
        "counter": "count max",
    }
)


@dataclass(frozen=True)
class WidgetTexts:
    """The texts by their key in widget.js (``STRINGS.key``); checked against WIDGET_TEXT_WORDS."""

    version: int
    texts: dict[str, str]


def _check(loaded: Any, path: Path) -> None:
    assert isinstance(loaded, WidgetTexts)
    check_texts(loaded.texts, WIDGET_TEXT_WORDS, f"{path}: texts")


def widget_texts(directory: Path | None = None) -> WidgetTexts:
    """Re-read when the file changes: an edit reaches the widget at a page's next load."""
    return load_current(WidgetTexts, (directory or content_dir()) / "widget_texts.yml", _check)
