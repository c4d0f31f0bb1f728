""" "je" or "u": the form of address, and the rewriter that turns a "je" text into "u".

Every text is written once, with "je" (docs/CONTENT.md). A parent who prefers "u" gets each
text rewritten by :func:`to_u` just before it is shown: pronouns ("je"/"jij"/"jou" -> "u",
"je kind"/"jouw kind" -> "uw kind", "jezelf" -> "uzelf"), reflexive "je" after a subject "je"
-> "zich" ("voel je je" -> "voelt u zich"), and the verb that goes with the subject ("kun je"
-> "kunt u", "heb je"/"je hebt" -> "heeft u"/"u heeft"). Quoted speech stays as it is: what a
parent could say to a child ('Zeg: "Ik zie dat je boos bent"') keeps its "je".

Whether a "je" is a possessive ("je kind") or a pronoun ("je kunt", "met je mee") depends on
the next word: the nouns (and attributive adjectives) that follow "je" in our texts are listed
in ``content/address.yml`` (``possessed``); closed-class words and verb forms are known here.
A word that is neither is *unresolved*: :func:`unresolved` lists them, and a test fails on any,
so a new text never converts by guess. Where the rule still gets a sentence wrong, an
``overrides`` entry in ``content/address.yml`` gives the u-sentence for that je-sentence.

Youths always get "je" (the callers decide that, not this module). Standard library and PyYAML
only: both Python environments import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from common.content import ContentError, content_dir, load_current
from common.payload import ADDRESS_JE, ADDRESS_U
from common.safety import compile_phrase, matches_any


class Address(str, Enum):  # StrEnum, but the Rasa side runs Python 3.10
    JE = "je"
    U = "u"

    def __str__(self) -> str:
        return self.value


# The service's own buttons and commands for the choice (handled by the service, never Rasa).
PAYLOADS = {ADDRESS_U: Address.U, ADDRESS_JE: Address.JE}
# What an action adds to its reply when youth mode begins: the service then keeps "je".
YOUTH_MARK = {"cjg_address": "youth"}
WISH_MAX_WORDS = 10  # a longer message is a question that happens to mention "u"


@dataclass(frozen=True)
class Override:
    je: str  # a sentence (or part of one) exactly as the je-text has it
    u: str  # what it becomes in the u-form


@dataclass(frozen=True)
class WidgetControl:
    """The chat widget's control for the choice (web/widget/widget.js): shown as written."""

    label: str  # the visible label before the two buttons
    je: str  # the buttons' visible texts
    u: str
    je_name: str  # the buttons' accessible names; each must hold its visible text
    u_name: str
    # The widget's own texts (STRINGS keys in widget.js) that hold "je", as a parent who chose
    # "u" reads them: the widget has them in the je-form, the rewriter never sees them.
    strings_u: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AddressContent:
    version: int
    wish_u: list[str]  # phrases (the safety phrase language) that ask for "u"
    wish_je: list[str]  # phrases that ask for "je"
    possessed: list[str]  # words that follow "je" as what is yours: "je kind" -> "uw kind"
    widget: WidgetControl
    # A noun that makes "je" reflexive when one of its verbs is in the sentence:
    # {zorgen: [maak, maakt, maken]}: "als je je zorgen maakt" -> "als u zich zorgen maakt"
    reflexive: dict[str, list[str]] = field(default_factory=dict)
    overrides: list[Override] = field(default_factory=list)


def _check(loaded: AddressContent, path: Path) -> None:
    for phrase in loaded.wish_u + loaded.wish_je:
        compile_phrase(phrase)
    control = loaded.widget
    for visible, name in ((control.je, control.je_name), (control.u, control.u_name)):
        if visible.lower() not in name.lower():  # WCAG 2.5.3: the name holds what is seen
            raise ContentError(f"{path}: widget: '{name}' must contain '{visible}'")
    for n, item in enumerate(loaded.overrides):
        if not item.je.strip() or not item.u.strip():
            raise ContentError(f"{path}: overrides[{n}]: write both 'je' and 'u'")


def address_content(directory: Path | None = None) -> AddressContent:
    return load_current(AddressContent, (directory or content_dir()) / "address.yml", _check)


def wish(text: str, content: AddressContent | None = None) -> Address | None:
    """The form a message asks for ("zeg maar u", "je mag me tutoyeren"), if it asks."""
    content = content or address_content()
    if matches_any(text, content.wish_u):
        return Address.U
    if matches_any(text, content.wish_je):
        return Address.JE
    return None


# --- the rewriter ---------------------------------------------------------------------------

# Quoted speech: "...", “...”, „...”, and '...' when the quote opens a word ('s avonds does not).
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”|„[^”“]*[”“]|‘[^’]*’|(?<![\w])'(?![st]\s)[^'\n]*'(?![\w])")
_TOKEN = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*|\S")

