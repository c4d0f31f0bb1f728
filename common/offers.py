"""The group offer catalogue (groepsaanbod) in content/offers.yml, and how the bot searches it."""

from __future__ import annotations

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


def search(
    offers: list[Offer],
    theme: str | None = None,
    age: int | None = None,
    topic: str | None = None,
    limit: int = 3,
) -> list[Offer]:
    """The best offers for what we know, best first; empty when nothing fits.

    An offer must match the theme (when given) and the child's age (when both are known). Offers
    made for the parent's topic rank first, then those with an age range that includes the child.
    """
    scored: list[tuple[int, str, Offer]] = []
    for offer in offers:
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


def theme_for_topic(offers: list[Offer], topic: str) -> str | None:
    """The theme of the offers made for a topic (the most common one), if any."""
    themes = [o.theme for o in offers if topic in o.topics]
    return max(sorted(set(themes)), key=themes.count) if themes else None
