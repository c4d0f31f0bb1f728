"""Callback requests ("terugbelverzoek"): the parent's questions and the staff member's queue.

The assistant only recognises the wish (a handoff request with reason ``callback``); from there
the messaging service asks the questions itself, in the conversation state ``callback``, so the
phone number never reaches Rasa, its tracker, a transcript, the figures or a log. The number is
kept encrypted (AES-GCM, key ``CJG_CALLBACK_KEY``) under a key of its own that expires after
``CJG_CALLBACK_NUMBER_SECONDS`` and is deleted as soon as the call is registered. Only the staff
member who claimed a request can read its number, and every read is audited.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from redis.asyncio import Redis

from base.registrar import Fact, Registrar, outcome
from common import phone
from common.content import ContentError, content_dir, load_current, topics
from common.handoff_payload import HandoffRequest
from common.names import Reason, State
from common.offers import THEME_LABELS
from common.payload import CALLBACK, CANCEL
from handoff import keys
from handoff.hours import DAYS, OpeningHours
from handoff.store import HandoffStore, now_ms
from staff import events

log = logging.getLogger(__name__)

PENDING_SECONDS = 1800  # the questions must be answered within half an hour
# Less time than this left in today's window: we do not say "vandaag", but the next window.
LAST_CALL = timedelta(minutes=30)
ANY = "any"  # "Maakt niet uit"
YES = f"{CALLBACK}yes"
CHAT = f"{CALLBACK}chat"
YES_WORDS = {"ja", "ja hoor", "ja graag", "ja, dat mag", "dat mag", "goed", "oke", "ok", "prima"}
NO_WORDS = {"nee", "nee dank je", "liever chatten", "nee, liever chatten", "chatten"}
STOP_WORDS = {"stop", "stoppen", "toch niet", "laat maar", "annuleren"}


class Step(StrEnum):
    CONSENT = "consent"
    NUMBER = "number"
    DAYPART = "daypart"


class Outcome(StrEnum):
    """What the staff member registers after calling (the figures count these codes)."""

    REACHED = "reached"
    NOT_REACHED = "not_reached"
    RETRY = "retry"  # keeps the request queued, with its number


# --- content -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Daypart:
    label: str
    hours: list[str]


@dataclass(frozen=True)
class CallbackTexts:
    version: int
    dayparts: dict[str, Daypart]
    any_label: str
    messages: dict[str, str]

    def say(self, key: str, **values: Any) -> str:
        return self.messages[key].format(**values)


MESSAGE_KEYS = frozenset(
    {
        "consent",
        "consent_yes",
        "consent_chat",
        "consent_again",
        "stop",
        "ask_number",
        "invalid_number",
        "ask_daypart",
        "daypart_again",
        "requested",
        "stopped",
        "unavailable",
        "youth",
        "offer",
    }
)


def _check(loaded: Any, path: Path) -> None:
    assert isinstance(loaded, CallbackTexts)
    missing = sorted(MESSAGE_KEYS - set(loaded.messages))
    if missing:
        raise ContentError(f"{path}: messages.{missing[0]} is missing")
    for key, part in loaded.dayparts.items():
        if key == ANY or not key.isalpha() or not key.islower() or len(key) > 20:
            raise ContentError(f"{path}: dayparts.{key}: use a short lower-case word")
        try:
            start, end = (time.fromisoformat(h) for h in part.hours)
        except ValueError:
            raise ContentError(
                f"{path}: dayparts.{key}: give [from, to] like [09:00, 12:00]"
            ) from None
        if start >= end:
            raise ContentError(f"{path}: dayparts.{key}: 'from' must be before 'to'")


def callback_texts(directory: Path | None = None) -> CallbackTexts:
    return load_current(CallbackTexts, (directory or content_dir()) / "callback.yml", _check)


# --- the expectation from the opening hours -------------------------------------------------


def _clock(at: time) -> str:
    return f"{at.hour}" if at.minute == 0 else f"{at.hour}.{at.minute:02d}"


def _window(
    texts: CallbackTexts, choice: str, hours: tuple[time, time]
) -> tuple[time, time] | None:
    """The part of one day's opening hours the choice covers; None when it does not."""
    if choice == ANY:
        return hours
    start, end = (time.fromisoformat(h) for h in texts.dayparts[choice].hours)
    start, end = max(start, hours[0]), min(end, hours[1])
    return (start, end) if start < end else None


