"""Fixtures for action tests: real trackers recorded from a running stack (record_tracker.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk.interfaces import Tracker
from rasa_sdk.types import DomainDict

from common.registration import from_custom

TRACKERS = Path(__file__).parent / "actions" / "trackers"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def recorded_tracker() -> Callable[[str], Tracker]:
    def load(name: str) -> Tracker:
        return Tracker.from_dict(json.loads((TRACKERS / f"{name}.json").read_text()))

    return load


@pytest.fixture(scope="session")
def domain() -> DomainDict:
    loaded: DomainDict = yaml.safe_load((ROOT / "domain.yml").read_text())
    return loaded


def split_notes(
    messages: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """What the user sees, and the registration notes the service takes out (and counts)."""
    notes = [from_custom(m.get("custom")) for m in messages]
    shown = [m for m, n in zip(messages, notes, strict=True) if n is None]
    return shown, [n for n in notes if n is not None]