# A finite verb right before a subject "je" (the question order): its u-form.
INVERTED = {
    "ben": "bent",
    "heb": "heeft",
    "kun": "kunt",
    "kan": "kunt",
    "wil": "wilt",
    "zal": "zult",
    "ga": "gaat",
    "sta": "staat",
    "doe": "doet",
    "zie": "ziet",
    "sla": "slaat",
    "vind": "vindt",
    "word": "wordt",
    "houd": "houdt",
    "hou": "houdt",
}
# Question-order verbs that keep their form with "u" (already end in t/d, modal, past tense).
SAME = {
    "mag",
    "moet",
    "weet",
    "zou",
    "zit",
    "kon",
    "mocht",
    "moest",
    "wist",
    "had",
    "was",
    "wilde",
    "zat",
    "praat",
    "eet",
    "wacht",
    "zet",
    "laat",
}
# Regular verbs in question order get -t ("merk je" -> "merkt u").
REGULAR = {
    "merk",
    "maak",
    "voel",
    "krijg",
    "hoef",
    "woon",
    "kom",
    "denk",
    "hoor",
    "leer",
    "zoek",
    "vraag",
    "blijf",
    "twijfel",
    "begin",
    "kijk",
    "lees",
    "speel",
    "slaap",
    "werk",
    "stel",
    "geef",
    "help",
    "neem",
    "leg",
    "vertel",
    "stuur",
    "oefen",
    "typ",
    "schrijf",
    "begrijp",
    "haal",
    "herken",
    "bepaal",
    "spreek",
    "probeer",
    "gebruik",
    "verwacht",
    "klik",
    "zeg",
}
# Question-order verbs whose form differs from the third person ("heb" but "heeft"): the "je"
# after them is the subject even when a noun follows ("Heb je vragen?", not "Heb uw vragen").
SUBJECT_AFTER = {"heb", "ben", "kun", "krijg", "woon", "hoef", "merk", "twijfel", "word"}
# A finite verb right after a subject "je"/"jij" whose u-form differs.
AFTER = {"hebt": "heeft", "kan": "kunt", "wil": "wilt", "zal": "zult"}
# Words after which a "je" (not followed by a noun) starts a clause as its subject.
CLAUSE_START = {
    "als",
    "dat",
    "wat",
    "hoe",
    "of",
    "waar",
    "wanneer",
    "zodat",
    "omdat",
    "voordat",
    "terwijl",
    "en",
    "maar",
    "want",
    "die",
    "wie",
    "waarop",
    "zoals",
    "hoeveel",
    "tot",
    "nadat",
    "zodra",
    "dan",
    "welke",
}
# Closed-class words that can follow a pronoun "je" ("je kunt", "met je mee", "als je niet").
FUNCTION = frozenset(
    [
        "mee",
        "in",
        "ook",
        "niet",
        "met",
        "het",
        "dat",
        "terecht",
        "daar",
        "zelf",
        "meer",
        "op",
        "al",
        "om",
        "er",
        "af",
        "de",
        "nog",
        "een",
        "dit",
        "hier",
        "graag",
        "lang",
        "vaak",
        "goed",
        "nu",
        "later",
        "meteen",
        "iets",
        "misschien",
        "wel",
        "wat",
        "over",
        "zo",
        "liever",
        "veel",
        "erop",
        "naast",
        "daarvan",
        "heel",
        "van",
        "zelfs",
        "ze",
        "even",
        "rustig",
        "vooraf",
        "daarna",
        "te",
        "geen",
        "toch",
        "weer",
        "samen",
        "alles",
        "achter",
        "aan",
        "als",
        "eerst",
        "hem",
        "haar",
        "hun",
        "ons",
        "me",
        "mij",
        "die",
        "daarmee",
        "daarover",
        "daarbij",
        "echt",
        "altijd",
        "nooit",
        "soms",
        "eens",
        "gewoon",
        "alleen",
        "bang",
        "boos",
        "moe",
        "blij",
        "verdrietig",
        "bezorgd",
        "anoniem",
        "helaas",
        "kwijt",
        "gehecht",
        "gebeld",
        "gezien",
        "geïnteresseerd",
        "slecht",
        "leuk",
        "jonger",
        "ouder",
        "dan",
        "voor",
        "bij",
        "tegen",
        "door",
        "uit",
        "naar",
        "zich",
        "hoe",
        "waar",
        "wanneer",
        "waarom",
        "welke",
        "niets",
        "vanaf",
        "tijdens",
        "na",
        "zonder",
        "onder",
        "boven",
        "bovendien",
        "eigenlijk",
        "vast",
        "allemaal",
        "snel",
        "zeker",
        "sneller",
        "beter",
        "steeds",
        "weleens",
        "wellicht",
        "best",
        "erg",
        "zeer",
        "twee",
        "drie",
        "gerust",
        "hierover",
    ]
)
_U = {"je": "u", "jij": "u", "jou": "u", "jouw": "uw", "jezelf": "uzelf"}


@dataclass
class _Word:
    text: str
    start: int
    end: int

    @property
    def low(self) -> str:
        return self.text.lower()


def _cased(new: str, old: str) -> str:
    return new[:1].upper() + new[1:] if old[:1].isupper() else new


def _is_verbish(word: str) -> bool:
    """A verb form by its ending: finite (-t, -de/-te) or an infinitive (-en)."""
    return word.endswith(("t", "en", "de", "te"))


