"""What a handoff means for the user and for staff: the rules around the state machine.

The store makes transitions atomic; this module decides who is told what. It is used by the
conversation core (the user's side) and by the staff API (the staff side), on any instance.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from common.content import ServiceMessages, service_messages, topics
from common.handoff_payload import HandoffRequest
from common.names import Reason, State
from common.offers import THEME_LABELS
from common.payload import (
    ASK_CALLBACK,
    CANCEL,
    END,
    RATING,
    is_municipality_payload,
    is_service_payload,
)
from handoff import events, keys
from handoff.accounts import Account
from handoff.durability import Durability
from handoff.enough import EnoughQuestion
from handoff.hours import OpeningHours
from handoff.municipality_question import MunicipalityQuestion
from handoff.presence import Presence
from handoff.registrar import Fact, Registrar, outcome
from handoff.requests import STREAM as REQUESTS
from handoff.routing import Router
from handoff.staff_content import console_texts
from handoff.store import Conversation, Handoff, HandoffStore, now_ms
from handoff.transcript import OUTBOX_MAX, Entry, Outbox, Role, Transcript, encoded

log = logging.getLogger(__name__)

Message = dict[str, Any]  # a bot message without recipient: text, buttons, custom

NOTIFY_FRONT = 25  # queue places that get a message when they move up
EWMA_WEIGHT = 0.2  # how fast the handling-time average follows recent handoffs


@dataclass(frozen=True)
class Timing:
    silent_seconds: float  # a claimed chat without staff activity this long goes back
    retention_seconds: int
    # What one conversation may add to its transcript while it waits for staff.
    waiting_max_messages: int = 50
    waiting_max_bytes: int = 20000
    # How long a routed chat is offered only to the matching colleagues (handoff/routing.py).
    routing_wait_seconds: float = 180.0


OWN_WORDS = "\x00"  # marks where a staff member's text goes in a wrapper line ("message_answer")


def _event(kind: str, **data: Any) -> dict[str, Any]:
    return {"handoff": {"event": kind, **data}}


class HandoffService:
    def __init__(
        self,
        redis: Redis,
        texts: ServiceMessages,
        presence: Presence,
        hours: Callable[[], OpeningHours],
        timing: Timing,
        registrar: Registrar | None = None,
        callback_button: str | None = None,
    ) -> None:
        """``callback_button``: the title of a "call me back" button beside "leave a message"
        (None: callbacks are off)."""
        self._redis = redis
        self._callback_button = callback_button
        self._texts = texts
        self.presence = presence
        self._hours = hours
        self.timing = timing
        self.store = HandoffStore(redis, timing.retention_seconds)
        self.transcript = Transcript(redis, timing.retention_seconds)
        self.outbox = Outbox(redis, timing.retention_seconds)
        self.registrar = registrar or Registrar(redis)
        self.registrar.set_busy_check(self._busy)
        self.router = Router(redis, presence, timing.routing_wait_seconds)
        self.enough = EnoughQuestion(redis, self.registrar, timing.retention_seconds)
        # When an acknowledged write is safe (handoff/durability.py); set by bot/web_app.py.
        self.durability = Durability()
        self.municipality = MunicipalityQuestion(redis, self.store, self.router, self.registrar)

    async def _busy(self, cid: str) -> bool:
        """Still waiting for or talking with staff, or a turn in flight (Rasa is still
        answering, bot/turns.py): not counted yet, or the turn's facts would count twice."""
        if await self._redis.exists(keys.turn_lock(cid)):
            return True
        return (await self.store.conversation(cid)).state in (State.WAITING, State.WITH_STAFF)

    @property
    def redis(self) -> Redis:
        return self._redis

    def _say(self, key: str, **values: Any) -> str:
        return self._texts.get(key).format(**values)

    # --- the user's side -------------------------------------------------------------------

    async def conversation(self, cid: str) -> Conversation:
        return await self.store.conversation(cid)

    async def begin(
        self, cid: str, channel: str, request: HandoffRequest, history: list[tuple[Role, str]]
    ) -> list[Message]:
        """Queues the conversation, or (closed, nobody online) offers to leave a message."""
        request = self.municipality.known(request, history)  # "wij wonen in Overveen"
        summary = self._summary(channel, request, history)
        now = datetime.now(UTC)
        hours = self._hours()
        if not hours.is_open(now) or await self.presence.online_count() == 0:
            await self.store.set_state(cid, State.LEAVING_MESSAGE, channel)
            await self._redis.hset(keys.conversation(cid), "pending_summary", _json(summary))
            key = "handoff_closed_hours" if not hours.is_open(now) else "handoff_nobody_online"
            buttons = [{"title": self._say("no_message_button"), "payload": CANCEL}]
            if self._callback_button and _may_offer_callback(request):
                buttons.append({"title": self._callback_button, "payload": ASK_CALLBACK})
            return [
                {
                    "text": self._say(key, when=self._when(hours, now)),
                    "buttons": buttons,
                    "custom": _event("leave_message"),
                }
            ]
        route = await self.router.fields(request)
        hid, created = await self.store.enqueue(
            cid, channel, reason=request.reason, urgent=request.urgent, summary=summary, extra=route
        )
        if created:
            await self.router.queued(hid)
            await self.registrar.note(cid, channel, [outcome("handed_off")])
            await self.transcript.append_many(hid, history)
            await events.publish(self._redis, "queue", hid=hid, urgent=request.urgent)
            await self.notify_positions(skip=hid)
        position = await self.store.position(hid) or 1
        await self.store.set_fields(hid, {"last_position": str(position)})
        estimate = await self._estimate(position, hid)
        message = self._queue_message("handoff_queued", position, estimate)
        if self._callback_button and _may_offer_callback(request):  # rather than wait
            message["buttons"].append({"title": self._callback_button, "payload": ASK_CALLBACK})
        if created:  # "In welke gemeente woon je?" when routing needs it
            message = await self.municipality.queued(cid, hid, request, message)
        return [message]

    @staticmethod
    def _when(hours: OpeningHours, now: datetime) -> str:
        """When staff will read a left message, in Dutch, without promising more than that."""
        return "zo snel mogelijk" if hours.is_open(now) else f"vanaf {hours.describe_next(now)}"

    def _queue_message(self, key: str, position: int, estimate: int | None) -> Message:
        return {
            "text": self._say(key, position=position, estimate=self._estimate_text(estimate)),
            "buttons": [_stop_waiting()],
            "custom": _event("queue", position=position, estimate_minutes=estimate),
        }

    def _waiting_note(self, text: str) -> Message:
        """A reply while waiting (the municipality question's answer): stopping stays at hand."""
        return {
            "text": text,
            "buttons": [_stop_waiting()],
            "custom": _event("municipality"),
        }

    def _summary(
        self, channel: str, request: HandoffRequest, history: list[tuple[Role, str]]
    ) -> dict[str, Any]:
        """The warm-handover card: what staff read before the transcript."""
        context = request.context
        theme = None
        if context.get("topic"):
            topic = topics().get(context["topic"])
            theme = topic.title if topic else context["topic"]
        elif context.get("offer_theme"):
            theme = THEME_LABELS.get(context["offer_theme"], context["offer_theme"])
        # What the bot said before the request itself (not its "Ik geef je vraag door ...").
        last_user = max((i for i, (role, _) in enumerate(history) if role == "user"), default=0)
        advised = [text[:400] for role, text in history[:last_user] if role == "bot"][-3:]
        return {
            "channel": channel,
            "reason": request.reason,
            "reason_label": console_texts().reasons.get(request.reason, request.reason),
            "urgent": request.urgent,
            "safety": request.reason == Reason.SAFETY,
            "theme": theme,
            "child_age": context.get("child_age"),
            "municipality": context.get("municipality"),
            "advised": advised,
            "recent_intents": request.recent_intents,
        }

    async def escalate(self, conv: Conversation, safety: str, urgent: bool = True) -> None:
        """A safety signal during a handoff or a left message: staff see it as urgent at once.
        Once per handoff: a repeat in an urgent handoff raises no new alarm. ``urgent`` False
        (a flood limit was hit): the handoff is labelled for staff but keeps its place."""
        if conv.hid and await self.store.escalate(conv.hid, safety, urgent):
            await events.publish(self._redis, "queue", hid=conv.hid, urgent=True)
            await events.publish(self._redis, "safety", hid=conv.hid, label=safety)

    async def is_urgent(self, conv: Conversation) -> bool:
        return conv.hid is not None and await self.store.is_urgent(conv.hid)

    async def withdraw(self, cid: str, conv: Conversation) -> bool:
        """The user leaves the queue for a callback request ("Bel me liever terug"): like a
        cancel, but not counted as giving up. False when staff claimed it first."""
        if conv.hid is None or not await self.store.cancel(cid, conv.hid):
            return False
        await self._archive(conv.hid)
        await events.publish(self._redis, "queue", hid=conv.hid)
        await self.notify_positions()
        return True

    async def would_queue(self) -> bool:
        """Whether a handoff started now goes into the queue (open, someone online)."""
        return self._hours().is_open(datetime.now(UTC)) and await self.presence.online_count() > 0

    async def urgent_limited(self, count: int, limit: str) -> None:
        """Tells every console that crisis messages were queued without the urgent flag."""
        text = self._say("urgent_limited_staff", count=count)
        await events.publish(self._redis, "urgent_limited", count=count, limit=limit, text=text)

    async def user_message(self, cid: str, conv: Conversation, text: str) -> list[Message]:
        """While waiting or with staff, the user's words go to staff, never to Rasa.

        A RedisError means the text was not kept (the client may send it again): the
        transcript and the staff feed are written in one step. After that the rest is best
        effort, so a retry cannot add it twice."""
        assert conv.hid is not None
        caps = None
        if conv.state == State.WAITING:
            caps = (self.timing.waiting_max_messages, self.timing.waiting_max_bytes)
        at = now_ms()
        entry_id = await self.store.say(conv.hid, "user", text, at, caps=caps)
        if entry_id is None:  # past the cap: said so, never dropped silently
            return [{"text": self._say("waiting_full"), "custom": {"service": "waiting_full"}}]
        if conv.state != State.WAITING:
            return []  # kept and on the staff feed: staff answer in their own time
        try:
            answered = await self.municipality.typed(conv.hid, text)
            if answered is not None:
                return [self._waiting_note(answered)]
            position = await self.store.position(conv.hid) or 1
            return [self._queue_message("handoff_waiting_ack", position, None)]
        except RedisError as exc:  # kept: staff read it when they open the chat
            log.error("user message kept but not answered (%s)", type(exc).__name__)
        return []

    async def leave_message(self, cid: str, channel: str, text: str) -> list[Message]:
        """Keeps the message for staff. A RedisError before the text is kept means nothing
        was (the client may send it again); after that the rest is best effort."""
        raw = await self._redis.hget(keys.conversation(cid), "pending_summary")
        summary = _loads(raw) or {"channel": channel, "reason": "left_message"}
        hid = await self.store.leave_message(cid, channel, summary)
        await self.transcript.append(hid, "user", text)
        try:
            await self.registrar.note(cid, channel, [outcome("left_message")])
            await self._redis.hdel(keys.conversation(cid), "pending_summary")
            await events.publish(self._redis, "message_left", hid=hid)
        except RedisError as exc:
            log.error("left message kept but not announced (%s)", type(exc).__name__)
        when = self._when(self._hours(), datetime.now(UTC))
        return [{"text": self._say("message_left", when=when), "custom": _event("message_left")}]

    async def control(self, cid: str, conv: Conversation, payload: str) -> list[Message]:
        """The service's own buttons: stop waiting, end the chat, the satisfaction score."""
        if payload == CANCEL:
            if conv.state == State.LEAVING_MESSAGE:
                await self.store.set_state(cid, State.BOT, conv.channel or "")
                return [{"text": self._say("message_cancelled"), "custom": _event("cancelled")}]
            if conv.state == State.WAITING and conv.hid:
                if await self.store.cancel(cid, conv.hid):
                    await self.registrar.note(cid, conv.channel or "", [outcome("abandoned")])
                    await self._archive(conv.hid)
                    await events.publish(self._redis, "queue", hid=conv.hid)
                    await self.notify_positions()
                    return [{"text": self._say("handoff_cancelled"), "custom": _event("cancelled")}]
                return [{"text": self._say("handoff_cancel_too_late")}]
            if conv.state == State.WITH_STAFF:
                return await self.control(cid, conv, END)
        elif payload == END and conv.state == State.WITH_STAFF and conv.hid:
            if await self.store.close(conv.hid, None, {"closed_by": "user"}):
                await self._register_end(cid, conv.hid, {})
                await self.transcript.append(conv.hid, "system", self._say("transcript_user_ended"))
                await self._archive(conv.hid)
                await events.publish(self._redis, "closed", hid=conv.hid, by="user")
                return [{"text": self._say("user_ended"), "custom": _event("closed")}]
        elif is_municipality_payload(payload) and conv.state == State.WAITING and conv.hid:
            answered = await self.municipality.answer(conv.hid, payload)
            if answered is not None:
                return [self._waiting_note(answered)]
        elif payload.startswith(RATING) and is_service_payload(payload):
            hid = await self._redis.hget(keys.conversation(cid), "rating_hid")
            if hid:
                await self._redis.hdel(keys.conversation(cid), "rating_hid")
                await self.store.set_fields(str(hid), {"rating": payload[len(RATING) :]})
                await self.registrar.note_if_open(cid, [Fact("rating", payload[len(RATING) :])])
                thanks = {"text": self._say("rating_thanks"), "custom": _event("rated")}
                return [thanks, *await self.enough.after_rating(cid)]
        return [{"text": self._say("unknown_button")}]

    async def _register_end(self, cid: str, hid: str, registration: dict[str, str]) -> None:
        """Handling time and the staff member's registration, for the figures."""
        handoff = await self.store.get(hid)
        facts: list[Fact] = []
        if handoff is not None and handoff.claimed_at is not None:
            facts.append(Fact("handle_seconds", str((now_ms() - handoff.claimed_at) // 1000)))
        names = {
            "topic": "staff_theme",
            "outcome": "staff_outcome",
            "referred_to": "referral",
            "asker": "user_type",  # staff know better than the bot's guess
        }
        facts += [Fact(names[k], v) for k, v in registration.items() if k in names and v]
        if facts:
            await self.registrar.note(cid, handoff.channel if handoff else "", facts)

    async def _archive(self, hid: str) -> None:
        """The handoff is over: what is kept from now on is redacted. When the user's own
        words held personal data, the conversation no longer counts as anonymous."""
        try:
            changed = await self.transcript.redact(hid)
            cid = await self.store.cid_of(hid)
            if changed.get("user") and cid:
                await self.registrar.note_if_open(cid, [Fact("personal", "1")])
        except Exception as exc:  # never let redaction break the user's or staff's action
            log.error("transcript redaction failed (%s); it expires unredacted", type(exc).__name__)

    async def status(self, cid: str) -> dict[str, Any]:
        """The handoff part of a poll: state, queue position and whether staff is typing."""
        conv, typing, staff = await self.store.status(cid)
        status: dict[str, Any] = {"state": conv.state.value}
        if conv.state == State.WAITING and conv.hid:
            position = await self.store.position(conv.hid)
            status["position"] = position
            status["estimate_minutes"] = await self._estimate(position or 1, conv.hid)
        if conv.state == State.WITH_STAFF:
            status["staff_typing"] = typing
            if conv.hid:
                status["staff"] = staff
        return status

    async def user_typing(self, cid: str) -> None:
        conv = await self.store.conversation(cid)
        if conv.state in (State.WAITING, State.WITH_STAFF) and conv.hid:
            await events.publish(self._redis, "typing", hid=conv.hid, who="user")

    async def stop(self, cid: str) -> None:
        """Ends whatever the user is in: waiting, a chat with staff, or leaving a message."""
        conv = await self.store.conversation(cid)
        if conv.state == State.WAITING:
            await self.control(cid, conv, CANCEL)
        elif conv.state == State.WITH_STAFF:
            await self.control(cid, conv, END)
        elif conv.state == State.LEAVING_MESSAGE:
            await self.store.set_state(cid, State.BOT, conv.channel or "")

    async def forget(self, cid: str) -> None:
        """Wis mijn gesprek: stop, then delete everything kept about this conversation."""
        await self.stop(cid)
        hids = await self.store.erase(cid)
        await events.publish(self._redis, "queue", erased=hids)

    # --- the staff side --------------------------------------------------------------------

    async def claim(self, hid: str, staff: Account) -> bool:
        if not await self.store.claim(hid, staff.username):
            return False
        cid = await self.store.cid_of(hid)
        assert cid is not None
        handoff = await self.store.get(hid)
        if handoff is not None and handoff.queued_at is not None:
            waited = str((now_ms() - handoff.queued_at) // 1000)
            await self.registrar.note_first(cid, Fact("wait_seconds", waited))
        await self.transcript.append(hid, "system", f"{staff.name} neemt het gesprek aan.")
        await self.outbox.push(
            cid,
            {
                "text": self._say("staff_joined", name=staff.name),
                "buttons": [{"title": "Gesprek beëindigen", "payload": END}],
                "custom": _event("staff_joined", staff=staff.name),
            },
        )
        await events.publish(self._redis, "claimed", hid=hid, staff=staff.username)
        await self.notify_positions()
        return True

    async def _owned(self, hid: str, staff: Account) -> Handoff | None:
        handoff = await self.store.get(hid)
        if handoff is None or handoff.state != State.WITH_STAFF or handoff.staff != staff.username:
            return None
        return handoff

    async def send(
        self, hid: str, staff: Account, text: str, reply_id: str | None = None
    ) -> Entry | None:
        """A staff reply: into the transcript and the user's outbox, in one round trip (at
        ``appendfsync always`` each round trip waits for Redis's fsync); None when the chat
        is not this staff member's. ``reply_id``: the console's own id for this reply, so a
        reply sent again after a lost answer (a proxy restart) reaches the user once."""
        at = now_ms()
        message = {"text": text, "custom": _event("staff_message", staff=staff.name)}
        written = await self.store.reply(
            hid, staff.username, staff.name, text, at, encoded(message), OUTBOX_MAX, reply_id
        )
        if written is None:
            return None
        await self.durability.confirm(self._redis)  # before the console hears "sent"
        return Entry(written[0], "staff", text, at, staff.name)

    async def note(self, hid: str, staff: Account, text: str) -> Entry | None:
        """An internal note: in the transcript for colleagues, never shown to the user."""
        if await self.store.get(hid) is None:
            return None
        at = now_ms()
        entry_id = await self.store.say(hid, "note", text, at, staff.name)
        assert entry_id is not None  # no caps
        return Entry(entry_id, "note", text, at, staff.name)

    async def staff_typing(self, hid: str, staff: Account) -> None:
        if await self._owned(hid, staff) is None:
            return
        cid = await self.store.cid_of(hid)
        if cid:
            await self._redis.set(keys.staff_typing(cid), "1", px=4000)  # typing is not durable
            await self._redis.publish(
                keys.USER_SIGNALS, _json({"cid": cid, "typing": "staff", "staff": staff.name})
            )
            await self.store.touch(hid)

    async def release(self, hid: str, staff: Account | None, *, timeout: bool = False) -> bool:
        """Back to the queue at its old place; the user is told why."""
        handoff = await self.store.get(hid)
        if handoff is None or handoff.staff is None:
            return False
        owner = handoff.staff
        if staff is not None and staff.username != owner:
            return False
        stale_before = now_ms() - int(self.timing.silent_seconds * 1000) if timeout else None
        if not await self.store.release(hid, owner, stale_before):
            return False
        cid = await self.store.cid_of(hid)
        assert cid is not None
        position = await self.store.position(hid) or 1
        key = "staff_timeout" if staff is None else "staff_released"
        await self.transcript.append(hid, "system", self._say("transcript_back_in_queue"))
        await self.outbox.push(cid, self._queue_message(key, position, None))
        await self.store.set_fields(hid, {"last_position": str(position)})
        await events.publish(self._redis, "released", hid=hid, timeout=staff is None)
        await self.notify_positions(skip=hid)
        return True

    async def transfer(self, hid: str, staff: Account, to: Account) -> bool:
        if not await self.store.transfer(hid, staff.username, to.username):
            return False
        cid = await self.store.cid_of(hid)
        assert cid is not None
        await self.transcript.append(hid, "system", f"Overgedragen aan {to.name}.")
        await self.outbox.push(
            cid,
            {
                "text": self._say("staff_transferred", name=to.name),
                "custom": _event("staff_joined", staff=to.name),
            },
        )
        await events.publish(self._redis, "transferred", hid=hid, staff=to.username)
        return True

    async def close(self, hid: str, staff: Account, registration: dict[str, str]) -> bool:
        """Ends the chat with a registration; the user gets one satisfaction question."""
        handoff = await self._owned(hid, staff)
        if handoff is None:
            return False
        fields = {"registration": _json(registration), "closed_by": "staff"}
        if not await self.store.close(hid, staff.username, fields):
            return False
        cid = await self.store.cid_of(hid)
        assert cid is not None
        await self._register_end(cid, hid, registration)
        await self.transcript.append(hid, "system", f"{staff.name} heeft het gesprek afgesloten.")
        await self._archive(hid)
        await self._redis.hset(keys.conversation(cid), "rating_hid", hid)
        await self.outbox.push(
            cid, {"text": self._say("handoff_closed", name=staff.name), "custom": _event("closed")}
        )
        await self.outbox.push(
            cid,
            {
                "text": self._say("rating_question"),
                "buttons": [{"title": str(n), "payload": f"{RATING}{n}"} for n in range(1, 6)],
                "custom": _event("rating"),
            },
        )
        if not (handoff.urgent or handoff.reason == Reason.SAFETY or handoff.safety):
            # "Heb je hier genoeg aan ...?" after the rating (never after a safety chat).
            await self.enough.wait_after_rating(cid)
        if handoff.claimed_at is not None:
            await self._learn_handling_time(now_ms() - handoff.claimed_at)
        await events.publish(self._redis, "closed", hid=hid, by="staff")
        return True

    async def answer_message(self, hid: str, staff: Account, text: str) -> bool:
        """Answers a message left outside opening hours; it waits in the user's outbox."""
        handoff = await self.store.get(hid)
        if handoff is None or handoff.state != "message":
            return False
        if not await self.store.answer_message(hid, staff.username):
            return False
        cid = await self.store.cid_of(hid)
        assert cid is not None
        await self.transcript.append(hid, "staff", text, staff.name)
        # "own": where the staff member's words are in the text, so a reader that rewrites the
        # line for "u" (bot/address.py) rewrites only the wrapper around them.
        wrapper = self._say("message_answer", name=staff.name, text=OWN_WORDS)
        start = wrapper.index(OWN_WORDS)
        await self.outbox.push(
            cid,
            {
                "text": wrapper.replace(OWN_WORDS, text, 1),
                "custom": _event(
                    "message_answer", staff=staff.name, own=[start, start + len(text)]
                ),
            },
        )
        await self._archive(hid)
        await events.publish(self._redis, "closed", hid=hid, by="staff")
        return True

    # --- queue news and the wait estimate ---------------------------------------------------

    async def notify_positions(self, skip: str | None = None) -> None:
        """Tells the waiting users at the front whose place in the queue changed.

        Only the first ``NOTIFY_FRONT`` get a message, so a claim costs the same with 20 or 2000
        waiting; everyone else reads the current position from the update feed's status.
        Three round trips to Redis, however many are told.
        """
        queue = [str(h) for h in await self._redis.zrange(keys.QUEUE, 0, NOTIFY_FRONT - 1)]
        if not queue:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for hid in queue:
                pipe.hmget(keys.record(hid), ["cid", "last_position"])
            rows = await pipe.execute()
        estimate = await self._estimator()
        routed = set(await self._redis.zrange(keys.ROUTED, 0, -1)) if queue else set()
        news: list[tuple[str, Message]] = []
        moved: dict[str, int] = {}
        for position, (hid, (cid, last)) in enumerate(zip(queue, rows, strict=True), start=1):
            if hid == skip or not cid or last == str(position):
                continue
            minutes = estimate(position)
            if minutes is not None and hid in routed:  # still for the matching colleagues
                minutes = await self._estimate(position, hid)
            news.append((cid, self._queue_message("queue_position", position, minutes)))
            moved[hid] = position
        await self.outbox.push_many(news)
        async with self._redis.pipeline(transaction=False) as pipe:
            for hid, position in moved.items():
                pipe.hset(keys.record(hid), "last_position", str(position))
            await pipe.execute()

    async def _estimator(self) -> Callable[[int], int | None]:
        """Minutes to wait at a queue position, from the recent average handling time and the
        staff online now; None when there is no history yet."""
        average = await self._redis.hget(keys.STATS, "avg_handle_ms")
        staff = max(await self.presence.online_count(), 1)

        def estimate(position: int) -> int | None:
            if not average:
                return None
            return max(1, math.ceil(math.ceil(position / staff) * float(average) / 60000))

        return estimate

    async def _estimate(self, position: int, hid: str | None = None) -> int | None:
        """With ``hid``: that chat's own estimate, honest about its routing."""
        if hid is None:
            return (await self._estimator())(position)
        average = await self._redis.hget(keys.STATS, "avg_handle_ms")
        online = await self.presence.online_count()
        return await self.router.estimate(hid, position, float(average or 0), online)

    def _estimate_text(self, minutes: int | None) -> str:
        if minutes is None:
            return self._say("estimate_unknown")
        if minutes < 5:
            return self._say("estimate_short")
        return self._say("estimate_minutes", minutes=5 * math.ceil(minutes / 5))

    async def _learn_handling_time(self, handled_ms: int) -> None:
        old = await self._redis.hget(keys.STATS, "avg_handle_ms")
        new = handled_ms if not old else (1 - EWMA_WEIGHT) * float(old) + EWMA_WEIGHT * handled_ms
        await self._redis.hset(keys.STATS, "avg_handle_ms", str(int(new)))

    # --- timeouts ----------------------------------------------------------------------------

    async def purge(self) -> int:
        """The retention job: everything about a handoff older than the retention time goes,
        and so do old handoff requests. Every instance may run it; it is idempotent."""
        before = now_ms() - self.timing.retention_seconds * 1000
        purged = await self.store.purge(before)
        await self._redis.xtrim(REQUESTS, minid=before)
        if purged:
            log.info("retention: %d old handoff(s) deleted", purged)
        return purged

    async def sweep(self) -> int:
        """Puts claimed chats back in the queue when their staff member left or went silent.

        Safe on every instance at once: each release is atomic and checks the owner again.
        """
        await self.router.open_due()
        released = 0
        silent_before = now_ms() - int(self.timing.silent_seconds * 1000)
        silent = set(await self.store.stale_claims(silent_before))
        for handoff in await self.store.claimed():
            gone = handoff.staff is not None and not await self.presence.is_connected(handoff.staff)
            if (handoff.hid in silent or gone) and await self.release(
                handoff.hid, None, timeout=not gone
            ):
                released += 1
        if released:
            log.info("returned %d claimed handoff(s) to the queue", released)
        return released


def _may_offer_callback(request: HandoffRequest) -> bool:
    """Not for a safety concern (the crisis card has the numbers), a youth (never asked for a
    number) or someone who already asked for one."""
    youth = request.context.get("user_type") == "youth"
    return request.reason not in (Reason.SAFETY, Reason.CALLBACK) and not youth


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _loads(raw: Any) -> dict[str, Any] | None:
    if not raw:
        return None
    loaded = json.loads(raw)
    return loaded if isinstance(loaded, dict) else None


def _stop_waiting() -> dict[str, str]:
    """The button under every message while a user waits."""
    return {"title": service_messages().get("stop_waiting_button"), "payload": CANCEL}
