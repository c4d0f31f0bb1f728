"""The staff-facing content files: the console's texts (content/staff_console.yml)."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from common.content import ContentError
from common.names import Channel, Reason
from handoff.staff_content import (
    CONSOLE_TEXT_KEYS,
    CONSOLE_UI_WORDS,
    INSIGHT_UI_WORDS,
    REASON_LABEL_KEYS,
    console_texts,
)

ROOT = Path(__file__).resolve().parents[2]


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


def _filled_in(arguments: str) -> set[str]:
    """The names of a JavaScript object literal's keys (``{ who, minutes: left }``)."""
    return set(re.findall(r"(?:^|[{,])\s*(\w+)\s*(?=[:,}]|$)", arguments.strip()))


@pytest.mark.parametrize(
    ("page", "html", "section", "lists"),
    [
        (
            "console.js",
            "index.html",
            "console",
            {"presence_": "PRESENCES", "audit_": "AUDIT_ACTIONS"},
        ),
        ("insight.js", "insight.html", "insight", {"kind_": "KINDS"}),
    ],
)
def test_each_page_asks_for_exactly_the_texts_the_schema_names(
    page: str, html: str, section: str, lists: dict[str, str]
) -> None:
    """Every text a staff page shows (``t('key')``, ``t(x ? 'a' : 'b')``, or a prefix and a
    list's item, e.g. ``audit_${action}``, and the HTML's ``data-text="key"``,
    ``data-text-aria-label="key"`` ...) is one the schema requires, so a staff edit cannot
    lose it; the schema names none the page never shows; and where a call fills in words in
    braces, they are the ones the schema allows."""
    words_of = {"console": CONSOLE_UI_WORDS, "insight": INSIGHT_UI_WORDS}[section]
    source = (ROOT / "web/staff" / page).read_text()
    markup = (ROOT / "web/staff" / html).read_text()
    in_html = set(re.findall(r'\bdata-text(?:-[\w-]+)?="(\w+)"', markup))
    assert in_html >= {"page_title", "login_heading"} & set(words_of)
    assert not {key for key in in_html if words_of.get(key)}, "the HTML fills in no words"
    asked = set(re.findall(r"\bt\('(\w+)'", source)) | in_html
    for either in re.findall(r"\bt\([^\n]*?\? '(\w+)' : '(\w+)'", source):
        asked |= set(either)
    for prefix, name in lists.items():
        items = re.search(rf"const {name} = \[([^\]]*)\]", source)
        assert items is not None, name
        asked |= {prefix + item for item in re.findall(r"'(\w+)'", items[1])}
    messages = CONSOLE_TEXT_KEYS if section == "console" else set()
    assert asked - messages == set(words_of)
    filled = re.findall(r"\bt\('(\w+)', (\{[^}]*\})", source)
    assert filled, "no call fills in words"
    for key, arguments in filled:
        assert _filled_in(arguments) == words_of[key], key
    shipped = getattr(console_texts(), section)
    for key, words in words_of.items():
        assert set(re.findall(r"\{(\w+)\}", shipped[key])) == words, key


class _Words(HTMLParser):
    """The words a page shows before its script runs: text, and the attributes people read."""

    READ = ("title", "aria-label", "placeholder", "alt")

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [f"{tag} {name}={value}" for name, value in attrs if name in self.READ]

    def handle_data(self, data: str) -> None:
        if re.search(r"[^\W\d_]", data):
            self.found.append(data.strip())


@pytest.mark.parametrize("html", ["index.html", "insight.html"])
def test_the_pages_html_holds_no_dutch(html: str) -> None:
    """Every word a staff page shows comes from content/staff_console.yml (``data-text``),
    so staff can change it without a developer; the HTML keeps none to forget."""
    words = _Words()
    words.feed((ROOT / "web/staff" / html).read_text())
    assert words.found == []


def test_the_shipped_page_texts_are_the_dutch_the_pages_showed_before() -> None:
    texts = console_texts()
    assert texts.console["login_missing"] == "Vul je gebruikersnaam en wachtwoord in."
    assert texts.insight["all_municipalities"] == "Alle gemeenten"
    assert texts.console["login_heading"] == "Inloggen"
    assert texts.insight["chart_empty"] == "Nog geen gegevens in deze periode."


@pytest.mark.parametrize(
    ("key", "text", "reason"),
    [
        ("claim", None, "console.claim is missing"),
        ("claim", " ", "console.claim: must be a non-empty text"),
        ("logged_in_as", "Hallo {naam}", r"console.logged_in_as: \{naam\} is not filled in"),
        ("claim", "Oppakken {name}", r"allowed: none"),
        ("claim_now", "Nu oppakken", "console.claim_now: the page has no such text"),
    ],
)
def test_a_console_text_missing_misspelt_or_with_a_strange_word_is_refused(
    tmp_path: Path, key: str, text: str | None, reason: str
) -> None:
    shutil.copy(ROOT / "content/staff_console.yml", tmp_path / "staff_console.yml")
    path = tmp_path / "staff_console.yml"
    lines = [line for line in path.read_text().splitlines() if not line.startswith(f"  {key}:")]
    if text is not None:
        lines.insert(lines.index("console:") + 1, f'  {key}: "{text}"')
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ContentError, match=reason):
        console_texts(tmp_path)
