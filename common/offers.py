"""The group offer catalogue (groepsaanbod) in content/offers.yml, and how the bot searches it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from common.content import ContentError, OfferTheme, _build, content_dir, load_current

Audience = Literal["ouder", "kind", "jongere", "gezin"]
Format = Literal["training", "webinar", "workshop", "ouderavond"]
MAX_AGE = 23

THEME_LABELS: dict[str, str] = {
    "opvoeden_opgroeien": "Opvoeden & Opgroeien",
    "mindset_prestatiedruk": "Mindset & Prestatiedruk",
    "weerbaarheid": "Weerbaarheid",
    "scheiden": "Scheiden",
}


@dataclass(frozen=True)
class Offer:
    id: str
    title: str
    theme: OfferTheme
    audience: Audience
    age_min: int | None
    age_max: int | None
    format: Format
    description: str
    link: str
    topics: list[str] = field(default_factory=list)

    def fits_age(self, age: int) -> bool:
        low = 0 if self.age_min is None else self.age_min
        high = MAX_AGE if self.age_max is None else self.age_max
        return low <= age <= high


@dataclass(frozen=True)
class Catalogue:
    version: int
    offers: list[Offer]


def check_offer(offer: Offer, where: str) -> None:
    """Rules beyond the field types; raises ContentError naming the place and the reason."""
    if not offer.link.startswith("https://"):
        raise ContentError(f"{where}: link must start with https://")
    for name in ("age_min", "age_max"):
        value = getattr(offer, name)
        if value is not None and not 0 <= value <= MAX_AGE:
            raise ContentError(f"{where}: {name} must be between 0 and {MAX_AGE}")
    if offer.age_min is not None and offer.age_max is not None and offer.age_min > offer.age_max:
        raise ContentError(f"{where}: age_min is above age_max")


def check_catalogue(catalogue: Catalogue, path: Path) -> None:
    seen: set[str] = set()
    for i, offer in enumerate(catalogue.offers):
        check_offer(offer, f"{path}: offers[{i}]")
        if offer.id in seen:
            raise ContentError(f"{path}: offers[{i}]: id '{offer.id}' is used twice")
        seen.add(offer.id)


def parse_offer(data: object, where: str) -> Offer:
    """One offer from an import row or a catalogue entry; ContentError names what is wrong."""
    try:
        offer = _build(Offer, data, "")
    except ContentError as exc:
        raise ContentError(f"{where}: {exc}") from None
    check_offer(offer, where)
    return offer


def catalogue_path() -> Path:
    return content_dir() / "offers.yml"


def catalogue(path: Path | None = None) -> Catalogue:
    """The catalogue, re-read when the file changes (an import needs no restart)."""
    return load_current(Catalogue, path or catalogue_path(), check_catalogue)


def _plain(text: str) -> str:
    """Lower case, "&" as "en", punctuation as spaces: "Rots & Water" is "rots en water"."""
    words = re.findall(r"[a-z0-9]+", text.lower().replace("&", " en "))
    return f" {' '.join(words)} "


def named(offers: list[Offer], text: str) -> list[Offer]:
    """The offers whose name the text mentions ("triple p", "rots & water"), longest name first
    (so "Triple P 'transitions'" wins over "Triple P")."""
    said = _plain(text)
    found = [(len(n), o) for o in offers for n in _names(o.title) if _plain(n) in said]
    found += [
        (len(short), o)
        for o in offers
        for short in re.findall(r"\(([^)]+)\)", o.title)
        if re.search(rf"\b{re.escape(short)}\b", text)  # "KIES" in capitals, not "ik kies"
        or re.search(rf"\b{re.escape(short.lower())}[- ]?(?:training|groep|cursus)", text.lower())
    ]
    ordered: list[Offer] = []
    for _, offer in sorted(found, key=lambda f: -f[0]):
        if offer not in ordered:
            ordered.append(offer)
    return ordered


def _names(title: str) -> list[str]:
    """A title without its tail: "Rots & Water trainingen" is also "Rots & Water"."""
    return [re.split(r"\s+(?:trainingen|training|cursus)$|[!?(:,]", title, maxsplit=1)[0]]


def search(
    offers: list[Offer],
    theme: str | None = None,
    age: int | None = None,
    topic: str | None = None,
    limit: int = 3,
    text: str = "",
) -> list[Offer]:
    """The best offers for what we know, best first; empty when nothing fits.

    An offer must match the theme (when given) and the child's age (when both are known). An
    offer named in ``text`` comes first, then offers made for the parent's topic, then those
    with an age range that includes the child.
    """
    mentioned = named(offers, text) if text else []
    scored: list[tuple[int, str, Offer]] = []
    for offer in offers:
        if offer in mentioned:
            scored.append((-10 - len(offer.title), offer.title, offer))
            continue
        if theme is not None and offer.theme != theme:
            continue
        if age is not None and not offer.fits_age(age):
            continue
        score = 1
        if topic is not None and topic in offer.topics:
            score += 2
        if age is not None and offer.age_min is not None:
            score += 1  # made for this age, not merely open to it
        scored.append((-score, offer.title, offer))
    return [offer for _, _, offer in sorted(scored, key=lambda t: (t[0], t[1]))][:limit]


@dataclass(frozen=True)
class AgeButton:
    title: str
    age: int


@dataclass(frozen=True)
class FinderTexts:
    """What the offer finder says, and the words that ask for it (content/offer_finder.yml)."""

    version: int
    request_words: list[str]
    found: str
    overview: str
    overview_button: str
    overview_link: str
    narrow_theme: str
    narrow_age: str
    age_buttons: list[AgeButton]
    none_found: str
    accept: str
    decline: str
    offer_button: str


def finder_texts() -> FinderTexts:
    return load_current(FinderTexts, content_dir() / "offer_finder.yml")


def wants_offers(text: str) -> bool:
    """Whether the message asks for the group offer: a course word, or an offer by name."""
    said = _plain(text)
    for wanted in finder_texts().request_words:
        stem = _plain(wanted.rstrip("*")).rstrip()  # " thema avond"
        if (stem + " " in said) or (wanted.endswith("*") and stem in said):
            return True
    return bool(named(catalogue().offers, text))


def spread(offers: list[Offer], limit: int = 3) -> list[Offer]:
    """One offer per theme first, so an overview shows the breadth of the offer."""
    firsts: list[Offer] = []
    for offer in offers:
        if all(o.theme != offer.theme for o in firsts):
            firsts.append(offer)
    rest = [o for o in offers if o not in firsts]
    return (firsts + rest)[:limit]


def age_matters(offers: list[Offer], theme: str | None) -> bool:
    """Whether knowing the child's age would change what is shown for this theme."""
    return any(
        o.age_min is not None or o.age_max is not None
        for o in offers
        if theme is None or o.theme == theme
    )


def theme_for_topic(offers: list[Offer], topic: str) -> str | None:
    """The theme of the offers made for a topic (the most common one), if any."""
    themes = [o.theme for o in offers if topic in o.topics]
    return max(sorted(set(themes)), key=themes.count) if themes else None
