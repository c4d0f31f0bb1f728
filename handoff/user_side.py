"""The user's side of a handoff: asking for staff, waiting, talking, leaving a message, the
service's own buttons, and stopping or erasing it all.

Used by the conversation core (bot/conversation.py) through the service's facade; replies come
back to the caller, who renders them for its channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from base.registrar import Fact, outcome
from common.content import topics
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
from handoff.enough import EnoughQuestion
from handoff.hours import OpeningHours
from handoff.municipality_question import MunicipalityQuestion
from handoff.queue_news import QueueNews
from handoff.service_parts import Message, Parts, event, stop_waiting
from handoff.staff_content import console_texts
from handoff.store import Conversation, now_ms
from handoff.transcript import Role
from staff import events

log = logging.getLogger(__name__)


class UserSide:
    def __init__(
        self,
        parts: Parts,
        news: QueueNews,
        municipality: MunicipalityQuestion,
        enough: EnoughQuestion,
        callback_button: str | None,
    ) -> None:
        """``callback_button``: the title of a "call me back" button beside "leave a message"
        (None: callbacks are off)."""
        self._parts, self._news = parts, news
        self._municipality, self._enough = municipality, enough
        self._callback_button = callback_button
        self._redis, self._store, self._transcript = parts.redis, parts.store, parts.transcript
        self._registrar, self._presence, self._router = (
            parts.registrar,
            parts.presence,
            parts.router,
        )
        self._say, self._hours, self._timing = parts.say, parts.hours, parts.timing

    def conversation_in(self, pipe: Pipeline, cid: str) -> Callable[[list[Any]], Conversation]:
        """The conversation's state, read in the caller's pipeline (the core reads it with the
        rate limits, in one round trip)."""
        return self._store.conversation_in(pipe, cid)

    async def conversation(self, cid: str) -> Conversation:
        return await self._store.conversation(cid)

    async def begin(
        self, cid: str, channel: str, request: HandoffRequest, history: list[tuple[Role, str]]
    ) -> list[Message]:
        """Queues the conversation, or (closed, nobody online) offers to leave a message."""
        request = self._municipality.known(request, history)  # "wij wonen in Overveen"
        summary = self._summary(channel, request, history)
        now = datetime.now(UTC)
        hours = self._hours()
        if not hours.is_open(now) or await self._presence.online_count() == 0:
            await self._store.set_state(cid, State.LEAVING_MESSAGE, channel)
            await self._store.keep_pending_summary(cid, summary)
            key = "handoff_closed_hours" if not hours.is_open(now) else "handoff_nobody_online"
            buttons = [{"title": self._say("no_message_button"), "payload": CANCEL}]
            if self._callback_button and _may_offer_callback(request):
                buttons.append({"title": self._callback_button, "payload": ASK_CALLBACK})
            return [
                {
                    "text": self._say(key, when=self._when(hours, now)),
                    "buttons": buttons,
                    "custom": event("leave_message"),
                }
            ]
        route = await self._router.fields(request)
        hid, created = await self._store.enqueue(
            cid, channel, reason=request.reason, urgent=request.urgent, summary=summary, extra=route
        )
        if created:
            await self._router.queued(hid)
            await self._registrar.note(cid, channel, [outcome("handed_off")])
            await self._transcript.append_many(hid, history)
            await events.publish(self._redis, "queue", hid=hid, urgent=request.urgent)
            await self._news.notify_positions(skip=hid)
        position = await self._store.position(hid) or 1
        await self._store.set_fields(hid, {"last_position": str(position)})
        estimate = await self._news.estimate(position, hid)
        message = self._news.queue_message("handoff_queued", position, estimate)
        if self._callback_button and _may_offer_callback(request):  # rather than wait
            message["buttons"].append({"title": self._callback_button, "payload": ASK_CALLBACK})
        if created:  # "In welke gemeente woon je?" when routing needs it
            message = await self._municipality.queued(cid, hid, request, message)
        return [message]

    @staticmethod
    def _when(hours: OpeningHours, now: datetime) -> str:
        """When staff will read a left message, in Dutch, without promising more than that."""
        return "zo snel mogelijk" if hours.is_open(now) else f"vanaf {hours.describe_next(now)}"

    def _waiting_note(self, text: str) -> Message:
        """A reply while waiting (the municipality question's answer): stopping stays at hand."""
        return {
            "text": text,
            "buttons": [stop_waiting()],
            "custom": event("municipality"),
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
        if conv.hid and await self._store.escalate(conv.hid, safety, urgent):
            await events.publish(self._redis, "queue", hid=conv.hid, urgent=True)
            await events.publish(self._redis, "safety", hid=conv.hid, label=safety)

    async def is_urgent(self, conv: Conversation) -> bool:
        return conv.hid is not None and await self._store.is_urgent(conv.hid)

    async def withdraw(self, cid: str, conv: Conversation) -> bool:
        """The user leaves the queue for a callback request ("Bel me liever terug"): like a
        cancel, but not counted as giving up. False when staff claimed it first."""
        if conv.hid is None or not await self._store.cancel(cid, conv.hid):
            return False
        await self._parts.archive(conv.hid)
        await events.publish(self._redis, "queue", hid=conv.hid)
        await self._news.notify_positions()
        return True

    async def would_queue(self) -> bool:
        """Whether a handoff started now goes into the queue (open, someone online)."""
        return self._hours().is_open(datetime.now(UTC)) and await self._presence.online_count() > 0

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
            caps = (self._timing.waiting_max_messages, self._timing.waiting_max_bytes)
        at = now_ms()
        entry_id = await self._store.say(conv.hid, "user", text, at, caps=caps)
        if entry_id is None:  # past the cap: said so, never dropped silently
            return [{"text": self._say("waiting_full"), "custom": {"service": "waiting_full"}}]
        if conv.state != State.WAITING:
            return []  # kept and on the staff feed: staff answer in their own time
        try:
            answered = await self._municipality.typed(conv.hid, text)
            if answered is not None:
                return [self._waiting_note(answered)]
            position = await self._store.position(conv.hid) or 1
            return [self._news.queue_message("handoff_waiting_ack", position, None)]
        except RedisError as exc:  # kept: staff read it when they open the chat
            log.error("user message kept but not answered (%s)", type(exc).__name__)
        return []

    async def leave_message(self, cid: str, channel: str, text: str) -> list[Message]:
        """Keeps the message for staff. A RedisError before the text is kept means nothing
        was (the client may send it again); after that the rest is best effort."""
        summary = await self._store.pending_summary(cid)
        summary = summary or {"channel": channel, "reason": "left_message"}
        hid = await self._store.leave_message(cid, channel, summary)
        await self._transcript.append(hid, "user", text)
        try:
            await self._registrar.note(cid, channel, [outcome("left_message")])
            await self._store.drop_pending_summary(cid)
            await events.publish(self._redis, "message_left", hid=hid)
        except RedisError as exc:
            log.error("left message kept but not announced (%s)", type(exc).__name__)
        when = self._when(self._hours(), datetime.now(UTC))
        return [{"text": self._say("message_left", when=when), "custom": event("message_left")}]

    async def control(self, cid: str, conv: Conversation, payload: str) -> list[Message]:
        """The service's own buttons: stop waiting, end the chat, the satisfaction score."""
        if payload == CANCEL:
            if conv.state == State.LEAVING_MESSAGE:
                await self._store.set_state(cid, State.BOT, conv.channel or "")
                return [{"text": self._say("message_cancelled"), "custom": event("cancelled")}]
            if conv.state == State.WAITING and conv.hid:
                if await self._store.cancel(cid, conv.hid):
                    await self._registrar.note(cid, conv.channel or "", [outcome("abandoned")])
                    await self._parts.archive(conv.hid)
                    await events.publish(self._redis, "queue", hid=conv.hid)
                    await self._news.notify_positions()
                    return [{"text": self._say("handoff_cancelled"), "custom": event("cancelled")}]
                return [{"text": self._say("handoff_cancel_too_late")}]
            if conv.state == State.WITH_STAFF:
                return await self.control(cid, conv, END)
        elif payload == END and conv.state == State.WITH_STAFF and conv.hid:
            if await self._store.close(conv.hid, None, {"closed_by": "user"}):
                await self._parts.register_end(cid, conv.hid, {})
                await self._transcript.append(
                    conv.hid, "system", self._say("transcript_user_ended")
                )
                await self._parts.archive(conv.hid)
                await events.publish(self._redis, "closed", hid=conv.hid, by="user")
                return [{"text": self._say("user_ended"), "custom": event("closed")}]
        elif is_municipality_payload(payload) and conv.state == State.WAITING and conv.hid:
            answered = await self._municipality.answer(conv.hid, payload)
            if answered is not None:
                return [self._waiting_note(answered)]
        elif payload.startswith(RATING) and is_service_payload(payload):
            hid = await self._store.take_rating(cid)
            if hid:
                await self._store.set_fields(hid, {"rating": payload[len(RATING) :]})
                await self._registrar.note_if_open(cid, [Fact("rating", payload[len(RATING) :])])
                thanks = {"text": self._say("rating_thanks"), "custom": event("rated")}
                return [thanks, *await self._enough.after_rating(cid)]
        return [{"text": self._say("unknown_button")}]

    async def status(self, cid: str) -> dict[str, Any]:
        """The handoff part of a poll: state, queue position and whether staff is typing."""
        conv, typing, staff = await self._store.status(cid)
        status: dict[str, Any] = {"state": conv.state.value}
        if conv.state == State.WAITING and conv.hid:
            position = await self._store.position(conv.hid)
            status["position"] = position
            status["estimate_minutes"] = await self._news.estimate(position or 1, conv.hid)
        if conv.state == State.WITH_STAFF:
            status["staff_typing"] = typing
            if conv.hid:
                status["staff"] = staff
        return status

    async def user_typing(self, cid: str) -> None:
        conv = await self._store.conversation(cid)
        if conv.state in (State.WAITING, State.WITH_STAFF) and conv.hid:
            await events.publish(self._redis, "typing", hid=conv.hid, who="user")

    async def back_to_bot(self, cid: str, channel: str) -> None:
        """The user leaves "leave a message" for something else (a callback wish)."""
        await self._store.set_state(cid, State.BOT, channel)

    async def stop(self, cid: str) -> None:
        """Ends whatever the user is in (waiting, a chat with staff, leaving a message) as the
        stop button does (:meth:`control`, which knows what each state needs)."""
        conv = await self._store.conversation(cid)
        if conv.state in (State.WAITING, State.WITH_STAFF, State.LEAVING_MESSAGE):
            await self.control(cid, conv, CANCEL)

    async def forget(self, cid: str) -> None:
        """Wis mijn gesprek: stop, then delete everything kept about this conversation."""
        await self.stop(cid)
        hids = await self._store.erase(cid)
        await events.publish(self._redis, "queue", erased=hids)


def _may_offer_callback(request: HandoffRequest) -> bool:
    """Not for a safety concern (the crisis card has the numbers), a youth (never asked for a
    number) or someone who already asked for one."""
    youth = request.context.get("user_type") == "youth"
    return request.reason not in (Reason.SAFETY, Reason.CALLBACK) and not youth
