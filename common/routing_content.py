"""content/routing.yml: the CJG's profiles (diepteprofielen) and which chat asks for which.

Apart from ``handoff.routing`` (on the floor below both) so that ``staff.accounts`` can check a
profile or team name without importing the queue logic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.content import (
    ContentError,
    check_topic_groups,
    content_dir,
    load_current,
    municipalities,
    offer_themes,
)
from common.handoff_payload import REASONS


@dataclass(frozen=True)
class RoutingRules:
    """Which profile a chat asks for; the first that applies wins (see the file's comments)."""

    safety: str
    youth: str
    reasons: dict[str, str] = field(default_factory=dict)  # handoff reason -> profile
    topics: dict[str, list[str]] = field(default_factory=dict)  # profile -> chatbot topics
    offer_themes: dict[str, str] = field(default_factory=dict)  # offer theme -> profile


@dataclass(frozen=True)
class RoutingQuestion:
    """ "In welke gemeente woon je?" while waiting (handoff/municipality_question.py)."""

    text: str  # added to the waiting message
    decline: str  # the button beside the municipalities
    thanks: str  # {position}
    declined: str  # {position}
    decline_phrases: list[str] = field(default_factory=list)  # typed instead of the button


@dataclass(frozen=True)
class RoutingContent:
    version: int
    profiles: dict[str, str]  # key -> Dutch label
    rules: RoutingRules
    question: RoutingQuestion | None = None  # None: never asked

    def profile_of_topic(self, topic: str) -> str | None:
        for profile, members in self.rules.topics.items():
            if topic in members:
                return profile
        return None


def _check(loaded: Any, path: Path) -> None:
    assert isinstance(loaded, RoutingContent)
    rules, known = loaded.rules, set(loaded.profiles)
    if not known:
        raise ContentError(f"{path}: profiles: give at least one")
    named = [("rules.safety", rules.safety), ("rules.youth", rules.youth)]
    named += [(f"rules.reasons.{k}", v) for k, v in rules.reasons.items()]
    named += [(f"rules.offer_themes.{k}", v) for k, v in rules.offer_themes.items()]
    named += [(f"rules.topics.{k}", k) for k in rules.topics]
    for where, profile in named:
        if profile not in known:
            raise ContentError(f"{path}: {where}: '{profile}' is not one of the profiles above")
    for reason in rules.reasons:
        if reason not in REASONS:
            raise ContentError(f"{path}: rules.reasons: '{reason}' is not a handoff reason")
    themes = offer_themes(path.parent).themes
    for theme in rules.offer_themes:
        if theme not in themes:
            raise ContentError(f"{path}: rules.offer_themes: '{theme}' is not an offer theme")
    if loaded.question is not None:
        for name in ("thanks", "declined"):
            try:
                getattr(loaded.question, name).format(position=1)
            except (KeyError, IndexError, ValueError) as exc:
                raise ContentError(f"{path}: question.{name}: only {{position}} fits") from exc
    check_topic_groups(path, "rules.topics", rules.topics)


def routing_content(directory: Path | None = None) -> RoutingContent:
    """The file, checked, re-read when staff edit it (live without a restart)."""
    return load_current(RoutingContent, (directory or content_dir()) / "routing.yml", _check)


def team_labels(directory: Path | None = None) -> dict[str, str]:
    """The teams staff can belong to: the municipalities the chat serves, key -> label."""
    found = municipalities(directory).municipalities
    return {key: m.label for key, m in found.items()}
