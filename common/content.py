"""Loads the staff-editable content files in ``content/`` and checks them against their schema.

Both Python environments import this module (Rasa's actions and the messaging service), so it
depends only on the standard library and PyYAML. The schema of each file is a dataclass: a file
that does not match is rejected with the file, the field and the reason, so that I&A staff who
edit a file know exactly what to fix.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, cast, get_args, get_origin, get_type_hints

import yaml

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"


def content_dir() -> Path:
    """Where the content files are: content/ in the checkout, or CJG_CONTENT_DIR if set."""
    return Path(os.environ.get("CJG_CONTENT_DIR") or CONTENT_DIR)


T = TypeVar("T")


class ContentError(ValueError):
    """A content file does not match its schema; the message names the file and the field."""


@dataclass(frozen=True)
class IntentLabels:
    """Dutch button labels for the "Bedoel je ...?" question, one per intent."""

    version: int
    labels: dict[str, str]


@dataclass(frozen=True)
class ServiceMessages:
    """Texts the messaging service shows itself when the assistant cannot answer."""

    version: int
    messages: dict[str, str]

    def get(self, key: str) -> str:
        return self.messages[key]


AgeBand = Literal["0-2", "2-4", "5-12", "12-16", "16-23"]
OfferTheme = Literal["opvoeden_opgroeien", "mindset_prestatiedruk", "weerbaarheid", "scheiden"]
NextStepKind = Literal["groepsaanbod", "ia_team", "jgz", "poh_jeugd", "cjg_coach"]


@dataclass(frozen=True)
class NextStep:
    kind: NextStepKind
    text: str


@dataclass(frozen=True)
class AgeStep:
    """What to do next for a child in one age range: the consultatiebureau for a baby, the
    school and the POH-Jeugd for a schoolchild. Replaces the topic's general next step."""

    ages: list[int]  # [from, to], whole years, inclusive
    next_step: NextStep
    see_a_person: str | None = None  # None: the topic's own see_a_person

    def fits(self, age: int) -> bool:
        return self.ages[0] <= age <= self.ages[1]


@dataclass(frozen=True)
class YouthAnswer:
    """The same topic told to a youth: shorter, in their words (youth mode)."""

    title: str
    answer: str
    tips: list[str]
    see_a_person: str


@dataclass(frozen=True)
class Topic:
    """One everyday parenting question (opvoedvraag) and its answer; one file in content/topics/."""

    version: int
    id: str
    title: str
    age_bands: list[AgeBand]
    audience: Literal["ouder", "jongere"]
    answer: str
    tips: list[str]
    next_step: NextStep
    see_a_person: str
    review_date: str  # YYYY-MM-DD: when I&A staff check this answer again
    offer_theme: OfferTheme | None = None  # the group offer theme that fits, if any
    youth: YouthAnswer | None = None  # for the youth topics: the answer in youth mode
    by_age: list[AgeStep] = dataclasses.field(default_factory=list)  # when the age is known

    def step_for(self, age: int | None) -> tuple[NextStep, str]:
        """The next step and the "see a person" text that fit the child's age, if known."""
        for step in self.by_age:
            if age is not None and step.fits(age):
                return step.next_step, step.see_a_person or self.see_a_person
        return self.next_step, self.see_a_person


def check_topic(topic: Topic, path: Path) -> None:
    """Rules a dataclass cannot express; the messages name the file."""
    if topic.id != path.stem:
        raise ContentError(f"{path}: id '{topic.id}' must equal the file name '{path.stem}'")
    if not 2 <= len(topic.tips) <= 4:
        raise ContentError(f"{path}: tips: give 2 to 4 tips, not {len(topic.tips)}")
    if not topic.age_bands:
        raise ContentError(f"{path}: age_bands: name at least one age band")
    if topic.youth is not None and not 1 <= len(topic.youth.tips) <= 3:
        raise ContentError(f"{path}: youth.tips: give 1 to 3 short tips")
    if topic.youth is not None and len(topic.youth.answer.split()) > 80:
        raise ContentError(f"{path}: youth.answer: keep it under 80 words")
    _check_age_steps(topic.by_age, path)
    try:
        date.fromisoformat(topic.review_date)
    except ValueError:
        raise ContentError(f"{path}: review_date: must be a date like 2027-11-23") from None


def _check_age_steps(steps: list[AgeStep], path: Path) -> None:
    taken: set[int] = set()
    for i, step in enumerate(steps):
        if len(step.ages) != 2 or not 0 <= step.ages[0] <= step.ages[1] <= 23:
            raise ContentError(f"{path}: by_age[{i}].ages: give [from, to] in years, 0 to 23")
        years = set(range(step.ages[0], step.ages[1] + 1))
        if years & taken:
            raise ContentError(f"{path}: by_age[{i}].ages: overlaps an earlier range")
        taken |= years