class _Rewriter:
    def __init__(self, content: AddressContent) -> None:
        self.possessed = {w.lower() for w in content.possessed}
        self.reflexive = {k.lower(): {v.lower() for v in vs} for k, vs in content.reflexive.items()}
        self.issues: list[str] = []

    def segment(self, text: str) -> str:
        """One stretch of text outside quotes."""
        words = [_Word(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
        new = [w.text for w in words]
        subject_seen = False  # a subject "je" earlier in this sentence
        for i, word in enumerate(words):
            low = word.low
            if low in ".?!;:•\n":
                subject_seen = False
                continue
            if low not in _U or text[word.start - 1 : word.start] == "/":
                continue  # not a pronoun, or a command ("/je" in Telegram's /help)
            prev = words[i - 1].low if i else ""
            nxt = words[i + 1].low if i + 1 < len(words) else ""
            if low == "jouw":
                new[i] = _cased("uw", word.text)
                continue
            if low in ("jou", "jezelf"):
                new[i] = _cased(_U[low], word.text)
                continue
            after_subject = subject_seen and low == "je" and prev in ("je", "jij")
            if after_subject and nxt not in self.possessed:
                new[i] = "zich"  # "voel je je schuldig", "kun je je afvragen"
                continue
            possessive = low == "je" and prev not in SUBJECT_AFTER and self._possessive(nxt)
            if possessive and subject_seen and self._reflexive_here(nxt, words, i):
                new[i] = "zich"  # "als je je zorgen maakt", "je maakt je zorgen"
                continue
            if possessive:
                new[i] = _cased("uw", word.text)
                continue
            new[i] = _cased("u", word.text)
            subject = (
                self._inverted(i, words, new)
                or prev in CLAUSE_START
                or prev
                in (
                    "",
                    ".",
                    "?",
                    "!",
                    ":",
                    ";",
                    ",",
                    "•",
                )
            )
            if subject:
                subject_seen = True
                if nxt in AFTER:
                    new[i + 1] = _cased(AFTER[nxt], words[i + 1].text)
        # "hebt" only ever goes with "je": in a rewritten text it goes with "u"
        for i, word in enumerate(words):
            if word.low == "hebt":
                new[i] = _cased("heeft", word.text)
        out: list[str] = []
        last = 0
        for word, replacement in zip(words, new, strict=True):
            out.append(text[last : word.start])
            out.append(replacement)
            last = word.end
        out.append(text[last:])
        return "".join(out)

    def _reflexive_here(self, noun: str, words: list[_Word], i: int) -> bool:
        """ "je zorgen" is reflexive when "maken" is in the same sentence."""
        verbs = self.reflexive.get(noun)
        if not verbs:
            return False
        ends = [n for n, w in enumerate(words) if w.low in (".", "?", "!", ";", ":")]
        start = max((n for n in ends if n < i), default=-1) + 1
        end = min((n for n in ends if n > i), default=len(words))
        return any(w.low in verbs for w in words[start:end])

    def _inverted(self, i: int, words: list[_Word], new: list[str]) -> bool:
        """A verb right before "je" in question order: it takes the u-form. True if so."""
        if i == 0:
            return False
        prev = words[i - 1]
        low = prev.low
        if low in INVERTED:
            new[i - 1] = _cased(INVERTED[low], prev.text)
        elif low in REGULAR:
            new[i - 1] = prev.text + "t"
        elif low not in SAME:
            return False
        return True

    def _possessive(self, nxt: str) -> bool:
        if nxt in self.possessed:
            return True
        if nxt in FUNCTION or nxt in _U or nxt in AFTER or not nxt.isalpha():
            return False
        if _is_verbish(nxt):
            return False
        self.issues.append(f"'je {nxt}': is '{nxt}' a noun (add it to possessed) or not?")
        return True  # an unknown word after "je" is most likely a noun


def _convert(text: str, content: AddressContent, issues: list[str] | None) -> str:
    for item in content.overrides:
        text = text.replace(item.je, _MARK.format(content.overrides.index(item)))
    rewriter = _Rewriter(content)
    out: list[str] = []
    last = 0
    for quoted in _QUOTED.finditer(text):
        out.append(rewriter.segment(text[last : quoted.start()]))
        out.append(quoted.group())
        last = quoted.end()
    out.append(rewriter.segment(text[last:]))
    result = "".join(out)
    for n, item in enumerate(content.overrides):
        result = result.replace(_MARK.format(n), item.u)
    if issues is not None:
        issues.extend(rewriter.issues)
    return result


_MARK = "\x00{}\x00"  # an override's place while the rest is rewritten


def to_u(text: str, content: AddressContent | None = None) -> str:
    """The u-form of a je-text (quoted speech and overrides as described above)."""
    return _convert(text, content or address_content(), None)


def unresolved(text: str, content: AddressContent | None = None) -> list[str]:
    """The words after "je" that the rewriter had to guess about (for the content test)."""
    issues: list[str] = []
    _convert(text, content or address_content(), issues)
    return issues


def outside_quotes(text: str) -> str:
    """The text without its quoted speech (for checks: no "je" may be left there)."""
    return _QUOTED.sub(" ", text)
