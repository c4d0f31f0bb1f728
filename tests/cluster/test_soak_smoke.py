"""The soak benchmark's smoke (bench/soak.py --smoke), run here rather than as a step of its own
so that it shares the test session's Rasa instead of starting one (the slowest part of a start):
widget parents and youths and a staff console through nginx in front of two service instances,
for 20 s. It fails on anything lost, duplicated or failed, as the full run does."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import soak
from tests.conftest import RasaStack, RedisServer

pytestmark = [pytest.mark.cluster, pytest.mark.rasa]


def test_the_soak_smoke_loses_nothing_and_doubles_nothing(
    tmp_path: Path, redis_server: RedisServer, rasa_stack: RasaStack
) -> None:
    args = soak.arguments(["--smoke"])
    # The session's Rasa keeps its trackers in the session Redis's database 0.
    settings = {"CJG_RASA_TRACKER_REDIS_URL": redis_server.url(0)}
    assert soak.soak_once(args, tmp_path / "soak", rasa=rasa_stack, settings=settings)