def dayparts(texts: CallbackTexts, hours: OpeningHours, now: datetime) -> list[str]:
    """The parts of the day the team is open in, within the next two weeks (in content order)."""
    today = now.astimezone(hours.zone).date()
    found = []
    for key in texts.dayparts:
        for offset in range(14):
            day_hours = hours.hours_on(today + timedelta(days=offset))
            if day_hours is not None and _window(texts, key, day_hours) is not None:
                found.append(key)
                break
    return found


def expectation(texts: CallbackTexts, hours: OpeningHours, choice: str, now: datetime) -> str:
    """When we will try to call, in Dutch: "vandaag tussen 13 en 17 uur", "maandag vanaf 9 uur".

    The first window of the chosen part of the day with at least ``LAST_CALL`` left; only an
    honest window, never a promised minute."""
    local = now.astimezone(hours.zone)
    for offset in range(60):
        day: date = local.date() + timedelta(days=offset)
        day_hours = hours.hours_on(day)
        window = None if day_hours is None else _window(texts, choice, day_hours)
        if window is None:
            continue
        start, end = window
        if offset == 0 and datetime.combine(day, end, hours.zone) - local < LAST_CALL:
            continue
        name = "vandaag" if offset == 0 else "morgen" if offset == 1 else DAYS[day.weekday()]
        if offset >= 7:
            name = f"{DAYS[day.weekday()]} {day.day}-{day.month}"
        if offset == 0 and local.time() >= start:
            return f"{name} vóór {_clock(end)} uur"
        if choice == ANY and offset > 0:
            return f"{name} vanaf {_clock(start)} uur"
        return f"{name} tussen {_clock(start)} en {_clock(end)} uur"
    return "zo snel mogelijk"


# --- encryption at rest ---------------------------------------------------------------------


class NumberCipher:
    """AES-256-GCM with a random nonce; the associated data binds a ciphertext to its key, so a
    number copied to another request does not decrypt."""

    def __init__(self, key_hex: str) -> None:
        self._aead = AESGCM(bytes.fromhex(key_hex))

    def seal(self, number: str, bound_to: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, number.encode(), bound_to.encode())
        return base64.b64encode(nonce + sealed).decode()

    def open(self, sealed: str, bound_to: str) -> str | None:
        try:
            raw = base64.b64decode(sealed)
            return self._aead.decrypt(raw[:12], raw[12:], bound_to.encode()).decode()
        except (InvalidTag, ValueError):
            return None


# --- the parent's side ----------------------------------------------------------------------

Message = dict[str, Any]


@dataclass
class Turn:
    """What the callback questions make of one message: replies, and maybe a chat to start."""

    messages: list[Message] = field(default_factory=list)
    chat: HandoffRequest | None = None  # the parent chose to chat, or is a youth


@dataclass(frozen=True)
class Callback:
    """One callback request as staff see it (never the number)."""

    id: str
    state: str  # waiting, claimed
    channel: str
    daypart: str
    when: str
    summary: dict[str, Any]
    requested_at: int
    staff: str | None
    claimed_at: int | None
    attempts: int
    number_kept: bool  # False once the number has expired

    def public(self) -> dict[str, Any]:
        return asdict(self)


# KEYS: queue, claims, record   ARGV: cbid, staff, now
_CLAIM = """
if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[3], 'state', 'claimed', 'staff', ARGV[2], 'claimed_at', ARGV[3])
return 1
"""

# KEYS: queue, claims, record   ARGV: cbid, staff, attempts to add (1: tried, 0: not tried)
# Back in the queue at its first place ("later opnieuw proberen", or its claimer logged out);
# only by its claimer.
_REQUEUE = """
if redis.call('HGET', KEYS[3], 'staff') ~= ARGV[2] then return 0 end
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], redis.call('HGET', KEYS[3], 'requested_at'), ARGV[1])
redis.call('HSET', KEYS[3], 'state', 'waiting')
redis.call('HDEL', KEYS[3], 'staff', 'claimed_at')
if ARGV[3] == '1' then redis.call('HINCRBY', KEYS[3], 'attempts', 1) end
return 1
"""

# KEYS: claims, record, number, callbacks_of   ARGV: cbid, staff
# Done: the request and its number are deleted at once; only its claimer can.
_FINISH = """
if redis.call('HGET', KEYS[2], 'staff') ~= ARGV[2] then return 0 end
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('SREM', KEYS[4], ARGV[1])
return 1
"""


