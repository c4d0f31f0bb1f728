"""Five risk and five ordinary messages of bench/calibrate_safety.py (--smoke) on the session's
Rasa: the calibration still runs, and each risk message raises the alarm or the question."""

from __future__ import annotations

import pytest

from bench import calibrate_safety
from tests.conftest import RasaStack

pytestmark = pytest.mark.rasa


async def test_the_safety_calibration_smoke_scores_both_kinds(rasa_stack: RasaStack) -> None:
    scored = await calibrate_safety.score(rasa_stack.url, rasa_stack.token, 5)
    assert [len(scored["risk"]), len(scored["ordinary"])] == [5, 5]
    assert calibrate_safety.report(scored) == 1.0
