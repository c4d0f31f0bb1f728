"""The safety check: does a message signal danger (suicide, self-harm, abuse, acute danger ...)?

It runs on every user message before anything else, so it is plain, fast and explainable: a
phrase list that I&A staff edit in ``content/safety.yml``, and the crisis contacts in
``content/crisis_contacts.yml``. The phrase language is small on purpose:

- words are matched after normalising (lower case, no accents, punctuation as spaces);
- ``zelfmoord*`` matches any word that starts with ``zelfmoord``;
- ``slaat|schopt`` matches either word;
- ``...`` allows up to four other words in between ("vader ... slaat");
- exceptions ("dood van het lachen") take away the words they match before the check runs.

Standard library and PyYAML only: the messaging service and the Rasa side both use it.
"""

from __future__ import annotations

import dataclasses
import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from common.content import ContentError, content_dir, load_current

GAP = 4  # words that "..." may skip
_WORD = re.compile(r"[a-z0-9]+")


def without_format(text: str) -> str:
    """Text without invisible format characters (Unicode category Cf: zero-width spaces and
    joiners, word joiner, byte-order mark, soft hyphen, direction marks ...), which would
    otherwise split a word for the phrase list ("d\u200bood")."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def normalise(text: str) -> list[str]:
    """Lower case, accents removed, words only: "Ik wíl er niet méér zijn!" -> ik wil er ...

    Compatibility forms count as their plain letters (fullwidth "ｄｏｏｄ" is "dood") and
    invisible format characters are ignored."""
    decomposed = unicodedata.normalize("NFKD", without_format(text).lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _WORD.findall(plain)


@dataclass(frozen=True)
class _Slot:
    options: tuple[str, ...]  # a trailing "*" means "starts with"
    gap_before: int  # how many other words may come before this one (0: directly after)


@lru_cache(maxsize=4096)
def compile_phrase(phrase: str) -> tuple[_Slot, ...]:
    slots: list[_Slot] = []
    gap = 0
    for token in phrase.lower().split():
        if token == "...":
            if not slots or gap:
                raise ContentError(f"safety phrase {phrase!r}: '...' must stand between words")
            gap = GAP
            continue
        options = tuple(normalise_option(o) for o in token.split("|"))
        if not options or any(not o or o == "*" for o in options):
            raise ContentError(f"safety phrase {phrase!r}: {token!r} is not a word")
        slots.append(_Slot(options, gap))
        gap = 0
    if not slots or gap:
        raise ContentError(f"safety phrase {phrase!r} must start and end with a word")
    return tuple(slots)


def normalise_option(option: str) -> str:
    star = option.endswith("*")
    words = normalise(option.rstrip("*"))
    if len(words) != 1:
        return ""
    return words[0] + ("*" if star else "")


_GAP = f"(?: [a-z0-9]+){{0,{GAP}}}"  # up to GAP other words; never across a removed "#"


def _slot_regex(slot: _Slot) -> str:
    options = [
        re.escape(o[:-1]) + "[a-z0-9]*" if o.endswith("*") else re.escape(o) for o in slot.options
    ]
    return "(?:" + "|".join(options) + ")"


_START = "(?<![a-z0-9#])"  # a phrase starts a word (and never right after a removed "#")


@lru_cache(maxsize=4096)
def phrase_regex(phrase: str) -> str:
    """A phrase as a regular expression over the normalised words joined by single spaces."""
    parts = []
    for index, slot in enumerate(compile_phrase(phrase)):
        if index:
            parts.append(_GAP + " " if slot.gap_before else " ")
        parts.append(_slot_regex(slot))
    return _START + "".join(parts) + "(?![a-z0-9])"


def _without_start(phrase: str) -> str:
    return f"(?:{phrase_regex(phrase).removeprefix(_START)})"


@lru_cache(maxsize=64)
def _any_of(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """All phrases in one compiled expression, in their order (what ``sub`` replaces): the
    same matches as ``(?:phrase 1)|(?:phrase 2)|...``, with the word-start condition tested
    once per position instead of once per phrase."""
    return re.compile(_START + "(?:" + "|".join(_without_start(p) for p in phrases) + ")")


@lru_cache(maxsize=64)
def _finder(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """Whether any phrase matches, fast (every message passes the categories): the phrases
    grouped by the first letter of their first word, so a word tries only the phrases that
    can start with it. Finds a match exactly when ``_any_of`` does (not always the same one:
    only for ``search`` as a yes or no)."""
    groups: dict[str, list[str]] = {}
    mixed: list[str] = []  # first words with several first letters ("slaat|schopt|mept")
    for phrase in phrases:
        letters = {option[0] for option in compile_phrase(phrase)[0].options}
        group = groups.setdefault(letters.pop(), []) if len(letters) == 1 else mixed
        group.append(_without_start(phrase))
    branches = [f"(?={re.escape(first)})(?:{'|'.join(group)})" for first, group in groups.items()]
    if mixed:
        branches.append("(?:" + "|".join(mixed) + ")")
    return re.compile(_START + "(?:" + "|".join(branches) + ")")


@dataclass(frozen=True)
class Category:
    label: str  # Dutch, for staff: shown on the urgent handoff
    contacts: list[str]  # keys in crisis_contacts.yml, the most fitting first
    patterns: list[str]


@dataclass(frozen=True)
class SafetyPhrases:
    version: int
    categories: dict[str, Category]
    exceptions: list[str] = dataclasses.field(default_factory=list)
    # The assistant's crisis intent raises the signal at this confidence or above; below it,
    # it asks whether the message is about someone's safety (bench/calibrate_safety.py).
    # 1.0: it always asks (the model is not sure enough yet to raise an alarm by itself).
    intent_threshold: float = 1.0


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str
    when: str  # Dutch: "Bij direct gevaar", "Voor kinderen en jongeren"
    url: str = ""


@dataclass(frozen=True)
class CheckQuestion:
    """Asked when the crisis intent is unsure: is this about someone's safety?"""

    text: str
    confirm: str  # the "yes" button
    decline: str  # the "no" button
    # Above the contacts listed under the question: the numbers are there at once, before "Ja".
    contacts_intro: str = ""


