"""Loads the staff-editable content files in ``content/`` and checks them against their schema.

Both Python environments import this module (Rasa's actions and the messaging service), so it
depends only on the standard library and PyYAML. The schema of each file is a dataclass: a file
that does not match is rejected with the file, the field and the reason, so that I&A staff who
edit a file know exactly what to fix.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"

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


SERVICE_MESSAGE_KEYS = frozenset(
    {
        "assistant_unavailable",
        "empty_message",
        "message_too_long",
        "invalid_request",
        "handoff_failed",
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
    raise TypeError(f"unsupported schema type {annotation!r}")  # a bug in a schema, not in content


def _build(cls: type[T], data: Any, where: str) -> T:
    if not isinstance(data, dict):
        raise ContentError(f"{where}: must be a mapping")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ContentError(f"{where}: unknown field(s) {', '.join(unknown)}")
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


@cache
def intent_labels(content_dir: Path = CONTENT_DIR) -> IntentLabels:
    return load_file(IntentLabels, content_dir / "intent_labels.yml")


@cache
def service_messages(content_dir: Path = CONTENT_DIR) -> ServiceMessages:
    loaded = load_file(ServiceMessages, content_dir / "service_messages.yml")
    missing = sorted(SERVICE_MESSAGE_KEYS - set(loaded.messages))
    if missing:
        raise ContentError(
            f"{content_dir / 'service_messages.yml'}: messages.{missing[0]} is missing"
        )
    return loaded
