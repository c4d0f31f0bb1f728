"""The route for professionals (teachers, GPs, youth workers): what the assistant says the first
time it recognises one, from ``content/professionals.yml``. Who is a professional is decided by
the phrases of ``content/askers.yml`` (common/youth.py, ``sounds_professional``).

Standard library and PyYAML only: the assistant's actions use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.content import ContentError, content_dir, load_current


@dataclass(frozen=True)
class ProfessionalTexts:
    version: int
    reply: str
    consult_button: str
    offers_button: str
    offers_link: str
    topic_intro: str
    contact: str | None = None  # the CJG's number or address for professionals: none confirmed

    def text(self) -> str:
        return f"{self.reply}\n\n{self.contact}" if self.contact else self.reply


def _check(loaded: ProfessionalTexts, path: Path) -> None:
    if not loaded.offers_link.startswith("https://"):
        raise ContentError(f"{path}: offers_link: give an https:// address")


def professional_texts(directory: Path | None = None) -> ProfessionalTexts:
    path = (directory or content_dir()) / "professionals.yml"
    return load_current(ProfessionalTexts, path, _check)