@dataclass(frozen=True)
class CrisisContacts:
    version: int
    intro: str
    cjg_can: str  # what the CJG can do now (during opening hours)
    cjg_closed: str  # what it cannot do now (outside opening hours)
    contacts: dict[str, Contact]
    check: CheckQuestion


@dataclass(frozen=True)
class Signal:
    category: str
    label: str
    phrase: str  # the pattern that matched: explainable to staff, never the user's text


def check_text(text: str, phrases: SafetyPhrases) -> Signal | None:
    """The first category whose phrases match ``text``, after the exceptions are taken out."""
    joined = " ".join(normalise(text))
    if phrases.exceptions:  # a removed figure of speech leaves "#", which no phrase crosses
        joined = _any_of(tuple(phrases.exceptions)).sub("#", joined)
    for key, category in phrases.categories.items():
        if _finder(tuple(category.patterns)).search(joined):
            pattern = next(p for p in category.patterns if re.search(phrase_regex(p), joined))
            return Signal(key, category.label, pattern)
    return None


def matches_any(text: str, phrases: list[str]) -> bool:
    """Whether any phrase (in the language above) matches ``text``; for other phrase lists
    such as the youth markers."""
    return bool(phrases) and bool(_finder(tuple(phrases)).search(" ".join(normalise(text))))


def _check_phrases(loaded: SafetyPhrases, path: Path) -> None:
    for key, category in loaded.categories.items():
        if not category.patterns:
            raise ContentError(f"{path}: categories.{key}.patterns is empty")
        for pattern in category.patterns:
            compile_phrase(pattern)  # raises ContentError with the phrase
        _finder(tuple(category.patterns))  # compiled now, not at the first message
    for exception in loaded.exceptions:
        compile_phrase(exception)
    if not 0.5 <= loaded.intent_threshold <= 1.0:
        raise ContentError(f"{path}: intent_threshold: a confidence between 0.5 and 1")


def safety_phrases(directory: Path | None = None) -> SafetyPhrases:
    return load_current(SafetyPhrases, (directory or content_dir()) / "safety.yml", _check_phrases)


def crisis_contacts(directory: Path | None = None) -> CrisisContacts:
    return load_current(CrisisContacts, (directory or content_dir()) / "crisis_contacts.yml")


def contact_lines(contacts: CrisisContacts, first: list[str] | None = None) -> list[str]:
    """One line per contact, the ``first`` keys first: the same wording on the card and under
    the check question."""
    order = first or []
    keys = [*order, *(k for k in contacts.contacts if k not in order)]
    return [f"• {c.name}: {c.phone}. {c.when}." for c in (contacts.contacts[k] for k in keys)]


def check_references(directory: Path | None = None) -> None:
    """Every contact a category names exists; run by the content tests and at start."""
    contacts = crisis_contacts(directory).contacts
    for key, category in safety_phrases(directory).categories.items():
        for name in category.contacts:
            if name not in contacts:
                raise ContentError(f"safety.yml: categories.{key}.contacts: unknown {name!r}")


# The assistant's crisis intent: its action puts this in a reply, and the service then acts
# exactly as for a matching phrase (card, urgent handoff), with this category.
NLU_SIGNAL_KEY = "cjg_safety"
NLU_CATEGORY = "crisis_intent"
NLU_LABEL = "Zorg over veiligheid (herkend door de chatbot)"


def nlu_signal_payload(confidence: float) -> dict[str, object]:
    return {NLU_SIGNAL_KEY: {"category": NLU_CATEGORY, "confidence": round(confidence, 3)}}


def nlu_signal(custom: object) -> Signal | None:
    """The signal in a bot message's ``custom`` payload from the crisis intent, if any."""
    if isinstance(custom, dict) and isinstance(custom.get(NLU_SIGNAL_KEY), dict):
        return Signal(NLU_CATEGORY, NLU_LABEL, "intent: crisis")
    return None


def main(argv: list[str]) -> int:
    """``python -m common.safety "tekst"``: which category and phrase match (for content work)."""
    phrases = safety_phrases()
    for text in argv or [line.rstrip("\n") for line in sys.stdin]:
        signal = check_text(text, phrases)
        print(f"{signal.category:24s} {signal.phrase!r}" if signal else f"{'-':24s}", "|", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
