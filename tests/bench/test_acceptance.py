"""The acceptance set's first replies (bench/acceptance.py --enforce) against their floors, on
the test session's Rasa through the service's /api/chat, as a new parent or youth gets them."""

from __future__ import annotations

import pytest

from bench import acceptance
from tests.servers import Service

pytestmark = pytest.mark.rasa


async def test_the_first_replies_of_the_acceptance_set_meet_their_floors(
    bench_service: Service,
) -> None:
    cases = acceptance.load_cases()
    figures = await acceptance.measure(f"{bench_service.url}/api/chat", cases, misses=True)
    acceptance.report(figures)
    assert sum(n for _, n in figures.values()) == len(cases)
    missed = acceptance.floors_missed(figures)
    assert missed is None, missed
