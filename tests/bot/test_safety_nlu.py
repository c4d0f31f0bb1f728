"""The safety check as the product runs it: the phrase list first, then the assistant's crisis
intent, measured on the held-out set (tests/safety/messages.yml, written apart from both the
phrase list and the intent's training examples); and the intent's path through the chat API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
import yaml
from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request

from common.safety import NLU_LABEL, SafetyPhrases, check_text, safety_phrases
from handoff.web_keys import HANDOFF
from tests.bot.test_web_chat import chat, cid_of
from tests.common.test_safety import HELD_OUT, MAX_FALSE_ALARMS, TARGET_RECALL
from tests.conftest import RasaStack
from tests.handoff.conftest import ALWAYS, content_copy

Client = TestClient[Request, Application]
# Issue #6 asks for recall >= 0.97 (TARGET_RECALL) and false alarms <= 3%; docs/PERFORMANCE.md
# has the figures. The crisis intent asks "Gaat je bericht over de veiligheid ...?" with the crisis
# contacts listed under it (the urgent handoff is one "Ja" away) rather than raising the alarm
# itself while intent_threshold is 1.0, so a risk message counts as found when it gets the alarm
# or the question.
MIN_RECALL_WITH_QUESTION = TARGET_RECALL
MAX_QUESTIONS_ON_ORDINARY = 0.08
# Said in a way the phrase list does not know (checked below); an example of nlu/veiligheid.yml.
ONLY_THE_INTENT_KNOWS = "ik ben net van huis weggerend en durf niet meer terug"


async def intent(http: aiohttp.ClientSession, stack: RasaStack, text: str) -> tuple[str, float]:
    async with http.post(
        f"{stack.url}/model/parse", params={"token": stack.token}, json={"text": text}
    ) as response:
        body: dict[str, Any] = await response.json()
    return str(body["intent"]["name"]), float(body["intent"]["confidence"])


async def test_phrase_list_and_crisis_intent_together_on_the_held_out_set(
    rasa_stack: RasaStack,
) -> None:
    data = yaml.safe_load(HELD_OUT.read_text())
    rules = safety_phrases()
    ordinary = [*data["ordinary"], *data["near_miss"]]

    async with aiohttp.ClientSession() as http:
        by_category = {  # risk outcomes per category, so misses can be counted per category
            category: [await outcome(http, rasa_stack, rules, text) for text in texts]
            for category, texts in data["risk"].items()
        }
        on_ordinary = [await outcome(http, rasa_stack, rules, text) for text in ordinary]
    on_risk = [result for results in by_category.values() for result in results]
    recall_now = on_risk.count("alarm") / len(on_risk)
    recall_with_question = 1 - on_risk.count("nothing") / len(on_risk)
    false_alarms = on_ordinary.count("alarm") / len(ordinary)
    questions = on_ordinary.count("question") / len(ordinary)
    print(f"safety (phrases + intent): recall at once {recall_now:.3f}, with the question "
          f"{recall_with_question:.3f} (target {TARGET_RECALL}); false alarms "
          f"{false_alarms:.3f}, questions on ordinary messages {questions:.3f}")  # fmt: skip
    missed = {c: results.count("nothing") for c, results in by_category.items()}
    # counts only, never the set: where to write new (independent) examples
    print("missed per category: " + ", ".join(f"{c} {n}" for c, n in missed.items() if n))
    assert recall_with_question >= MIN_RECALL_WITH_QUESTION  # counts only, never the set
    assert false_alarms <= MAX_FALSE_ALARMS
    assert questions <= MAX_QUESTIONS_ON_ORDINARY


async def outcome(
    http: aiohttp.ClientSession, stack: RasaStack, rules: SafetyPhrases, text: str
) -> str:
    """As the product decides: "alarm" (a phrase, or the intent at or above the threshold),
    "question" (the intent below it asks whether it is about safety), or "nothing"."""
    if check_text(text, rules) is not None:
        return "alarm"
    name, confidence = await intent(http, stack, text)
    if name != "crisis":
        return "nothing"
    sure = rules.intent_threshold < 1.0 and confidence >= rules.intent_threshold
    return "alarm" if sure else "question"


async def test_the_crisis_intent_asks_and_yes_shows_the_card_and_raises_an_urgent_handoff(
    client: Client, rasa_stack: RasaStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CJG_CONTENT_DIR", str(content_copy(tmp_path, ALWAYS)))  # team is open
    assert check_text(ONLY_THE_INTENT_KNOWS, safety_phrases()) is None
    await client.app[HANDOFF].heartbeat("anne")  # someone is online to pick it up
    (question,) = await chat(client, "nlu-crisis", ONLY_THE_INTENT_KNOWS)
    assert "veiligheid" in str(question["text"]) and "112" in str(question["text"])
    assert "0800-2000" in str(question["text"]) and "0800-0432" in str(question["text"])
    buttons = cast(list[dict[str, str]], question["buttons"])
    assert [b["payload"] for b in buttons] == ["/crisis", "/out_of_scope"]

    replies = await chat(client, "nlu-crisis", "/crisis")  # "Ja, ik maak me zorgen ..."
    card = next(r for r in replies if "crisis" in (r.get("custom") or {}))  # type: ignore[operator]
    text = str(card["text"])
    assert "113" in text and "0800-0432" in text and "112" in text
    assert not any("cjg_safety" in (r.get("custom") or {}) for r in replies)  # type: ignore[operator]
    cid = cid_of(client, "nlu-crisis")
    conv = await client.app[HANDOFF].conversation(cid)
    assert conv.hid is not None
    handoff = await client.app[HANDOFF].record(conv.hid)
    assert handoff is not None and handoff.urgent and handoff.reason == "safety"
    assert handoff.safety == NLU_LABEL  # staff see where the signal came from
    await client.app[HANDOFF].stop(cid)
