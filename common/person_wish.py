"""Does a message ask for a person, or to be called back? (content/person_wish.yml)

A wish for a person wins over the topic the message is also about; the assistant's NLU checks
this after its model (assistant/nlu/person_wish.py) and the handoff action reads the callback
wish. Standard library and PyYAML only: both environments use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from common.content import ContentError, content_dir, load_current
from common.safety import compile_phrase, matches_any


@dataclass(frozen=True)
class PersonWish:
    version: int
    wish: list[str]
    callback: list[str]
    not_a_wish: list[str] = field(default_factory=list)


def _check(loaded: PersonWish, path: Path) -> None:
    if not loaded.wish or not loaded.callback:
        raise ContentError(f"{path}: wish and callback need at least one phrase each")
    for phrase in [*loaded.wish, *loaded.callback, *loaded.not_a_wish]:
        compile_phrase(phrase)  # raises ContentError naming the phrase


def person_wish(directory: Path | None = None) -> PersonWish:
    return load_current(PersonWish, (directory or content_dir()) / "person_wish.yml", _check)


def wants_callback(text: str, phrases: PersonWish | None = None) -> bool:
    loaded = phrases or person_wish()
    return matches_any(text, loaded.callback) and not matches_any(text, loaded.not_a_wish)


def wants_person(text: str, phrases: PersonWish | None = None) -> bool:
    """A wish to talk to, or be called back by, a person of the CJG."""
    loaded = phrases or person_wish()
    if matches_any(text, loaded.not_a_wish):
        return False
    return matches_any(text, loaded.wish) or matches_any(text, loaded.callback)
