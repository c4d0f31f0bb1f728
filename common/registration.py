"""What the assistant tells the service to register about a turn: the outcome, the topic and
what is known about the asker. Travels as a ``custom`` payload in Rasa's reply, like the
handoff request; one definition for both sides of the HTTP boundary.

Only fixed codes ever go in here (ids, bands, municipality keys), never text the user typed.
Below them, the lists staff register from when they close a chat (content/registration.yml),
which the registrar's counting and the console's close form both read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from common.content import ContentError, check_topic_groups, content_dir, load_current

KEY = "cjg_registration"

Outcome = Literal[
    "topic_answered",  # an everyday parenting question answered from content/topics
    "faq_answered",  # a question about the CJG or the chat itself
    "youth_answer",  # an answer from content/youth.yml (anonymity, parents)
    "offers_shown",  # the offer finder showed group offers
    "no_offer_match",  # the offer finder found nothing that fits
    "divorce_info",  # divorce information (a scheiding topic or the divorce offer theme)
    "not_understood",  # the fallback: the bot did not understand
    "unsure",  # low confidence: the bot asked which topic was meant
]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
USER_TYPES = ("parent", "youth", "professional", "unknown")
AGE_BANDS = ("0-2", "2-4", "5-12", "12-16", "16-23")
FIELDS = ("outcome", "topic", "offer_theme", "user_type", "age_band", "municipality", "guess")


def age_band(age: float | int | None) -> str | None:
    """The band of content/topics for an age in years; None when unknown."""
    if age is None:
        return None
    for upper, band in ((2, "0-2"), (5, "2-4"), (12, "5-12"), (16, "12-16")):
        if age < upper:
            return band
    return "16-23"


def tag(**facts: str | None) -> dict[str, Any]:
    """The ``json_message`` an action sends; unknown fields are refused early."""
    unknown = set(facts) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown registration field(s): {', '.join(sorted(unknown))}")
    if facts.get("outcome") not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
    return {KEY: {k: str(v) for k, v in facts.items() if v is not None}}


def from_custom(custom: Any) -> dict[str, str] | None:
    """The facts in a bot message's ``custom`` payload; None if it carries none.

    Values are cut short and must be plain codes, so a bug upstream cannot smuggle text in.
    """
    if not isinstance(custom, dict) or not isinstance(custom.get(KEY), dict):
        return None
    raw = custom[KEY]
    if raw.get("outcome") not in OUTCOMES:
        return None
    facts: dict[str, str] = {}
    for name in FIELDS:
        value = raw.get(name)
        if isinstance(value, str) and value and len(value) <= 64 and " " not in value:
            facts[name] = value
    return facts


# --- what staff register when they close a chat (content/registration.yml) ------------------


@dataclass(frozen=True)
class StaffOutcome:
    label: str
    needs_referral: bool = False


@dataclass(frozen=True)
class RegistrationOptions:
    """What staff register when they close a chat (the Vink-app's "aantal en soort vragen")."""

    version: int
    topics: dict[str, str]  # key -> Dutch label
    outcomes: dict[str, StaffOutcome]
    referrals: dict[str, str]
    bot_topics: dict[str, list[str]] = field(default_factory=dict)  # theme -> chatbot topics
    # Who asked, as staff saw it (optional in the close form): overrides the bot's own guess.
    askers: dict[str, str] = field(default_factory=dict)  # user type -> Dutch label

    def theme_of(self, topic: str) -> str:
        """The theme a chatbot topic counts under in the figures."""
        for theme, members in self.bot_topics.items():
            if topic in members:
                return theme
        return "anders"


def _check_registration(loaded: Any, path: Path) -> None:
    assert isinstance(loaded, RegistrationOptions)
    for name in ("topics", "outcomes", "referrals"):
        if not getattr(loaded, name):
            raise ContentError(f"{path}: {name}: give at least one")
    for asker in loaded.askers:
        if asker not in USER_TYPES or asker == "unknown":
            raise ContentError(
                f"{path}: askers: '{asker}' is not one of {', '.join(USER_TYPES[:-1])}"
            )
    for theme in loaded.bot_topics:
        if theme not in loaded.topics:
            raise ContentError(f"{path}: bot_topics: '{theme}' is not one of the topics above")
    check_topic_groups(path, "bot_topics", loaded.bot_topics)


def registration_options(directory: Path | None = None) -> RegistrationOptions:
    path = (directory or content_dir()) / "registration.yml"
    return load_current(RegistrationOptions, path, _check_registration)
