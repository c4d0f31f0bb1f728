"""Automatic registration: every conversation becomes one anonymous count in the figures.

While a conversation runs, what is known about it (channel, asker, themes, outcomes, handoff
times, rating) collects in a short-lived record keyed by its pseudonym. When it has been quiet
for ``idle_seconds`` (or the user erases it), the record is folded into hourly counters and
deleted. The counters hold codes and numbers only: no text, no ids, time to the hour. That is
what the Vink-app registration did by hand, one contact at a time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from common import registration
from common.names import Channel
from common.payload import ENOUGH_ANSWERS

log = logging.getLogger(__name__)

OPEN = "cjg:insight:open"  # zset: pseudonym -> last activity (ms), conversations not yet counted
# hash per hour (UTC, YYYYMMDDHH): "channel|municipality|metric|value" -> count
HOUR_PREFIX = "cjg:insight:h:"
CHANNELS = tuple(Channel)
MUNICIPALITIES = ("haarlem", "zandvoort", "bloemendaal", "anders")
# Upper bounds (seconds) of the time buckets; the last bucket is open-ended.
WAIT_BUCKETS = (30, 60, 120, 300, 600, 1200, 1800, 3600)
HANDLE_BUCKETS = (60, 300, 600, 900, 1200, 1800, 2700, 3600)
ANSWERS = {"topic_answered", "faq_answered", "youth_answer", "offers_shown", "divorce_info"}
PERSON_NEEDED = {"handed_off", "left_message", "crisis_card", "callback_requested"}


def open_record(cid: str) -> str:
    """Hash: what is known so far about one running conversation (pseudonym-keyed, short-lived)."""
    return f"cjg:insight:open:{cid}"


def hour_key(hour: str) -> str:
    return HOUR_PREFIX + hour


def hour_of(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y%m%d%H")


def bucket(seconds: float, bounds: tuple[int, ...]) -> str:
    """The bucket label: the upper bound, or ``>`` plus the last bound."""
    for bound in bounds:
        if seconds <= bound:
            return str(bound)
    return f">{bounds[-1]}"


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Fact:
    """One thing learned about a conversation. ``many`` facts are sets (outcomes, topics)."""

    name: str
    value: str
    many: bool = False

    @property
    def field(self) -> str:
        return f"{self.name}:{self.value}" if self.many else self.name


def outcome(value: str) -> Fact:
    return Fact("outcome", value, many=True)


def facts_from_tag(tag: dict[str, str]) -> list[Fact]:
    """The facts in the assistant's registration note; codes outside the known lists are
    dropped, so nothing free-form reaches the counters."""
    facts = [outcome(tag["outcome"])]
    if tag.get("topic"):
        facts.append(Fact("topic", tag["topic"], many=True))
    if tag.get("offer_theme"):
        facts.append(Fact("offer_theme", tag["offer_theme"]))
    if tag.get("user_type") in registration.USER_TYPES:
        facts.append(Fact("user_type", tag["user_type"]))
    if tag.get("age_band") in registration.AGE_BANDS:
        facts.append(Fact("age_band", tag["age_band"]))
    if tag.get("municipality") in MUNICIPALITIES:
        facts.append(Fact("municipality", tag["municipality"]))
    return facts


class Registrar:
    def __init__(
        self,
        redis: Redis,
        idle_seconds: float = 1800,
        keep_days: int = 800,
        busy: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        self._redis = redis
        self.idle_seconds = idle_seconds
        self._keep_seconds = keep_days * 86400
        self._busy = busy  # a conversation still in a handoff is not counted yet
        self._on_quiet: Callable[[str], Awaitable[bool]] | None = None

    def set_busy_check(self, busy: Callable[[str], Awaitable[bool]]) -> None:
        self._busy = busy

    def set_quiet_hook(self, hook: Callable[[str], Awaitable[bool]]) -> None:
        """Run when a conversation has gone quiet, before it is counted (the core redacts
        Rasa's tracker there); True means personal data was found: not anonymous."""
        self._on_quiet = hook

    async def note(self, cid: str, channel: str, facts: Iterable[Fact] = ()) -> None:
        """Records facts (and activity) for a running conversation; starts its record."""
        now = _now_ms()
        key = open_record(cid)
        fields: dict[str, str] = {}
        for fact in facts:
            fields[fact.field] = fact.value
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hsetnx(key, "channel", channel if channel in CHANNELS else Channel.API)
            pipe.hsetnx(key, "hour", hour_of(now))
            if fields:
                pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
            # The record outlives a missed flush by a day at most, then Redis drops it.
            pipe.expire(key, int(self.idle_seconds) + 86400)
            pipe.zadd(OPEN, {cid: now})
            await pipe.execute()

    async def note_first(self, cid: str, fact: Fact) -> None:
        """Records a fact unless one is known already (the wait until the first pickup)."""
        await self._redis.hsetnx(open_record(cid), fact.field, fact.value)

    async def note_once(self, cid: str, name: str, unless: str | None = None) -> bool:
        """Marks ``name`` on the conversation's open record the first time only (a question
        asked once per conversation); False when it was marked already or the record holds
        ``unless`` (e.g. the crisis card was shown)."""
        key = open_record(cid)
        if unless is not None and await self._redis.hexists(key, unless):
            return False
        return bool(await self._redis.hsetnx(key, name, "1"))

    async def note_if_open(self, cid: str, facts: Iterable[Fact]) -> bool:
        """Adds facts only to a record that still exists (a rating after the chat was counted
        goes straight into the counters instead)."""
        key = open_record(cid)
        found = list(facts)
        if not await self._redis.exists(key):
            await self.count_now(None, found)
            return False
        await self._redis.hset(key, mapping={f.field: f.value for f in found})
        return True

    async def count_now(
        self, channel: str | None, facts: Iterable[Fact], municipality: str | None = None
    ) -> None:
        """Counts facts that belong to no running conversation (an offer link clicked, a late
        rating, a callback's outcome) in the current hour; ``municipality`` when it is known
        (a callback request keeps its own)."""
        chan = channel if channel in CHANNELS else "onbekend"
        place = municipality if municipality in MUNICIPALITIES else "onbekend"
        hour = hour_key(hour_of(_now_ms()))
        async with self._redis.pipeline(transaction=False) as pipe:
            for fact in facts:
                pipe.hincrby(hour, f"{chan}|{place}|{fact.name}|{fact.value}", 1)
            pipe.expire(hour, self._keep_seconds)
            await pipe.execute()

    async def flush(self, cid: str, quiet: bool = False) -> bool:
        """Counts the conversation now and forgets its record; False if another instance did.
        ``quiet``: it went quiet by itself (not erased), so the quiet hook runs first."""
        if not await self._redis.zrem(OPEN, cid):
            return False
        personal = False
        if quiet and self._on_quiet is not None:
            try:
                personal = await self._on_quiet(cid)
            except Exception as exc:  # counting goes on; the hook runs again next time
                log.error("quiet-conversation hook failed (%s)", type(exc).__name__)
        key = open_record(cid)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.delete(key)
            record, _ = await pipe.execute()
        if record:
            await self._count({**record, "personal": "1"} if personal else record)
        return True

    async def flush_idle(self) -> int:
        """Counts every conversation quiet for ``idle_seconds``; safe on every instance."""
        before = _now_ms() - int(self.idle_seconds * 1000)
        quiet = [str(c) for c in await self._redis.zrangebyscore(OPEN, 0, before, start=0, num=500)]
        counted = 0
        for cid in quiet:
            if self._busy is not None and await self._busy(cid):
                await self._redis.zadd(OPEN, {cid: _now_ms()}, xx=True)  # still with staff
                continue
            counted += await self.flush(cid, quiet=True)
        return counted

    async def _count(self, record: dict[str, str]) -> None:
        metrics = self.metrics(record)
        channel = record.get("channel") or Channel.API
        municipality = record.get("municipality") or "onbekend"
        hour = hour_key(record.get("hour") or hour_of(_now_ms()))
        async with self._redis.pipeline(transaction=False) as pipe:
            for metric, value in metrics:
                pipe.hincrby(hour, f"{channel}|{municipality}|{metric}|{value}", 1)
            pipe.expire(hour, self._keep_seconds)
            await pipe.execute()

    @staticmethod
    def metrics(record: dict[str, str]) -> list[tuple[str, str]]:
        """The counters one conversation adds to, from its record."""
        outcomes = {f.split(":", 1)[1] for f in record if f.startswith("outcome:")}
        topics = sorted(f.split(":", 1)[1] for f in record if f.startswith("topic:"))
        if (
            any(t.startswith("scheiding") for t in topics)
            or record.get("offer_theme") == "scheiden"
        ):
            outcomes.add("divorce_info")
        if outcomes & ANSWERS and not outcomes & PERSON_NEEDED:
            outcomes.add("bot_answered")
        if record.get("referral"):
            outcomes.add("referred")
        options = registration.registration_options()
        themes = {options.theme_of(t) for t in topics}
        if record.get("staff_theme"):
            themes.add(record["staff_theme"])
        if "offers_shown" in outcomes or "no_offer_match" in outcomes:
            themes.add("groepsaanbod")
        if "crisis_card" in outcomes:
            themes.add("veiligheid")
        out: list[tuple[str, str]] = [
            ("conversations", "all"),
            ("user_type", record.get("user_type") or "unknown"),
            ("age_band", record.get("age_band") or "onbekend"),
        ]
        if not record.get("personal"):
            out.append(("anonymous", "yes"))
        out += [("outcome", o) for o in sorted(outcomes)]
        out += [("topic", t) for t in topics]
        out += sorted(("signal", f.split(":", 1)[1]) for f in record if f.startswith("signal:"))
        out += [("theme", t) for t in sorted(themes)]
        for name in ("staff_outcome", "referral", "rating"):
            if record.get(name):
                out.append((name, record[name]))
        # "Heb je hier genoeg aan ...?" after the bot and after staff (handoff/enough.py)
        for name in ("enough_bot", "enough_staff"):
            if record.get(name) in ENOUGH_ANSWERS:
                out.append((name, record[name]))
        if record.get("wait_seconds"):
            out.append(("wait", bucket(float(record["wait_seconds"]), WAIT_BUCKETS)))
        if record.get("handle_seconds"):
            out.append(("handle", bucket(float(record["handle_seconds"]), HANDLE_BUCKETS)))
        return out
