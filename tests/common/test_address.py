"""The je->u rewriter (common/address.py) on sample sentences and on every text we show."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.widget.texts import widget_texts
from common.address import Address, address_content, outside_quotes, to_u, unresolved, wish
from common.content import service_messages

ROOT = Path(__file__).resolve().parents[2]
# Files whose texts a parent reads (phrase lists, labels for staff and figures are not shown).
SHOWN = (
    "service_messages",
    "offer_finder",
    "offers",
    "crisis_contacts",
    "youth",
    "intent_labels",
    "privacy",
)
LEFT = re.compile(r"(?<!/)\b(je|jij|jou|jouw|jezelf)\b", re.IGNORECASE)  # "/je": a command

SAMPLES = [
    ("Kun je vertellen hoe oud je kind is?", "Kunt u vertellen hoe oud uw kind is?"),
    ("Heb je vragen over school?", "Heeft u vragen over school?"),
    ("Als je het moeilijk hebt, bel dan.", "Als u het moeilijk heeft, bel dan."),
    ("Je hebt al veel geprobeerd.", "U heeft al veel geprobeerd."),
    ("Maak je je zorgen over jouw kind?", "Maakt u zich zorgen over uw kind?"),
    ("Voel je je schuldig?", "Voelt u zich schuldig?"),
    ("Deel je zorgen met iemand die je vertrouwt.", "Deel uw zorgen met iemand die u vertrouwt."),
    ("Een medewerker denkt met je mee.", "Een medewerker denkt met u mee."),
    ("Wil je kind niet slapen?", "Wil uw kind niet slapen?"),
    ("Wil je meedenken over het slapen?", "Wilt u meedenken over het slapen?"),
    ("Zorg ook goed voor jezelf.", "Zorg ook goed voor uzelf."),
    ("Je kan ook bellen.", "U kunt ook bellen."),
    ("Woon je in Haarlem?", "Woont u in Haarlem?"),
    ("Ben je boos op jij weet wel wie?", "Bent u boos op u weet wel wie?"),
    ("Dank je wel voor je antwoord!", "Dank u wel voor uw antwoord!"),
    ("Het is normaal als je je soms alleen voelt.", "Het is normaal als u zich soms alleen voelt."),
    (
        'Zeg: "Ik zie dat je boos bent." Dan voelt je kind zich gehoord.',
        'Zeg: "Ik zie dat je boos bent." Dan voelt uw kind zich gehoord.',
    ),
    ("Typ 'jij bent lief' en je ziet het.", "Typ 'jij bent lief' en u ziet het."),
    ("Vraag het 's avonds aan je kind.", "Vraag het 's avonds aan uw kind."),
    ("Hoe eerder je hulp zoekt, hoe beter.", "Hoe eerder u hulp zoekt, hoe beter."),  # override
    ("Typ /u of /je als je wilt.", "Typ /u of /je als u wilt."),  # a command stays a command
]


@pytest.mark.parametrize(("je", "u"), SAMPLES)
def test_a_sentence_converts_exactly(je: str, u: str) -> None:
    assert to_u(je) == u


def test_quoted_speech_to_the_child_keeps_je() -> None:
    text = 'Zeg: "Ik zie dat je boos bent" en blijf rustig bij je kind.'
    assert to_u(text) == 'Zeg: "Ik zie dat je boos bent" en blijf rustig bij uw kind.'


def test_a_text_without_je_is_unchanged_and_conversion_is_idempotent() -> None:
    text = "Kun je me vertellen hoe oud je kind is?"
    once = to_u(text)
    assert to_u(once) == once
    assert to_u("Slapen en doorslapen") == "Slapen en doorslapen"


def test_an_unknown_word_after_je_is_reported() -> None:
    assert unresolved("Vraag je schoonmoeder om hulp.") == [
        "'je schoonmoeder': is 'schoonmoeder' a noun (add it to possessed) or not?"
    ]


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("zeg maar u", Address.U),
        ("Mag het formeel?", Address.U),
        ("Ik wil liever dat je u zegt", Address.U),
        ("je mag me tutoyeren", Address.JE),
        ("zeg maar je", Address.JE),
        ("mijn zoon van 6 wil niet slapen", None),
        ("ik maak me zorgen over u weet wel", None),
    ],
)
def test_a_typed_wish_is_recognised(text: str, form: Address | None) -> None:
    assert wish(text) == form


def _strings(node: Any, skip: tuple[str, ...] = ()) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key not in skip:
                yield from _strings(value, skip)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value, skip)


def shown_texts() -> list[tuple[str, str]]:
    """(where, text) for every text a parent may read: topics (not their youth blocks),
    the service's and the offer finder's texts, offers, the crisis card, domain responses."""
    found: list[tuple[str, str]] = []
    not_text = ("youth", "id", "review_date", "age_bands", "kind", "audience", "offer_theme")
    for path in sorted((ROOT / "content" / "topics").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        found += [(path.name, t) for t in _strings(data, not_text)]
    for name in SHOWN:
        data = yaml.safe_load((ROOT / "content" / f"{name}.yml").read_text(encoding="utf-8"))
        found += [(f"{name}.yml", t) for t in _strings(data, ("version", "link", "markers"))]
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    found += [("domain.yml", t) for t in _strings(domain["responses"], ("payload", "custom"))]
    return [(where, t) for where, t in found if " " in t.strip()]


def test_every_text_converts_without_a_guess_and_without_je_outside_quotes() -> None:
    texts = shown_texts()
    assert len(texts) > 800  # the topics, the service's texts and the responses are all here
    problems = []
    for where, text in texts:
        problems += [f"{where}: {issue}" for issue in unresolved(text)]
        left = LEFT.findall(outside_quotes(to_u(text)))
        if left:
            problems.append(f"{where}: {left} left in {to_u(text)!r}")
    assert not problems, "\n".join(problems)


def test_every_override_is_still_used() -> None:
    """An override whose je-text was edited away would silently stop working."""
    texts = [t for _, t in shown_texts()]
    stale = [o.je for o in address_content().overrides if not any(o.je in t for t in texts)]
    assert not stale


def test_the_service_has_its_replies_to_a_wish() -> None:
    texts = service_messages()
    for key in ("address_u", "address_je", "address_youth"):
        assert texts.get(key).strip()
    assert to_u(texts.get("address_u")) == "Goed, vanaf nu zeg ik 'u'. Stel gerust uw vraag."


def test_the_widgets_u_texts_match_its_strings() -> None:
    """``widget.strings_u`` in content/address.yml: keys of the widget's texts, with the
    same {placeholders} and no "je" left."""
    strings = widget_texts().texts  # content/widget_texts.yml
    u_texts = address_content().widget.strings_u
    assert u_texts and set(u_texts) <= set(strings)
    for key, text in u_texts.items():
        assert LEFT.search(strings[key]) and not LEFT.search(text), key
        assert re.findall(r"\{\w+\}", text) == re.findall(r"\{\w+\}", strings[key]), key