SERVICE_MESSAGE_KEYS = frozenset(
    {
        "assistant_unavailable",
        "empty_message",
        "message_too_long",
        "invalid_request",
        "handoff_failed",
        "handoff_queued",
        "handoff_waiting_ack",
        "queue_position",
        "estimate_minutes",
        "estimate_short",
        "estimate_unknown",
        "handoff_cancelled",
        "handoff_cancel_too_late",
        "staff_joined",
        "staff_released",
        "staff_timeout",
        "staff_transferred",
        "handoff_closed",
        "user_ended",
        "rating_question",
        "rating_thanks",
        "handoff_closed_hours",
        "handoff_nobody_online",
        "message_left",
        "message_cancelled",
        "message_answer",
        "waiting_full",
        "crisis_queued_busy",
        "storage_unavailable",
        "stop_waiting_button",
        "no_message_button",
        "transcript_user_ended",
        "transcript_back_in_queue",
        "transcript_claimed",
        "transcript_transferred",
        "transcript_closed",
        "retrying",
        "urgent_limited_staff",
        "unknown_button",
        "telegram_help",
        "telegram_not_text",
        "telegram_private_only",
        "conversation_stopped",
        "conversation_erased",
        "no_session",
        "rate_limited",
        "unknown_conversation",
        "bad_origin",
        "unsupported_media_type",
        "no_answer",
    }
)


