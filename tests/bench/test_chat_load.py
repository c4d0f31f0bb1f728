"""A few seconds of bench/chat_load.py (--smoke) on the session's Rasa and the bench service:
it fails when a target answers nothing or more than 1% errors, as the full run does."""

from __future__ import annotations

import pytest

from bench import chat_load
from tests.conftest import RasaStack
from tests.servers import Service

pytestmark = pytest.mark.rasa


async def test_the_chat_load_smoke_measures_answers_not_errors(
    rasa_stack: RasaStack, bench_service: Service
) -> None:
    args = chat_load.arguments(["--smoke"])
    totals = await chat_load.measure(chat_load.targets(rasa_stack, bench_service), args)
    chat_load.report(totals, args)
    problem = chat_load.problems(totals)
    assert problem is None, problem
    assert set(totals) == {"rasa (idle, 1 user)", "rasa", "service", "widget"}
