""" "Heb je hier genoeg aan om zelf verder te kunnen?": the CJG's question whether an answer
let the parent (or youth) go on by themselves, asked after the bot's answer and after a chat
with staff, and counted in the figures (docs/INSIGHT.md).

The service asks it, not the assistant: it is one optional set of quick-reply buttons that may
be ignored, the same on every channel, and its answer is a service payload
(``/cjg_enough_<code>``) that never reaches Rasa, so it cannot disturb the dialogue. After the
bot it is asked once per conversation (until the conversation is counted), after the first sure
topic answer or divorce information; never after a crisis card, nor after a safety chat.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from base.registrar import Fact, Registrar
from common.content import ContentError, content_dir, load_current
from common.handoff_payload import HandoffRequest
from common.payload import ENOUGH, ENOUGH_ANSWERS, is_service_payload
from handoff.store import HandoffStore

Message = dict[str, Any]  # a message without recipient, as handoff.service builds them

# Outcomes of a turn after which the bot asks (a topic answer; divorce information).
ASK_AFTER = frozenset({"topic_answered", "divorce_info"})
DIVORCE_OFFERS = "scheiden"  # the offer theme whose offers count as divorce information
CRISIS = "outcome:crisis_card"  # the registrar's field when the crisis card was shown
PENDING = "enough_after"  # field of the conversation's hash: a question waits for its answer
ASKED = "enough_asked"  # field of the registrar's open record: asked in this conversation
CHOICE_PAYLOAD = "/opvoedvraag{"  # a button that picks another topic: the bot was not sure


class After(StrEnum):
    """What the question was about; each has its own figure."""

    BOT = "bot"
    STAFF = "staff"


METRICS = {After.BOT: "enough_bot", After.STAFF: "enough_staff"}


@dataclass(frozen=True)
class EnoughTexts:
    """content/enough.yml."""

    version: int
    question: str
    answers: dict[str, str]  # code -> button title, in button order
    thanks: dict[str, str]  # code -> the reply to that button
    person_button: str
    already: str


def _check(loaded: EnoughTexts, path: Path) -> None:
    for name in ("answers", "thanks"):
        found = tuple(getattr(loaded, name))
        if sorted(found) != sorted(ENOUGH_ANSWERS):
            raise ContentError(f"{path}: {name}: give exactly {', '.join(ENOUGH_ANSWERS)}")


def enough_texts(directory: Path | None = None) -> EnoughTexts:
    return load_current(EnoughTexts, (directory or content_dir()) / "enough.yml", _check)


def is_answer(payload: str) -> bool:
    return payload.startswith(ENOUGH) and is_service_payload(payload)


def _sure_answer(replies: list[Any]) -> bool:
    """False when the answer came with other topics to pick from ("Ging je vraag over iets
    anders?") or started a handoff: a question about it would come too early."""
    for message in replies:
        if HandoffRequest.from_custom(message.get("custom")) is not None:
            return False
        for button in message.get("buttons") or []:
            if str(button.get("payload", "")).startswith(CHOICE_PAYLOAD):
                return False
    return True


def asks_after(facts: list[Fact]) -> bool:
    """Whether this turn gave a topic answer or divorce information."""
    outcomes = {f.value for f in facts if f.name == "outcome"}
    divorce_offers = "offers_shown" in outcomes and any(
        f.name == "offer_theme" and f.value == DIVORCE_OFFERS for f in facts
    )
    return bool(outcomes & ASK_AFTER) or divorce_offers


class EnoughQuestion:
    def __init__(self, redis: Redis, registrar: Registrar, retention_seconds: int) -> None:
        self._registrar = registrar
        self._store = HandoffStore(redis, retention_seconds)  # PENDING, in the conversation

    def message(self) -> Message:
        texts = enough_texts()
        return {
            "text": texts.question,
            "buttons": [{"title": t, "payload": ENOUGH + c} for c, t in texts.answers.items()],
            "custom": {"feedback": "enough"},
        }

    async def ask(self, cid: str, after: After) -> Message:
        """The question, and a note that it waits for an answer (one answer counts)."""
        await self._store.keep(cid, PENDING, after.value)
        return self.message()

    async def after_bot(self, cid: str, facts: list[Fact], replies: list[Any]) -> Message | None:
        """The question after this turn's answer, or None: not an answer it is about, not sure,
        a crisis card in this conversation, or asked already. The answer's own buttons (a
        person, a training) come along under the question: the widget keeps only the newest
        message's buttons working, and a person must stay one tap away."""
        if not asks_after(facts) or not _sure_answer(replies):
            return None
        if not await self._registrar.note_once(cid, ASKED, unless=CRISIS):
            return None  # asked already, or the crisis card was shown
        asked = await self.ask(cid, After.BOT)
        last = replies[-1].get("buttons") if replies else None
        kept = [b for b in last or [] if not str(b.get("payload", "")).startswith("http")]
        return {**asked, "buttons": [*asked["buttons"], *kept]}

    async def after_rating(self, cid: str) -> list[Message]:
        """After a staff chat the question follows the rating's answer (one question at a time:
        the widget keeps only the newest message's buttons working)."""
        if await self._store.field(cid, PENDING) != After.STAFF:
            return []
        return [self.message()]

    async def wait_after_rating(self, cid: str) -> None:
        """A closed staff chat: the question comes once the rating is given."""
        await self.ask(cid, After.STAFF)

    async def answer(self, cid: str, payload: str) -> Message:
        """Counts the answer to the question that waits, once; thanks, and a person one tap
        away when it was not (quite) enough."""
        texts = enough_texts()
        code = payload.removeprefix(ENOUGH)
        after = await self._store.take(cid, PENDING) or ""
        if after not in (After.BOT, After.STAFF) or code not in ENOUGH_ANSWERS:
            return {"text": texts.already, "custom": {"feedback": "enough_already"}}
        await self._registrar.note_if_open(cid, [Fact(METRICS[After(after)], code)])
        reply: Message = {"text": texts.thanks[code], "custom": {"feedback": "enough_thanks"}}
        if code != "ja":
            reply["buttons"] = [{"title": texts.person_button, "payload": "/ask_human"}]
        return reply