def _check(value: Any, annotation: Any, where: str) -> Any:
    """Checks ``value`` against a type annotation and builds nested dataclasses."""
    origin = get_origin(annotation)
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        return _build(annotation, value, where)
    if origin in (Union, types.UnionType):
        errors = []
        for option in get_args(annotation):
            try:
                return _check(value, option, where)
            except ContentError as exc:
                errors.append(str(exc))
        raise ContentError(errors[-1])
    if annotation is type(None):
        if value is not None:
            raise ContentError(f"{where}: must be empty")
        return None
    if origin is list:
        if not isinstance(value, list):
            raise ContentError(f"{where}: must be a list")
        (item,) = get_args(annotation)
        return [_check(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ContentError(f"{where}: must be a mapping of names to values")
        key_t, val_t = get_args(annotation)
        return {
            _check(k, key_t, f"{where}"): _check(v, val_t, f"{where}.{k}") for k, v in value.items()
        }
    if origin is typing.Literal:
        if value not in get_args(annotation):
            allowed = ", ".join(repr(a) for a in get_args(annotation))
            raise ContentError(f"{where}: {value!r} is not one of {allowed}")
        return value
    if annotation is str:
        if not isinstance(value, str) or not value.strip():
            raise ContentError(f"{where}: must be a non-empty text")
        return value.strip()
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ContentError(f"{where}: must be a whole number")
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise ContentError(f"{where}: must be true or false")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ContentError(f"{where}: must be a number, like 0.9")
        return float(value)
    raise TypeError(f"unsupported schema type {annotation!r}")  # a bug in a schema, not in content


def _build(cls: type[T], data: Any, where: str) -> T:
    if not isinstance(data, dict):
        raise ContentError(f"{where}: must be a mapping")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ContentError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}")
    values = {}
    for name, field in fields.items():
        if name not in data:
            has_default = (
                field.default is not dataclasses.MISSING
                or field.default_factory is not dataclasses.MISSING
            )
            if has_default:
                continue
            raise ContentError(f"{where}: required field '{name}' is missing")
        values[name] = _check(data[name], hints[name], f"{where}.{name}" if where else name)
    return cls(**values)


def load_file(cls: type[T], path: Path) -> T:
    """Reads one YAML file into the dataclass ``cls``; raises ContentError naming the problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ContentError(f"{path}: cannot be read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ContentError(f"{path}: is not valid YAML ({exc})") from exc
    try:
        return _build(cls, data, "")
    except ContentError as exc:
        raise ContentError(f"{path}: {str(exc).lstrip(': ')}") from exc


_WORD = re.compile(r"\{(\w+)\}")


def text_words(table: dict[str, str]) -> dict[str, frozenset[str]]:
    """A page's texts as ``{key: "name count"}``: the words in braces each one may hold."""
    return {key: frozenset(words.split()) for key, words in table.items()}


def check_texts(texts: dict[str, str], words_of: dict[str, frozenset[str]], at: str) -> None:
    """The texts a page shows itself (its keys and the {words} it fills in, ``words_of``):
    every key present, none unknown (a typo), no {word} the page would show as is. ``at``:
    the file and the section, for the message."""
    for key, words in words_of.items():
        text = texts.get(key, "")
        if not text.strip():
            raise ContentError(f"{at}.{key} is missing")
        unknown = sorted(set(_WORD.findall(text)) - words)
        if unknown:
            allowed = ", ".join(f"{{{w}}}" for w in sorted(words)) or "none"
            raise ContentError(
                f"{at}.{key}: {{{unknown[0]}}} is not filled in (allowed: {allowed})"
            )
    for key in texts:
        if key not in words_of:
            raise ContentError(f"{at}.{key}: the page has no such text (a typo?)")


def _stamp(*paths: Path) -> tuple[tuple[str, int], ...]:
    """Names and modification times: a cache key that changes when staff edit a file."""
    return tuple((str(p), p.stat().st_mtime_ns if p.exists() else 0) for p in paths)


Check = Callable[[Any, Path], None]


@lru_cache(maxsize=64)  # bounded: every edit of a file makes a new key
def _load_stamped(cls: type, stamp: tuple[tuple[str, int], ...], check: Check | None) -> object:
    path = Path(stamp[0][0])
    loaded: object = load_file(cls, path)
    if check is not None:
        check(loaded, path)  # once per version of the file, not on every read
    return loaded


def load_current(cls: type[T], path: Path, check: Check | None = None) -> T:
    """``load_file`` (plus ``check``), cached until the file changes: staff edits are live
    without a restart."""
    loaded = _load_stamped(cast(Any, cls), _stamp(path), check)  # classes hash fine
    assert isinstance(loaded, cls)
    return loaded


def intent_labels(directory: Path | None = None) -> IntentLabels:
    return load_current(IntentLabels, (directory or content_dir()) / "intent_labels.yml")


def _check_service_messages(loaded: ServiceMessages, path: Path) -> None:
    missing = sorted(SERVICE_MESSAGE_KEYS - set(loaded.messages))
    if missing:
        raise ContentError(f"{path}: messages.{missing[0]} is missing")


def service_messages(directory: Path | None = None) -> ServiceMessages:
    path = (directory or content_dir()) / "service_messages.yml"
    return load_current(ServiceMessages, path, _check_service_messages)


def topics(directory: Path | None = None) -> dict[str, Topic]:
    """All opvoedvragen by id; the id is the retrieval key ``opvoedvraag/<id>`` in nlu/.

    Re-read when a file changes, so an edited answer is live without a restart or retraining.
    """
    return _topics(_stamp(*sorted(((directory or content_dir()) / "topics").glob("*.yml"))))


def check_topic_groups(path: Path, where: str, groups: Mapping[str, Iterable[str]]) -> None:
    """Topic ids grouped in a content file (``where``: the field, for the message): each one
    must have its file in content/topics/ and belong to one group only."""
    known, seen = topics(path.parent), set[str]()
    for members in groups.values():
        for topic in members:
            if topic not in known:
                raise ContentError(f"{path}: {where}: no file content/topics/{topic}.yml")
            if topic in seen:
                raise ContentError(f"{path}: {where}: '{topic}' is named twice")
            seen.add(topic)


@lru_cache(maxsize=8)
def _topics(stamp: tuple[tuple[str, int], ...]) -> dict[str, Topic]:
    found: dict[str, Topic] = {}
    for path in (Path(name) for name, _ in stamp):
        topic = load_file(Topic, path)
        check_topic(topic, path)
        found[topic.id] = topic
    return found


@dataclass(frozen=True)
class Municipality:
    label: str
    places: list[str] = dataclasses.field(default_factory=list)


@dataclass(frozen=True)
class Municipalities:
    version: int
    municipalities: dict[str, Municipality]

    def places(self) -> dict[str, list[str]]:
        return {key: m.places for key, m in self.municipalities.items()}


def municipalities(directory: Path | None = None) -> Municipalities:
    return load_current(Municipalities, (directory or content_dir()) / "municipalities.yml")


@dataclass(frozen=True)
class OfferThemeInfo:
    label: str
    keywords: list[str]


@dataclass(frozen=True)
class OfferThemes:
    version: int
    themes: dict[OfferTheme, OfferThemeInfo]

    def find(self, text: str) -> str | None:
        """The theme whose keyword occurs in the text (longest keyword wins)."""
        lowered = f" {text.lower()} "
        hits = [
            (len(k), theme)
            for theme, info in self.themes.items()
            for k in info.keywords
            if f" {k.lower()}" in lowered
        ]
        return max(hits)[1] if hits else None


@dataclass(frozen=True)
class LifeStage:
    age: int
    words: list[str]  # a trailing "*": any word that starts with it


@dataclass(frozen=True)
class LifeStages:
    """School and life stages as ages (content/life_stages.yml): "brugklasser" is about 12."""

    version: int
    stages: list[LifeStage]

    def as_words(self) -> dict[str, int]:
        return {word: stage.age for stage in self.stages for word in stage.words}


def _check_stages(loaded: LifeStages, path: Path) -> None:
    for i, stage in enumerate(loaded.stages):
        if not 0 <= stage.age <= 23 or not stage.words:
            raise ContentError(f"{path}: stages[{i}]: an age from 0 to 23 and at least one word")


def life_stages(directory: Path | None = None) -> LifeStages:
    return load_current(LifeStages, (directory or content_dir()) / "life_stages.yml", _check_stages)


def offer_themes(directory: Path | None = None) -> OfferThemes:
    return load_current(OfferThemes, (directory or content_dir()) / "offer_themes.yml")
