"""The conversation state machine and the handoff queue, kept in Redis.

States per conversation: ``bot`` -> ``waiting`` -> ``with_staff`` -> ``bot``, plus
``leaving_message`` (outside opening hours: the next message is kept for staff).
Every transition is one Lua script, so it is atomic across any number of service instances:
two staff members claiming at once get exactly one winner, and a claim racing a cancel
has exactly one outcome.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from common.names import State
from handoff import keys

URGENT_BAND = 0
NORMAL_BAND = 10**15  # above any arrival number, so every urgent item comes first


def now_ms() -> int:
    return int(time.time() * 1000)


def _strs(found: Any) -> list[str]:
    """Redis list replies as strings (the client decodes responses)."""
    return [str(item) for item in found]


# KEYS: conversation, queue, record, sequence
# ARGV: hid, band, now, channel, ttl, field, value, ...
# The score is the band plus an arrival number, so equal milliseconds still keep their order.
_ENQUEUE = """
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'waiting' or state == 'with_staff' then
  return {0, redis.call('HGET', KEYS[1], 'hid')}
end
local score = tonumber(ARGV[2]) + redis.call('INCR', KEYS[4])
redis.call('HSET', KEYS[1], 'state', 'waiting', 'hid', ARGV[1], 'channel', ARGV[4],
           'updated', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
for i = 6, #ARGV, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[3], 'state', 'waiting', 'score', score, 'queued_at', ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[5])
redis.call('ZADD', KEYS[2], score, ARGV[1])
return {1, ARGV[1]}
"""

# KEYS: record, queue   ARGV: hid, normal band, safety label, urgent ('1' or '0')
# A waiting item moves to the urgent band, keeping its arrival order among the urgent ones.
# One alarm per handoff: an urgent one stays as it is (2); urgent '0' (a flood limit was hit)
# only labels it for staff (2). 1: it became urgent now; 0: no such handoff.
_ESCALATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], 'safety') == 0 then
  redis.call('HSET', KEYS[1], 'safety', ARGV[3])
end
if redis.call('HGET', KEYS[1], 'urgent') == '1' or ARGV[4] ~= '1' then return 2 end
redis.call('HSET', KEYS[1], 'urgent', '1')
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if score and tonumber(score) >= tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[2], tonumber(score) - tonumber(ARGV[2]), ARGV[1])
end
return 1
"""

# Lua helpers for the two relay scripts below: a text on the staff feed, as events.publish()
# would send it (staff/events.py), and Redis's "no value" (false, or an empty field) as null.
_FEED = """
local function value(v) if v and v ~= '' then return v end return cjson.null end
local function feed(channel, hid, id, role, text, at, name, state, staff)
  redis.call('PUBLISH', channel, cjson.encode({
    type = 'message', hid = hid, state = value(state), staff = value(staff),
    entry = {id = id, role = role, text = text, at = tonumber(at), staff = value(name)}}))
end
"""

# KEYS: transcript, record   ARGV: ttl, hid, events channel, role, text, at, staff name ('' none),
#       max messages, max bytes, bytes (the caps while waiting; '' = none)
# One step for a text to staff: into the transcript and onto every console's feed with the
# handoff's state and staff member (who may read it: handoff/access.py), so Redis fsyncs once.
# While waiting, within the caps of what one wait may add; 0 when a cap is reached.
_SAY = (
    _FEED
    + """
if ARGV[8] ~= '' then
  local count = tonumber(redis.call('HGET', KEYS[2], 'waiting_messages') or '0')
  local size = tonumber(redis.call('HGET', KEYS[2], 'waiting_bytes') or '0')
  if count + 1 > tonumber(ARGV[8]) or size + tonumber(ARGV[10]) > tonumber(ARGV[9]) then
    return 0
  end
  redis.call('HINCRBY', KEYS[2], 'waiting_messages', 1)
  redis.call('HINCRBY', KEYS[2], 'waiting_bytes', ARGV[10])
end
local fields = {'role', ARGV[4], 'text', ARGV[5], 'at', ARGV[6]}
if ARGV[7] ~= '' then fields[7] = 'staff'; fields[8] = ARGV[7] end
local id = redis.call('XADD', KEYS[1], '*', unpack(fields))
redis.call('EXPIRE', KEYS[1], ARGV[1])
local readers = redis.call('HMGET', KEYS[2], 'state', 'staff')
feed(ARGV[3], ARGV[2], id, ARGV[4], ARGV[5], ARGV[6], ARGV[7], readers[1], readers[2])
return id
"""
)

# KEYS: record, transcript, claims, the console's reply id (handoff/keys.py staff_reply; '' when
#       the console sent none)
# ARGV: ttl, hid, staff username, staff name, text, at, outbox message (JSON), outbox length,
#       events channel, outbox news channel, outbox key (prefix, suffix), typing key (prefix,
#       suffix)
# A staff reply in one step, only by the staff member who has the chat: the transcript, the
# user's outbox and its news, no more "typing", the claim kept alive, the console feed. The
# conversation's keys are built here from its cid (in the record), as handoff/keys.py makes
# them. {entry id, cid, 0}, {the first entry id, cid, 1} for a reply sent again with the same
# id (kept once, whatever became of the chat since), or false when the chat is not this staff
# member's (any more).
_REPLY = (
    _FEED
    + """
local found = redis.call('HMGET', KEYS[1], 'state', 'staff', 'cid')
local cid = found[3]
if KEYS[4] ~= '' and cid then  -- sent again by the console: kept once, the first entry's id
  local earlier = redis.call('GET', KEYS[4])
  if earlier then return {earlier, cid, 1} end
end
if found[1] ~= 'with_staff' or found[2] ~= ARGV[3] or not cid then return false end
local id = redis.call('XADD', KEYS[2], '*', 'role', 'staff', 'text', ARGV[5], 'at', ARGV[6],
                      'staff', ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[1])
if KEYS[4] ~= '' then redis.call('SET', KEYS[4], id, 'EX', ARGV[1]) end
local outbox = ARGV[11] .. cid .. ARGV[12]
redis.call('XADD', outbox, 'MAXLEN', '~', ARGV[8], '*', 'm', ARGV[7], 'at', ARGV[6])
redis.call('EXPIRE', outbox, ARGV[1])
redis.call('PUBLISH', ARGV[10], cid)
redis.call('DEL', ARGV[13] .. cid .. ARGV[14])
if redis.call('ZSCORE', KEYS[3], ARGV[2]) then redis.call('ZADD', KEYS[3], ARGV[6], ARGV[2]) end
feed(ARGV[9], ARGV[2], id, 'staff', ARGV[5], ARGV[6], ARGV[4], 'with_staff', ARGV[3])
return {id, cid, 0}
"""
)

# KEYS: conversation, staff typing   ARGV: record key, account key (each: prefix, suffix)
# Read only: what a user's status line shows, in one round trip. {state, hid, typing (0/1),
# the first name of the staff member who has the chat}; the last two only with staff.
_STATUS = """
local conv = redis.call('HMGET', KEYS[1], 'state', 'hid')
local state, hid = conv[1] or '', conv[2] or ''
if state ~= 'with_staff' then return {state, hid, 0, false} end
local name = false
if hid ~= '' then
  local staff = redis.call('HGET', ARGV[1] .. hid .. ARGV[2], 'staff')
  if staff and staff ~= '' then name = redis.call('HGET', ARGV[3] .. staff .. ARGV[4], 'name') end
end
return {state, hid, redis.call('EXISTS', KEYS[2]), name}
"""

# KEYS: conversation, queue, claims, record   ARGV: hid, staff, now
_CLAIM = """
if redis.call('HGET', KEYS[1], 'state') ~= 'waiting' then return 0 end
if redis.call('HGET', KEYS[1], 'hid') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'with_staff', 'updated', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[4], 'state', 'with_staff', 'staff', ARGV[2], 'claimed_at', ARGV[3])
redis.call('HDEL', KEYS[4], 'waiting_messages', 'waiting_bytes')
if redis.call('HEXISTS', KEYS[4], 'first_claimed_at') == 0 then
  redis.call('HSET', KEYS[4], 'first_claimed_at', ARGV[3])
end
return 1
"""

# KEYS: conversation, queue, record   ARGV: hid, now
_CANCEL = """
if redis.call('HGET', KEYS[1], 'state') ~= 'waiting' then return 0 end
if redis.call('HGET', KEYS[1], 'hid') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'bot', 'updated', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], 'state', 'cancelled', 'closed_at', ARGV[2])
return 1
"""

# KEYS: conversation, queue, claims, record   ARGV: hid, staff ('' = anyone), now, max_activity
# Back to the queue at its old place. max_activity: only if the last staff activity is older
# (used by the timeout sweeper, so a reply that just arrived wins over the timeout).
_RELEASE = """
if redis.call('HGET', KEYS[1], 'state') ~= 'with_staff' then return 0 end
if redis.call('HGET', KEYS[1], 'hid') ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[4], 'staff') ~= ARGV[2] then return 0 end
if ARGV[4] ~= '' then
  local last = redis.call('ZSCORE', KEYS[3], ARGV[1])
  if last and tonumber(last) > tonumber(ARGV[4]) then return 0 end
end
redis.call('HSET', KEYS[1], 'state', 'waiting', 'updated', ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[2], redis.call('HGET', KEYS[4], 'score'), ARGV[1])
redis.call('HSET', KEYS[4], 'state', 'waiting')
redis.call('HDEL', KEYS[4], 'staff', 'claimed_at')
return 1
"""

# KEYS: conversation, record, claims   ARGV: hid, from, to, now
_TRANSFER = """
if redis.call('HGET', KEYS[1], 'state') ~= 'with_staff' then return 0 end
if redis.call('HGET', KEYS[1], 'hid') ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[2], 'staff') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], 'staff', ARGV[3], 'claimed_at', ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
return 1
"""

# KEYS: conversation, claims, record, closed   ARGV: hid, staff ('' = the user ends it), now,
#       ttl, field, value, ...
_CLOSE = """
if redis.call('HGET', KEYS[1], 'state') ~= 'with_staff' then return 0 end
if redis.call('HGET', KEYS[1], 'hid') ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[3], 'staff') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'bot', 'updated', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[3], 'state', 'closed', 'closed_at', ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
return 1
"""

# KEYS: claims   ARGV: hid, now   (a staff message or typing keeps the claim alive)
_TOUCH = """
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1]) end
return 1
"""


@dataclass(frozen=True)
class Conversation:
    state: State
    hid: str | None
    channel: str | None

    @classmethod
    def from_hash(cls, raw: Any) -> Conversation:
        """From the conversation's hash (``keys.conversation``), read here or in a caller's
        pipeline."""
        found = cast(dict[str, str], raw)
        return cls(
            state=State(found.get("state", State.BOT)),
            hid=found.get("hid") or None,
            channel=found.get("channel") or None,
        )


@dataclass(frozen=True)
class Handoff:
    """One handoff episode as staff see it; ``summary`` is the warm-handover card."""

    hid: str
    state: str  # waiting, with_staff, closed, cancelled, message, answered
    channel: str
    reason: str
    urgent: bool
    summary: dict[str, Any]
    staff: str | None
    queued_at: int | None
    claimed_at: int | None
    closed_at: int | None
    registration: dict[str, str] | None
    rating: int | None
    safety: str | None = None  # the safety signal's label, when one came during the handoff

    @classmethod
    def from_hash(cls, hid: str, raw: dict[str, str]) -> Handoff:
        def number(name: str) -> int | None:
            return int(raw[name]) if raw.get(name) else None

        return cls(
            hid=hid,
            state=raw.get("state", ""),
            channel=raw.get("channel", ""),
            reason=raw.get("reason", ""),
            urgent=raw.get("urgent") == "1",
            summary=json.loads(raw.get("summary", "{}")),
            staff=raw.get("staff") or None,
            queued_at=number("queued_at"),
            claimed_at=number("claimed_at"),
            closed_at=number("closed_at"),
            registration=json.loads(raw["registration"]) if raw.get("registration") else None,
            rating=number("rating"),
            safety=raw.get("safety") or None,
        )

    def public(self) -> dict[str, Any]:
        """The JSON form of the staff API."""
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class StaffReply:
    """One staff reply for ``HandoffStore.reply`` (named fields: eight of them are easy to mix
    up by position)."""

    hid: str
    staff: str  # the replier's username: the chat must be theirs
    name: str  # the name the user sees
    text: str
    at: int  # ms
    message: str  # the user's outbox message, as JSON
    outbox_max: int  # about how many outbox messages are kept
    reply_id: str | None = None  # the console's own id: a reply sent again is kept once


@dataclass(frozen=True)
class RecordChange:
    """What ``HandoffStore.change_record`` writes, decided from the fields it read."""

    put: dict[str, str] = field(default_factory=dict)
    put_new: dict[str, str] = field(default_factory=dict)  # only where the field is not set
    drop: tuple[str, ...] = ()
    also: Callable[[Pipeline], object] | None = None  # the caller's own keys, same transaction


class HandoffStore:
    """Atomic transitions; callers decide what to tell whom (see ``handoff.service``)."""

    def __init__(self, redis: Redis, retention_seconds: int) -> None:
        self._redis = redis
        self.retention = retention_seconds
        self._enqueue = redis.register_script(_ENQUEUE)
        self._claim = redis.register_script(_CLAIM)
        self._escalate = redis.register_script(_ESCALATE)
        self._say = redis.register_script(_SAY)
        self._reply = redis.register_script(_REPLY)
        self._status = redis.register_script(_STATUS)
        self._cancel = redis.register_script(_CANCEL)
        self._release = redis.register_script(_RELEASE)
        self._transfer = redis.register_script(_TRANSFER)
        self._close = redis.register_script(_CLOSE)
        self._touch = redis.register_script(_TOUCH)

    async def conversation(self, cid: str) -> Conversation:
        return Conversation.from_hash(await self._redis.hgetall(keys.conversation(cid)))

    async def status(self, cid: str) -> tuple[Conversation, bool, str | None]:
        """The conversation, and with staff: whether they are typing and their first name."""
        state, hid, typing, name = await self._status(
            keys=[keys.conversation(cid), keys.staff_typing(cid)],
            args=[*keys.around(keys.record), *keys.around(keys.account)],
        )
        conv = Conversation(State(state or State.BOT), str(hid) or None, None)
        return conv, bool(int(typing)), str(name) if name else None

    async def enqueue(
        self,
        cid: str,
        channel: str,
        *,
        reason: str,
        urgent: bool,
        summary: dict[str, Any],
        extra: dict[str, str] | None = None,
    ) -> tuple[str, bool]:
        """Puts the conversation in the queue; (hid, False) if it already was in a handoff.
        ``extra``: more record fields, written with it (the route, handoff/routing.py)."""
        hid = secrets.token_hex(8)
        at = now_ms()
        band = URGENT_BAND if urgent else NORMAL_BAND
        fields = {
            "cid": cid,
            "channel": channel,
            "reason": reason,
            "urgent": "1" if urgent else "0",
            "summary": json.dumps(summary, ensure_ascii=False),
            "created_at": str(at),
            **(extra or {}),
        }
        flat = [item for pair in fields.items() for item in pair]
        created, result_hid = await self._enqueue(
            keys=[keys.conversation(cid), keys.QUEUE, keys.record(hid), keys.SEQUENCE],
            args=[hid, band, at, channel, self.retention, *flat],
        )
        if created:
            await self._remember(cid, hid)
        return str(result_hid), bool(created)

    async def escalate(self, hid: str, safety: str, urgent: bool = True) -> bool:
        """Marks a handoff urgent (a safety signal); a waiting one jumps to the urgent band.
        True only when it became urgent now: one alarm per handoff. ``urgent`` False (a flood
        limit was hit): only the label, for staff, without moving it."""
        result = await self._escalate(
            keys=[keys.record(hid), keys.QUEUE],
            args=[hid, NORMAL_BAND, safety, "1" if urgent else "0"],
        )
        return int(result) == 1

    async def is_urgent(self, hid: str) -> bool:
        return await self._redis.hget(keys.record(hid), "urgent") == "1"

    async def _remember(self, cid: str, hid: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(keys.handoffs_of(cid), hid)
            pipe.expire(keys.handoffs_of(cid), self.retention)
            await pipe.execute()

    async def erase(self, cid: str) -> int:
        """Deletes the conversation's state and every handoff record and transcript of it."""
        hids = _strs(await self._redis.smembers(keys.handoffs_of(cid)))
        async with self._redis.pipeline(transaction=True) as pipe:
            for hid in hids:
                pipe.delete(keys.record(hid), keys.transcript(hid))
                pipe.zrem(keys.QUEUE, hid)
                pipe.zrem(keys.CLAIMS, hid)
                pipe.zrem(keys.CLOSED, hid)
                pipe.zrem(keys.LEFT, hid)
            pipe.delete(
                keys.handoffs_of(cid),
                keys.conversation(cid),
                keys.outbox(cid),
                keys.staff_typing(cid),
            )
            await pipe.execute()
        return len(hids)

    async def purge(self, before_ms: int) -> int:
        """Deletes handoffs closed or answered before ``before_ms`` (the retention time), with
        their transcripts and index entries. Their keys also expire by TTL; this makes sure the
        history lists do not keep pointing at them, and that nothing older outlives a TTL
        change."""
        old: set[str] = set()
        for index in (keys.CLOSED, keys.LEFT):
            old.update(_strs(await self._redis.zrangebyscore(index, "-inf", f"({before_ms}")))
        if not old:
            return 0
        async with self._redis.pipeline(transaction=True) as pipe:
            for hid in old:
                pipe.delete(keys.record(hid), keys.transcript(hid))
                pipe.zrem(keys.CLOSED, hid)
                pipe.zrem(keys.LEFT, hid)
            await pipe.execute()
        return len(old)

    async def _cid(self, hid: str) -> str | None:
        cid = await self._redis.hget(keys.record(hid), "cid")
        return str(cid) if cid else None

    async def claim(self, hid: str, staff: str) -> bool:
        cid = await self._cid(hid)
        if cid is None:
            return False
        return bool(
            await self._claim(
                keys=[keys.conversation(cid), keys.QUEUE, keys.CLAIMS, keys.record(hid)],
                args=[hid, staff, now_ms()],
            )
        )

    async def cancel(self, cid: str, hid: str) -> bool:
        """The user stops waiting; False when staff claimed it first."""
        return bool(
            await self._cancel(
                keys=[keys.conversation(cid), keys.QUEUE, keys.record(hid)], args=[hid, now_ms()]
            )
        )

    async def release(self, hid: str, staff: str | None, stale_before: int | None = None) -> bool:
        """Back to the queue at its old place (so usually at the front)."""
        cid = await self._cid(hid)
        if cid is None:
            return False
        return bool(
            await self._release(
                keys=[keys.conversation(cid), keys.QUEUE, keys.CLAIMS, keys.record(hid)],
                args=[hid, staff or "", now_ms(), "" if stale_before is None else stale_before],
            )
        )

    async def transfer(self, hid: str, from_staff: str, to_staff: str) -> bool:
        cid = await self._cid(hid)
        if cid is None:
            return False
        return bool(
            await self._transfer(
                keys=[keys.conversation(cid), keys.record(hid), keys.CLAIMS],
                args=[hid, from_staff, to_staff, now_ms()],
            )
        )

    async def close(
        self, hid: str, staff: str | None, fields: dict[str, str] | None = None
    ) -> bool:
        """Back to the bot. ``staff`` None: the user ended the chat."""
        cid = await self._cid(hid)
        if cid is None:
            return False
        flat = [item for pair in (fields or {}).items() for item in pair]
        return bool(
            await self._close(
                keys=[keys.conversation(cid), keys.CLAIMS, keys.record(hid), keys.CLOSED],
                args=[hid, staff or "", now_ms(), self.retention, *flat],
            )
        )

    async def say(
        self,
        hid: str,
        role: str,
        text: str,
        at: int,
        staff: str | None = None,
        caps: tuple[int, int] | None = None,
    ) -> str | None:
        """A text for staff (the user's, or a colleague's note), into the transcript and onto
        the console feed in one round trip; its entry id. ``caps`` (max messages, max bytes):
        what one wait may add (reset when staff claim it); None when a cap is reached."""
        limits = ["", "", ""] if caps is None else [caps[0], caps[1], len(text.encode())]
        found = await self._say(
            keys=[keys.transcript(hid), keys.record(hid)],
            args=[self.retention, hid, keys.EVENTS, role, text, at, staff or "", *limits],
        )
        return None if found in (0, "0", None) else str(found)

    async def reply(self, reply: StaffReply) -> tuple[str, str, bool] | None:
        """A staff reply in one round trip, if the chat is the replier's: the transcript, the
        user's outbox, the consoles' feed. (entry id, cid, whether it was kept before), or None
        when the chat is not (or no longer) theirs. With ``reply.reply_id`` (the console's own
        id), the same reply sent again is kept once and answered with the first entry's id."""
        hid, staff = reply.hid, reply.staff
        again = keys.staff_reply(hid, staff, reply.reply_id) if reply.reply_id else ""
        found = await self._reply(
            keys=[keys.record(hid), keys.transcript(hid), keys.CLAIMS, again],
            args=[
                self.retention, hid, staff, reply.name, reply.text, reply.at, reply.message,
                reply.outbox_max, keys.EVENTS, keys.OUTBOX_NEWS, *keys.around(keys.outbox),
                *keys.around(keys.staff_typing),
            ],
        )  # fmt: skip
        if not found:
            return None
        entry_id, cid, before = found
        return str(entry_id), str(cid), bool(int(before))

    async def touch(self, hid: str) -> None:
        await self._touch(keys=[keys.CLAIMS], args=[hid, now_ms()])

    async def set_state(self, cid: str, state: State, channel: str) -> None:
        """For the bot-side states only (bot, leaving_message); handoff states use the scripts."""
        assert state in (State.BOT, State.LEAVING_MESSAGE)
        name = keys.conversation(cid)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(name, mapping={"state": state, "channel": channel, "updated": now_ms()})
            pipe.expire(name, self.retention)
            await pipe.execute()

    async def get(self, hid: str) -> Handoff | None:
        raw = cast(dict[str, str], await self._redis.hgetall(keys.record(hid)))
        return Handoff.from_hash(hid, raw) if raw else None

    async def cid_of(self, hid: str) -> str | None:
        return await self._cid(hid)

    async def many(self, hids: list[str]) -> list[Handoff]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for hid in hids:
                pipe.hgetall(keys.record(hid))
            raws = await pipe.execute()
        return [Handoff.from_hash(h, r) for h, r in zip(hids, raws, strict=True) if r]

    async def queue(self) -> list[Handoff]:
        """Waiting handoffs in the order staff should take them."""
        return await self.many(_strs(await self._redis.zrange(keys.QUEUE, 0, -1)))

    async def claimed(self) -> list[Handoff]:
        return await self.many(_strs(await self._redis.zrange(keys.CLAIMS, 0, -1)))

    async def position(self, hid: str) -> int | None:
        """1 for the front of the queue; None when not waiting."""
        rank: Any = await self._redis.zrank(keys.QUEUE, hid)
        return None if rank is None else int(rank) + 1

    async def stale_claims(self, silent_before: int) -> list[str]:
        return _strs(await self._redis.zrangebyscore(keys.CLAIMS, "-inf", silent_before))

    async def history(self, limit: int = 50) -> list[Handoff]:
        """Closed handoffs, newest first; records past the retention time have expired."""
        hids = _strs(await self._redis.zrevrange(keys.CLOSED, 0, limit * 2))
        found = await self.many(hids)
        gone = set(hids) - {h.hid for h in found}
        if gone:
            await self._redis.zrem(keys.CLOSED, *gone)
        return found[:limit]

    # The handoff record (``keys.record``): the fields other modules keep in it (the route,
    # the municipality question, the card) are theirs to name; reading and writing are here.

    async def set_fields(self, hid: str, fields: dict[str, str]) -> None:
        await self._redis.hset(keys.record(hid), mapping=fields)  # type: ignore[arg-type]

    async def drop_fields(self, hid: str, *names: str) -> None:
        await self._redis.hdel(keys.record(hid), *names)

    async def record_field(self, hid: str, name: str) -> str | None:
        found = await self._redis.hget(keys.record(hid), name)
        return str(found) if found is not None else None

    async def record_fields(self, hid: str, names: list[str]) -> list[str | None]:
        return cast(list[str | None], await self._redis.hmget(keys.record(hid), names))

    async def records_fields(self, hids: list[str], names: list[str]) -> list[list[str | None]]:
        """``names`` of many records in one round trip, in the order of ``hids``."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for hid in hids:
                pipe.hmget(keys.record(hid), names)
            return cast(list[list[str | None]], await pipe.execute())

    async def set_new_field(self, hid: str, name: str, value: str) -> bool:
        """Sets a field only if it is not set yet: True for the one caller that set it."""
        return bool(await self._redis.hsetnx(keys.record(hid), name, value))

    async def change_record(
        self,
        hid: str,
        names: list[str],
        decide: Callable[[list[str | None]], RecordChange | None],
        tries: int = 5,
    ) -> bool:
        """Reads ``names``, lets ``decide`` choose a change from them and writes it, all or
        nothing: when another instance changed the record meanwhile, it reads and decides
        again (at most ``tries`` times). False when ``decide`` chose none, or all tries lost."""
        record = keys.record(hid)
        async with self._redis.pipeline(transaction=True) as pipe:
            for _ in range(tries):
                try:
                    await pipe.watch(record)
                    change = decide(cast(list[str | None], await pipe.hmget(record, names)))
                    if change is None:
                        await pipe.reset()  # type: ignore[no-untyped-call]
                        return False
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if change.put:
                        pipe.hset(record, mapping=change.put)  # type: ignore[arg-type]
                    for name, value in change.put_new.items():
                        pipe.hsetnx(record, name, value)
                    if change.drop:
                        pipe.hdel(record, *change.drop)
                    if change.also is not None:
                        change.also(pipe)
                    await pipe.execute()
                    return True
                except WatchError:
                    continue
        return False

    # Messages left outside opening hours: a handoff record of their own, never queued.

    async def leave_message(self, cid: str, channel: str, summary: dict[str, Any]) -> str:
        hid = secrets.token_hex(8)
        at = now_ms()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                keys.record(hid),
                mapping={
                    "cid": cid,
                    "channel": channel,
                    "reason": "left_message",
                    "urgent": "0",
                    "summary": json.dumps(summary, ensure_ascii=False),
                    "state": "message",
                    "created_at": at,
                    "queued_at": at,
                },
            )
            pipe.expire(keys.record(hid), self.retention)
            pipe.zadd(keys.LEFT, {hid: at})
            pipe.hset(keys.conversation(cid), mapping={"state": State.BOT, "updated": at})
            await pipe.execute()
        await self._remember(cid, hid)
        return hid

    async def left_messages(self) -> list[Handoff]:
        hids = _strs(await self._redis.zrange(keys.LEFT, 0, -1))
        found = await self.many(hids)
        gone = set(hids) - {h.hid for h in found}
        if gone:
            await self._redis.zrem(keys.LEFT, *gone)
        return found

    async def answer_message(self, hid: str, staff: str) -> bool:
        """Marks a left message answered; exactly one staff member can do so."""
        removed = await self._redis.zrem(keys.LEFT, hid)
        if not removed:
            return False
        at = now_ms()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                keys.record(hid),
                mapping={"state": "answered", "staff": staff, "closed_at": at},
            )
            pipe.zadd(keys.CLOSED, {hid: at})
            await pipe.execute()
        return True

    # The queue's front, for the queue news (handoff/queue_news.py).

    async def front(self, count: int) -> list[tuple[str, str | None, str | None]]:
        """The first ``count`` waiting handoffs: (hid, cid, the position last told), in two
        round trips however many there are."""
        hids = _strs(await self._redis.zrange(keys.QUEUE, 0, count - 1))
        if not hids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for hid in hids:
                pipe.hmget(keys.record(hid), ["cid", "last_position"])
            rows = await pipe.execute()
        return [(hid, cid, last) for hid, (cid, last) in zip(hids, rows, strict=True)]

    async def routed(self) -> set[str]:
        """The waiting handoffs still kept for the matching colleagues (handoff/routing.py)."""
        return set(_strs(await self._redis.zrange(keys.ROUTED, 0, -1)))

    async def told_positions(self, moved: dict[str, int]) -> None:
        """Remembers the queue place each user was told, so an unchanged place is not repeated."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for hid, position in moved.items():
                pipe.hset(keys.record(hid), "last_position", str(position))
            await pipe.execute()

    # The conversation's hash (``keys.conversation``): its state, and the fields other modules
    # keep beside it (the form of address, the "genoeg aan?" question, a card to leave, a rating
    # to give). Their names are theirs; the hash, its lifetime and its erasure are the store's.

    def conversation_in(self, pipe: Pipeline, cid: str) -> Callable[[list[Any]], Conversation]:
        """Reads the conversation in a caller's pipeline (one round trip with the caller's own
        commands); the returned function finds it in the results (the read is queued last)."""
        pipe.hgetall(keys.conversation(cid))

        def found(results: list[Any]) -> Conversation:
            return Conversation.from_hash(results[-1])

        return found

    def state_in(self, pipe: Pipeline, cid: str, state: State, channel: str | None = None) -> None:
        """A bot-side state (bot, callback) set in a caller's transaction, beside its own keys."""
        pipe.hset(keys.conversation(cid), mapping={"state": state, "updated": now_ms()})
        if channel is not None:
            pipe.hset(keys.conversation(cid), "channel", channel)
        pipe.expire(keys.conversation(cid), self.retention)

    async def field(self, cid: str, name: str) -> str | None:
        found = await self._redis.hget(keys.conversation(cid), name)
        return str(found) if found else None

    def fields_in(self, pipe: Pipeline, cid: str, names: list[str]) -> None:
        """Reads ``names`` in a caller's pipeline: one list in the results, None where unset."""
        pipe.hmget(keys.conversation(cid), names)

    async def fields(self, cid: str, names: list[str]) -> list[str | None]:
        return cast(list[str | None], await self._redis.hmget(keys.conversation(cid), names))

    async def keep(self, cid: str, name: str, value: str) -> None:
        """Sets a field; the hash lives the retention time from now, as after any change."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.conversation(cid), name, value)
            pipe.expire(keys.conversation(cid), self.retention)
            await pipe.execute()

    async def take(self, cid: str, name: str) -> str | None:
        """A field's value, deleted in the same step: only one reader gets it."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hget(keys.conversation(cid), name)
            pipe.hdel(keys.conversation(cid), name)
            found, _ = await pipe.execute()
        return str(found) if found else None

    async def keep_pending_summary(self, cid: str, summary: dict[str, Any]) -> None:
        """The handover card of a message the user may leave now (closed, nobody online)."""
        await self.keep(cid, "pending_summary", json.dumps(summary, ensure_ascii=False))

    async def pending_summary(self, cid: str) -> dict[str, Any] | None:
        raw = await self.field(cid, "pending_summary")
        loaded = json.loads(raw) if raw else None
        return loaded if isinstance(loaded, dict) else None

    async def drop_pending_summary(self, cid: str) -> None:
        await self._redis.hdel(keys.conversation(cid), "pending_summary")

    async def await_rating(self, cid: str, hid: str) -> None:
        """The next score the user gives is for this handoff."""
        await self.keep(cid, "rating_hid", hid)

    async def take_rating(self, cid: str) -> str | None:
        """The handoff a score is for, once: a second score finds none."""
        return await self.take(cid, "rating_hid")
