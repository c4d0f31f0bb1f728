"""The first 40 held-out messages of bench/first_reply.py (--smoke) on the session's Rasa: every
one gets an answer (a non-200 from Rasa ends the benchmark) and a verdict."""

from __future__ import annotations

import pytest

from bench import first_reply
from tests.conftest import RasaStack

pytestmark = pytest.mark.rasa


async def test_the_first_reply_smoke_judges_every_message(rasa_stack: RasaStack) -> None:
    messages = first_reply.held_out()[:40]
    verdicts = await first_reply.measure(
        f"{rasa_stack.url}/webhooks/cjg/webhook", rasa_stack.token, messages
    )
    assert sum(verdicts.values()) == len(messages) == 40
    assert verdicts["right"] > 0, verdicts