class Callbacks:
    """Both sides of a callback request; ``cipher`` None: callbacks are off (no key set)."""

    def __init__(
        self,
        redis: Redis,
        cipher: NumberCipher | None,
        hours: Callable[[], OpeningHours],
        registrar: Registrar,
        number_seconds: int,
        retention_seconds: int,
        texts: Callable[[], CallbackTexts] = callback_texts,
    ) -> None:
        self._redis = redis
        self._cipher = cipher
        self._hours = hours
        self._registrar = registrar
        self.number_seconds = number_seconds
        self._retention = retention_seconds
        self._store = HandoffStore(redis, retention_seconds)  # the conversation's state
        self._texts = texts
        self._claim = redis.register_script(_CLAIM)
        self._requeue = redis.register_script(_REQUEUE)
        self._finish = redis.register_script(_FINISH)

    @property
    def enabled(self) -> bool:
        return self._cipher is not None

    async def begin(self, cid: str, channel: str, request: HandoffRequest) -> Turn:
        """The assistant recognised the wish: youths get the anonymous chat, parents the
        consent question."""
        texts = self._texts()
        if request.context.get("user_type") == "youth":
            chat = HandoffRequest(Reason.ASK_HUMAN, False, request.context, request.recent_intents)
            return Turn([{"text": texts.say("youth")}], chat)
        if self._cipher is None:
            return Turn([{"text": texts.say("unavailable")}], request)
        pending = keys.callback_pending(cid)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(pending)
            pipe.hset(
                pending,
                mapping={
                    "step": Step.CONSENT,
                    "channel": channel,
                    "request": json.dumps(request.to_custom(), ensure_ascii=False),
                },
            )
            pipe.expire(pending, PENDING_SECONDS)
            self._store.state_in(pipe, cid, State.CALLBACK, channel)
            await pipe.execute()
        return Turn([self._consent(texts, "consent")])

    def _consent(self, texts: CallbackTexts, key: str) -> Message:
        return {
            "text": texts.say(key),
            "buttons": [
                {"title": texts.say("consent_yes"), "payload": YES},
                {"title": texts.say("consent_chat"), "payload": CHAT},
                {"title": texts.say("stop"), "payload": CANCEL},
            ],
            "custom": {"callback": {"step": Step.CONSENT}},
        }

    def _stop_button(self, texts: CallbackTexts) -> list[dict[str, str]]:
        return [{"title": texts.say("stop"), "payload": CANCEL}]

    def _dayparts(self, texts: CallbackTexts, key: str) -> Message:
        options = dayparts(texts, self._hours(), datetime.now(UTC))
        buttons = [{"title": texts.dayparts[k].label, "payload": f"{CALLBACK}{k}"} for k in options]
        buttons.append({"title": texts.any_label, "payload": f"{CALLBACK}{ANY}"})
        return {
            "text": texts.say(key),
            "buttons": [*buttons, *self._stop_button(texts)],
            "custom": {"callback": {"step": Step.DAYPART}},
        }

    async def user_message(self, cid: str, text: str) -> Turn | None:
        """One answer to the callback questions; None when there is no question open any more
        (it expired): then the message is the assistant's again."""
        texts = self._texts()
        pending = keys.callback_pending(cid)
        raw = cast(dict[str, str], await self._redis.hgetall(pending))
        if not raw or self._cipher is None:
            await self._back_to_bot(cid)
            return None
        said = text.strip().lower().rstrip(".!")
        if text == CANCEL or said in STOP_WORDS:
            await self.drop(cid)
            return Turn(
                [{"text": texts.say("stopped"), "custom": {"callback": {"step": "stopped"}}}]
            )
        step = raw.get("step")
        if step == Step.CONSENT:
            if text == YES or said in YES_WORDS:
                await self._redis.hset(pending, "step", Step.NUMBER)
                return Turn([self._ask(texts, "ask_number", Step.NUMBER)])
            if text == CHAT or said in NO_WORDS:
                await self.drop(cid)
                found = HandoffRequest.from_custom(json.loads(raw.get("request") or "{}"))
                context = found.context if found else {}
                intents = found.recent_intents if found else []
                return Turn([], HandoffRequest(Reason.ASK_HUMAN, False, context, intents))
            return Turn([self._consent(texts, "consent_again")])
        if step == Step.NUMBER:
            number = phone.parse(text)
            if number is None:
                return Turn([self._ask(texts, "invalid_number", Step.NUMBER)])
            await self._redis.hset(
                pending, mapping={"step": Step.DAYPART, "number": self._cipher.seal(number, cid)}
            )
            return Turn([self._dayparts(texts, "ask_daypart")])
        choice = text[len(CALLBACK) :] if text.startswith(CALLBACK) else _typed_daypart(texts, said)
        if choice is None or (choice != ANY and choice not in texts.dayparts):
            return Turn([self._dayparts(texts, "daypart_again")])
        return await self._request(cid, raw, texts, choice)

    def _ask(self, texts: CallbackTexts, key: str, step: Step) -> Message:
        return {
            "text": texts.say(key),
            "buttons": self._stop_button(texts),
            "custom": {"callback": {"step": step}},
        }

    async def _request(
        self, cid: str, raw: dict[str, str], texts: CallbackTexts, choice: str
    ) -> Turn:
        """The answers are complete: the request goes into the staff queue."""
        assert self._cipher is not None
        number = self._cipher.open(raw.get("number", ""), cid)
        if number is None:  # cannot happen unless the key changed meanwhile: ask again
            await self._redis.hset(keys.callback_pending(cid), "step", Step.NUMBER)
            return Turn([self._ask(texts, "ask_number", Step.NUMBER)])
        when = expectation(texts, self._hours(), choice, datetime.now(UTC))
        found = HandoffRequest.from_custom(json.loads(raw.get("request") or "{}"))
        request = found or HandoffRequest(Reason.CALLBACK)
        cbid = secrets.token_hex(8)
        at = now_ms()
        channel = raw.get("channel", "")
        label = texts.any_label if choice == ANY else texts.dayparts[choice].label
        summary = {
            "theme": _theme(request.context),
            "child_age": request.context.get("child_age"),
            "municipality": request.context.get("municipality"),
            "recent_intents": request.recent_intents,
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                keys.callback(cbid),
                mapping={
                    "cid": cid,
                    "state": "waiting",
                    "channel": channel,
                    "daypart": label,
                    "when": when,
                    "summary": json.dumps(summary, ensure_ascii=False),
                    "requested_at": at,
                    "attempts": 0,
                },
            )
            pipe.expire(keys.callback(cbid), max(self.number_seconds, self._retention))
            pipe.set(
                keys.callback_number(cbid),
                self._cipher.seal(number, cbid),
                ex=self.number_seconds,
            )
            pipe.zadd(keys.CALLBACK_QUEUE, {cbid: at})
            pipe.sadd(keys.callbacks_of(cid), cbid)
            pipe.expire(keys.callbacks_of(cid), max(self.number_seconds, self._retention))
            pipe.delete(keys.callback_pending(cid))
            self._store.state_in(pipe, cid, State.BOT)
            await pipe.execute()
        await self._registrar.note(cid, channel, [outcome("callback_requested")])
        await events.publish(self._redis, "callbacks", id=cbid)
        log.info("callback requested on channel %s", channel)
        return Turn(
            [{"text": texts.say("requested", when=when), "custom": {"callback": {"step": "done"}}}]
        )

    async def _back_to_bot(self, cid: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            self._store.state_in(pipe, cid, State.BOT)
            await pipe.execute()

    async def drop(self, cid: str) -> None:
        """Stops the questions: whatever was typed so far (a number) is deleted."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.callback_pending(cid))
            self._store.state_in(pipe, cid, State.BOT)
            await pipe.execute()

    async def erase(self, cid: str) -> None:
        """ "Gesprek wissen": the conversation's requests and numbers go, queued or not."""
        found = [str(c) for c in await self._redis.smembers(keys.callbacks_of(cid))]
        async with self._redis.pipeline(transaction=True) as pipe:
            for cbid in found:
                pipe.delete(keys.callback(cbid), keys.callback_number(cbid))
                pipe.zrem(keys.CALLBACK_QUEUE, cbid)
                pipe.zrem(keys.CALLBACK_CLAIMS, cbid)
            pipe.delete(keys.callbacks_of(cid), keys.callback_pending(cid))
            await pipe.execute()
        if found:
            await events.publish(self._redis, "callbacks", erased=len(found))

    # --- the staff side ---------------------------------------------------------------------

    async def listed(self) -> list[Callback]:
        """Waiting requests (oldest first), then claimed ones; records gone are dropped."""
        ids: list[str] = []
        for index in (keys.CALLBACK_QUEUE, keys.CALLBACK_CLAIMS):
            ids += [str(c) for c in await self._redis.zrange(index, 0, -1)]
        async with self._redis.pipeline(transaction=False) as pipe:
            for cbid in ids:
                pipe.hgetall(keys.callback(cbid))
                pipe.exists(keys.callback_number(cbid))
            rows = await pipe.execute()
        found, gone = [], []
        for i, cbid in enumerate(ids):
            raw, kept = rows[2 * i], rows[2 * i + 1]
            if not raw:
                gone.append(cbid)
                continue
            found.append(_callback(cbid, raw, bool(kept)))
        if gone:
            await self._redis.zrem(keys.CALLBACK_QUEUE, *gone)
            await self._redis.zrem(keys.CALLBACK_CLAIMS, *gone)
        return found

    async def get(self, cbid: str) -> Callback | None:
        raw = cast(dict[str, str], await self._redis.hgetall(keys.callback(cbid)))
        if not raw:
            return None
        return _callback(cbid, raw, bool(await self._redis.exists(keys.callback_number(cbid))))

    async def claim(self, cbid: str, staff: str) -> bool:
        done = await self._claim(
            keys=[keys.CALLBACK_QUEUE, keys.CALLBACK_CLAIMS, keys.callback(cbid)],
            args=[cbid, staff, now_ms()],
        )
        if done:
            await events.publish(self._redis, "callbacks", id=cbid)
        return bool(done)

    async def release_claims(self, staff: str) -> int:
        """The staff member logged out: the requests they claimed but did not register go back
        to the queue at their first place (not counted as tried), so a colleague can call; how
        many went back."""
        released = 0
        for cbid in [str(c) for c in await self._redis.zrange(keys.CALLBACK_CLAIMS, 0, -1)]:
            released += int(
                await self._requeue(
                    keys=[keys.CALLBACK_QUEUE, keys.CALLBACK_CLAIMS, keys.callback(cbid)],
                    args=[cbid, staff, 0],
                )
            )
        if released:
            await events.publish(self._redis, "callbacks", released=released)
        return released

    async def number(self, cbid: str, staff: str) -> str | None:
        """The number in a form to dial, for the staff member who claimed the request only."""
        if self._cipher is None:
            return None
        raw = await self._redis.hmget(keys.callback(cbid), ["state", "staff"])
        if raw != ["claimed", staff]:
            return None
        sealed = await self._redis.get(keys.callback_number(cbid))
        number = self._cipher.open(str(sealed), cbid) if sealed else None
        return phone.for_display(number) if number else None

    async def register(self, cbid: str, staff: str, result: Outcome) -> bool:
        """The staff member's registration: into the figures; done or back in the queue."""
        channel, summary = await self._redis.hmget(keys.callback(cbid), ["channel", "summary"])
        municipality = json.loads(summary or "{}").get("municipality")
        if result == Outcome.RETRY:
            done = await self._requeue(
                keys=[keys.CALLBACK_QUEUE, keys.CALLBACK_CLAIMS, keys.callback(cbid)],
                args=[cbid, staff, 1],
            )
        else:
            cid = await self._redis.hget(keys.callback(cbid), "cid")
            done = await self._finish(
                keys=[
                    keys.CALLBACK_CLAIMS,
                    keys.callback(cbid),
                    keys.callback_number(cbid),
                    keys.callbacks_of(str(cid or "")),
                ],
                args=[cbid, staff],
            )
        if not done:
            return False
        await self._registrar.count_now(
            str(channel or ""), [Fact("callback", result.value)], municipality
        )
        await events.publish(self._redis, "callbacks", id=cbid)
        return True


def _theme(context: dict[str, str]) -> str | None:
    """The theme as staff read it on a chat's card: the topic's title, or the offer theme's."""
    if context.get("topic"):
        topic = topics().get(context["topic"])
        return topic.title if topic else context["topic"]
    if context.get("offer_theme"):
        return THEME_LABELS.get(context["offer_theme"], context["offer_theme"])
    return None


def _typed_daypart(texts: CallbackTexts, said: str) -> str | None:
    if said in (texts.any_label.lower(), "maakt niet uit", "maakt me niet uit"):
        return ANY
    for key, part in texts.dayparts.items():
        if said in (key, part.label.lower()):
            return key
    return None


def _callback(cbid: str, raw: dict[str, str], kept: bool) -> Callback:
    return Callback(
        id=cbid,
        state=raw.get("state", "waiting"),
        channel=raw.get("channel", ""),
        daypart=raw.get("daypart", ""),
        when=raw.get("when", ""),
        summary=json.loads(raw.get("summary") or "{}"),
        requested_at=int(raw.get("requested_at") or 0),
        staff=raw.get("staff") or None,
        claimed_at=int(raw["claimed_at"]) if raw.get("claimed_at") else None,
        attempts=int(raw.get("attempts") or 0),
        number_kept=kept,
    )
