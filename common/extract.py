"""Reading a child's age and a municipality from what a parent types.

Used by the offer form's slot extraction, so "mijn zoon van 9", "dochter (14)" or "we wonen in
Overveen" fill the slots without asking again. Standard library only.
"""

from __future__ import annotations

import re
import unicodedata

_WORDS = {
    "nul": 0, "een": 1, "één": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6,
    "zeven": 7, "acht": 8, "negen": 9, "tien": 10, "elf": 11, "twaalf": 12, "dertien": 13,
    "veertien": 14, "vijftien": 15, "zestien": 16, "zeventien": 17, "achttien": 18,
    "negentien": 19, "twintig": 20, "eenentwintig": 21, "tweeëntwintig": 22,
    "drieëntwintig": 23,
}  # fmt: skip
_NUMBER = r"(\d{1,2}|" + "|".join(sorted(_WORDS, key=len, reverse=True)) + r")"
# "van een brugklasser" is an article, not the age 1: after "van", "is" ... only other numbers.
_NUMBER_AFTER_WORD = (
    r"(\d{1,2}|"
    + "|".join(sorted((w for w in _WORDS if w not in ("een", "één")), key=len, reverse=True))
    + r")"
)
_NOT_A_UNIT = r"(?!\s*(?:uur|minuten|min|euro|keer|dagen|kinderen|procent|%))"
_MONTHS = re.compile(r"\b(\d{1,2})\s*(?:maand|maanden|mnd)\b")
_WEEKS = re.compile(r"\b(\d{1,2})\s*(?:week|weken)\b")
_AGE_PATTERNS = [
    re.compile(_NUMBER + r"\s*(?:jaar|jr|jaren|jarige)\b"),
    re.compile(r"\((\d{1,2})\)"),
    re.compile(
        r"\b(?:van|is|wordt|werd|geworden|bijna|net)\s+" + _NUMBER_AFTER_WORD + r"\b" + _NOT_A_UNIT
    ),
    re.compile(r"^\s*" + _NUMBER + r"\s*[.!]?\s*$"),
]
_BABY = re.compile(r"\b(baby|pasgeboren|zuigeling)\b")
MAX_AGE = 23


def _number(token: str) -> int | None:
    value = int(token) if token.isdigit() else _WORDS.get(token)
    return value if value is not None and 0 <= value <= MAX_AGE else None


def extract_age(text: str, stages: dict[str, int] | None = None) -> int | None:
    """The first child's age in whole years, or None. Months and weeks count as age 0 or 1.

    Without a number, a school year ("groep 7") or a stage from ``stages`` ("brugklas*": 12,
    content/life_stages.yml) gives the age; the first one named in the text wins.
    """
    lowered = text.lower()
    for pattern, per_year in ((_MONTHS, 12), (_WEEKS, 52)):
        found = pattern.search(lowered)
        if found:
            return int(found.group(1)) // per_year
    for pattern in _AGE_PATTERNS:
        for found in pattern.finditer(lowered):
            age = _number(found.group(1))
            if age is not None:
                return age
    return age_from_stage(lowered, stages) if stages else (0 if _BABY.search(lowered) else None)


def age_from_stage(text: str, stages: dict[str, int]) -> int | None:
    """The age of the first school year ("groep 7") or life stage the text names."""
    words = re.findall(r"[a-z0-9']+", _fold(text))
    for index, word in enumerate(words):
        if word == "groep" and index + 1 < len(words) and words[index + 1] in set("12345678"):
            return int(words[index + 1]) + 3
        for stage, age in stages.items():
            if word == stage or (stage.endswith("*") and word.startswith(stage[:-1])):
                return age
    return None


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in plain if not unicodedata.combining(c))


def extract_municipality(text: str, places: dict[str, list[str]]) -> str | None:
    """The municipality whose name, or one of whose villages or districts, the text mentions."""
    words = set(re.findall(r"[a-z]+(?:-[a-z]+)?", _fold(text)))
    folded = _fold(text)
    for municipality, names in places.items():
        for name in [municipality, *names]:
            key = _fold(name)
            if key in words or ((" " in key or "-" in key) and key in folded):
                return municipality
    return None


def municipalities_named(text: str, places: dict[str, list[str]]) -> set[str]:
    """Every municipality the text names, itself or by one of its places: "wij wonen in
    Overveen, zijn vader in Zandvoort" names two, which says nothing certain about either."""
    found = set()
    for municipality, names in places.items():
        if extract_municipality(text, {municipality: names}) is not None:
            found.add(municipality)
    return found
