"""The widget's own texts (content/widget_texts.yml): checked like the other content files and
put into widget.js when the service serves it."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import pytest
import yaml
from aiohttp.web import Application

from bot import Settings, create_app, web_widget
from bot.widget.texts import WIDGET_TEXT_WORDS, widget_texts
from common.content import ContentError
from tests.bot.conftest import ClientFactory

ROOT = Path(__file__).resolve().parents[2]


def _copy(tmp_path: Path, **changed: str | None) -> Path:
    """A copy of content/ whose widget texts have ``changed`` (None: the key is left out)."""
    target = tmp_path / "content"
    shutil.copytree(ROOT / "content", target)
    path = target / "widget_texts.yml"
    spec = yaml.safe_load(path.read_text())
    for key, text in changed.items():
        if text is None:
            del spec["texts"][key]
        else:
            spec["texts"][key] = text
    path.write_text(yaml.safe_dump(spec, allow_unicode=True))
    return target


@pytest.mark.parametrize(
    ("changed", "reason"),
    [
        ({"send": None}, r"widget_texts.yml: texts.send is missing"),
        ({"sendd": "Stuur"}, r"texts.sendd: the page has no such text \(a typo\?\)"),
        (
            {"queue": "Je bent nummer {positie}"},
            r"texts.queue: \{positie\} is not filled in \(allowed: \{position\}\)",
        ),
        ({"counter": "{count} tekens, {n} over"}, r"allowed: \{count\}, \{max\}"),
    ],
)
def test_a_wrong_texts_file_is_refused_with_its_key(
    tmp_path: Path, changed: dict[str, str | None], reason: str
) -> None:
    with pytest.raises(ContentError, match=reason):
        widget_texts(_copy(tmp_path, **changed))


def test_the_widget_asks_for_exactly_the_texts_the_schema_names() -> None:
    """Every ``STRINGS.key`` in widget.js is a text staff must keep; the schema names none it
    never shows; the words ``fmt`` fills in are the ones the schema allows."""
    source = (ROOT / "web/widget/widget.js").read_text()
    asked = set(re.findall(r"\bSTRINGS\.(\w+)", source))
    assert asked == set(WIDGET_TEXT_WORDS)
    filled = re.findall(r"fmt\(STRINGS\.(\w+), \{([^}]*)\}\)", source)
    assert len(filled) == 6
    for key, arguments in filled:
        names = {part.split(":")[0].strip() for part in arguments.split(",")}
        assert names == WIDGET_TEXT_WORDS[key], key
    shipped = widget_texts().texts
    for key, words in WIDGET_TEXT_WORDS.items():
        assert set(re.findall(r"\{(\w+)\}", shipped[key])) == words, key


async def test_the_served_widget_has_the_files_texts_and_a_new_etag_when_they_change(
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Application()
    app.add_routes(web_widget.routes)
    client = await aiohttp_client(app)
    first = await client.get("/widget/widget.js")
    body = await first.text()
    assert '"clearYes": "Ja, wissen"' in body and "CJG_WIDGET_TEXTS" not in body
    assert first.headers["Cache-Control"] == "no-cache"
    etag = first.headers["ETag"]
    assert (await client.get("/widget/widget.js", headers={"If-None-Match": etag})).status == 304

    monkeypatch.setenv("CJG_CONTENT_DIR", str(_copy(tmp_path, clearYes="Ja, weg ermee")))
    changed = await client.get("/widget/widget.js", headers={"If-None-Match": etag})
    assert changed.status == 200 and changed.headers["ETag"] != etag
    assert '"clearYes": "Ja, weg ermee"' in await changed.text()

    # A typo after start: pages keep the last good texts until staff fix it.
    broken = tmp_path / "content" / "widget_texts.yml"
    broken.write_text(broken.read_text().replace("clearNo:", "clearNoo:"))
    with caplog.at_level(logging.WARNING, logger="bot.web_widget"):
        for _ in range(2):
            kept = await client.get("/widget/widget.js")
            assert kept.status == 200 and kept.headers["ETag"] == changed.headers["ETag"]
    (warning,) = caplog.messages  # once, not at every page load
    assert "content/widget_texts.yml: texts.clearNo is missing; the widget keeps" in warning


def test_the_service_does_not_start_with_a_wrong_texts_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CJG_CONTENT_DIR", str(_copy(tmp_path, exit=None)))
    monkeypatch.setattr(web_widget, "_last_good", [])  # as in a process that just started
    settings = Settings(
        redis_url="redis://127.0.0.1:1/0",  # never reached: the check comes first
        rasa_url="http://127.0.0.1:1",
        rasa_token="token",
        pseudonym_secret="x" * 32,
    )
    with pytest.raises(ContentError, match=r"content/widget_texts.yml: texts.exit is missing"):
        create_app(settings)
