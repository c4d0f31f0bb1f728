"""What a handoff means for the user and for staff: one facade over its four roles.

The store makes transitions atomic; the roles decide who is told what:

- handoff/user_side.py: asking for staff, waiting, talking, leaving a message, stopping
  (used by the conversation core, bot/conversation.py);
- handoff/staff_side.py: the console's reads and staff's actions (handoff/web_staff*.py);
- handoff/queue_news.py: the queue place and wait estimate the waiting user is told;
- handoff/upkeep.py: the periodic jobs (bot/web_app.py's sweeper).

Callers use the intent methods below; the store, transcript, outbox, registrar, presence and
Redis client stay inside (bot/web_app.py hands a channel the one collaborator it needs, such as
the outbox, when it wires the application).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from redis.asyncio import Redis

from base.registrar import Fact, Registrar
from common.content import ServiceMessages
from common.names import State
from delivery.outbox import Outbox
from delivery.write import Delivery
from handoff import keys
from handoff.enough import EnoughQuestion
from handoff.hours import OpeningHours
from handoff.municipality_question import MunicipalityQuestion
from handoff.presence import Presence
from handoff.queue_news import QueueNews
from handoff.routing import Router
from handoff.service_parts import Message, Parts, Timing
from handoff.staff_side import StaffSide
from handoff.store import HandoffStore
from handoff.transcript import Transcript
from handoff.upkeep import Upkeep
from handoff.user_side import UserSide

__all__ = ["HandoffService", "Message", "Timing"]


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
        delivery: Delivery | None = None,
    ) -> None:
        """``callback_button``: the title of a "call me back" button beside "leave a message"
        (None: callbacks are off). ``delivery``: the user's outbox (bot/web_app.py gives one
        that says "je" or "u") and when an acknowledged write is safe (delivery/durability.py;
        by default a plain outbox and no replicas to wait for)."""
        delivery = delivery or Delivery(redis, Outbox(redis, timing.retention_seconds))
        self.timing = timing
        store = HandoffStore(redis, timing.retention_seconds)
        registrar = registrar or Registrar(redis)
        router = Router(redis, store, presence, timing.routing_wait_seconds)
        parts = Parts(
            redis=redis,
            texts=texts,
            hours=hours,
            timing=timing,
            store=store,
            transcript=Transcript(redis, timing.retention_seconds),
            outbox=delivery.outbox,
            registrar=registrar,
            presence=presence,
            router=router,
            durability=delivery.durability,
        )
        self._parts = parts
        registrar.set_busy_check(self._busy)
        enough = EnoughQuestion(redis, registrar, timing.retention_seconds)
        municipality = MunicipalityQuestion(redis, store, router, registrar)
        news = QueueNews(parts)
        user = UserSide(parts, news, municipality, enough, callback_button)
        staff = StaffSide(parts, news, enough)
        upkeep = Upkeep(parts, staff)

        # The user's side (bot/conversation.py).
        self.conversation = user.conversation
        self.conversation_in = user.conversation_in
        self.begin = user.begin
        self.escalate = user.escalate
        self.is_urgent = user.is_urgent
        self.withdraw = user.withdraw
        self.would_queue = user.would_queue
        self.urgent_limited = user.urgent_limited
        self.user_message = user.user_message
        self.leave_message = user.leave_message
        self.control = user.control
        self.status = user.status
        self.user_typing = user.user_typing
        self.back_to_bot = user.back_to_bot
        self.stop = user.stop
        self.forget = user.forget
        self.ask_if_enough = enough.after_bot  # "Heb je hier genoeg aan?" (handoff/enough.py)
        self.answer_enough = enough.answer

        # The staff side (handoff/web_staff.py, web_staff_ws.py).
        self.queue_view = staff.queue_view
        self.queue = staff.queue
        self.claimed = staff.claimed
        self.left_messages = staff.left_messages
        self.history = staff.history
        self.record = staff.record
        self.transcript = staff.transcript
        self.cid_of = staff.cid_of
        self.heartbeat = staff.heartbeat
        self.sign_of_life = staff.sign_of_life
        self.came_online = staff.came_online
        self.went_away = staff.went_away
        self.leave = staff.leave
        self.set_status = staff.set_status
        self.connected = staff.connected
        self.is_connected = staff.is_connected
        self.claim = staff.claim
        self.send = staff.send
        self.note = staff.note
        self.staff_typing = staff.staff_typing
        self.release = staff.release
        self.transfer = staff.transfer
        self.close = staff.close
        self.answer_message = staff.answer_message

        # Queue news and upkeep.
        self.notify_positions = news.notify_positions
        self.purge = upkeep.purge
        self.sweep = upkeep.sweep
        self.count_quiet = upkeep.count_quiet

    async def _busy(self, cid: str) -> bool:
        """Still waiting for or talking with staff, or a turn in flight (Rasa is still
        answering, bot/turns.py): not counted yet, or the turn's facts would count twice."""
        if await self._parts.redis.exists(keys.turn_lock(cid)):
            return True
        return (await self._parts.store.conversation(cid)).state in (
            State.WAITING,
            State.WITH_STAFF,
        )

    # --- the figures, for the conversation core ----------------------------------------------

    async def register(self, cid: str, channel: str, facts: Iterable[Fact] = ()) -> None:
        """Counts what happened in a running conversation for the figures (base/registrar.py)."""
        await self._parts.registrar.note(cid, channel, facts)

    async def register_final(self, cid: str) -> None:
        """Counts the conversation now, before it is erased: then nothing of it is left."""
        await self._parts.registrar.flush(cid)

    def on_quiet(self, hook: Callable[[str], Awaitable[bool]]) -> None:
        """Run when a conversation has gone quiet, before it is counted (the core redacts
        Rasa's tracker there); True means personal data was found: not anonymous."""
        self._parts.registrar.set_quiet_hook(hook)
