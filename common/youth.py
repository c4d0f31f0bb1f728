"""Youth mode: the welcome, the topic menu and the honest answers about anonymity, from
``content/youth.yml``; and whether a message sounds like a youth writing.

Standard library and PyYAML only: the assistant's actions use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from common.content import ContentError, content_dir, load_current, topics
from common.safety import compile_phrase, matches_any

ANSWERS = ("anoniem", "ouders_weten")


@dataclass(frozen=True)
class MenuItem:
    topic: str  # an id in content/topics/ with a youth block
    title: str


@dataclass(frozen=True)
class YouthContent:
    version: int
    welcome: str
    menu: list[MenuItem]
    answers: dict[str, str]  # anoniem, ouders_weten
    markers: list[str] = field(default_factory=list)  # phrases that show a youth is writing


def _check(loaded: YouthContent, path: Path) -> None:
    known = topics(path.parent)
    for item in loaded.menu:
        topic = known.get(item.topic)
        if topic is None:
            raise ContentError(f"{path}: menu: no file content/topics/{item.topic}.yml")
        if topic.youth is None:
            raise ContentError(f"{path}: menu: content/topics/{item.topic}.yml has no youth block")
    for name in ANSWERS:
        if not loaded.answers.get(name, "").strip():
            raise ContentError(f"{path}: answers.{name}: write the answer")
    for marker in loaded.markers:
        compile_phrase(marker)


def youth_content(directory: Path | None = None) -> YouthContent:
    return load_current(YouthContent, (directory or content_dir()) / "youth.yml", _check)


@dataclass(frozen=True)
class Askers:
    """content/askers.yml: phrases that show a professional is asking (for the figures)."""

    version: int
    professional: list[str]


def _check_askers(loaded: Askers, path: Path) -> None:
    for marker in loaded.professional:
        compile_phrase(marker)


def sounds_professional(text: str) -> bool:
    """ "Ik ben leerkracht", "een leerling van mij ...": counted as a professional's question."""
    path = content_dir() / "askers.yml"
    return matches_any(text, load_current(Askers, path, _check_askers).professional)


def sounds_young(text: str) -> bool:
    """A youth's own words ("ik ben 14", "mijn ouders ..."): answer in youth mode."""
    return matches_any(text, youth_content().markers)
