"""The staff side of a handoff: what the console reads (the queue, a chat, the history, who is
online) and what staff do (claim, reply, note, release, transfer, close, answer a left message).

Used by the staff API (handoff/web_staff.py, web_staff_ws.py) through the service's facade.
What the user is told goes to their outbox; every console hears the news on the staff feed.
"""

from __future__ import annotations

from typing import Any

from base.registrar import Fact
from common.names import Reason, State
from common.payload import END, RATING
from delivery.outbox import OUTBOX_MAX, encoded
from handoff import keys
from handoff.enough import EnoughQuestion
from handoff.presence import Status
from handoff.queue_news import QueueNews
from handoff.routing import Audience
from handoff.service_parts import Parts, as_json, event
from handoff.store import Handoff, StaffReply, now_ms
from handoff.transcript import Entry
from staff import events
from staff.accounts import Account

OWN_WORDS = "\x00"  # marks where a staff member's text goes in a wrapper line ("message_answer")


class StaffSide:
    def __init__(self, parts: Parts, news: QueueNews, enough: EnoughQuestion) -> None:
        self._parts, self._news, self._enough = parts, news, enough
        self._redis, self._store, self._transcript = parts.redis, parts.store, parts.transcript
        self._outbox, self._registrar, self._presence = (
            parts.outbox,
            parts.registrar,
            parts.presence,
        )
        self._say, self._timing = parts.say, parts.timing

    # --- what the console reads ----------------------------------------------------------

    async def queue_view(self, account: Account) -> dict[str, list[dict[str, Any]]]:
        """The console's lists: waiting (with routing, for ``account``), active, left messages."""
        queue = await self._store.queue()
        waiting = [{**h.public(), "position": i} for i, h in enumerate(queue, start=1)]
        waiting = await self._routed_for(waiting, account)
        active = [h.public() for h in await self._store.claimed()]
        left = [h.public() for h in await self._store.left_messages()]
        return {"waiting": waiting, "active": active, "messages": left}

    async def _routed_for(
        self, waiting: list[dict[str, Any]], account: Account
    ) -> list[dict[str, Any]]:
        """Each waiting chat with ``routing`` (for whom and why, handoff/routing.py), in queue
        order, except that chats still kept for other colleagues come last. ``position`` stays
        the place in the one queue, the number the parent is told."""
        views = await self._parts.router.views([w["hid"] for w in waiting], account)
        items = [{**w, "routing": views.get(w["hid"])} for w in waiting]
        later = [w for w in items if w["routing"] and w["routing"]["for"] == Audience.OTHERS]
        return [w for w in items if w not in later] + later

    async def queue(self) -> list[Handoff]:
        """Waiting handoffs in the order staff should take them."""
        return await self._store.queue()

    async def claimed(self) -> list[Handoff]:
        return await self._store.claimed()

    async def left_messages(self) -> list[Handoff]:
        return await self._store.left_messages()

    async def history(self, limit: int = 50) -> list[Handoff]:
        """Closed handoffs, newest first."""
        return await self._store.history(limit)

    async def record(self, hid: str) -> Handoff | None:
        """One handoff as staff see it; None when it is gone."""
        return await self._store.get(hid)

    async def transcript(self, hid: str) -> list[Entry]:
        return await self._transcript.read(hid)

    async def cid_of(self, hid: str) -> str | None:
        return await self._store.cid_of(hid)

    # --- who is online -------------------------------------------------------------------

    async def heartbeat(self, username: str) -> None:
        """A sign of life of a console: its staff member counts as online."""
        await self._presence.heartbeat(username)

    async def sign_of_life(self, username: str) -> None:
        """A staff API call: a heartbeat, written at most once a second per staff member
        (handoff/presence.py), so a busy console does not pay a round trip per reply."""
        await self._presence.sign_of_life(username)

    async def came_online(self, username: str) -> None:
        """A console connected: online, and every console hears it."""
        await self._presence.heartbeat(username)
        await events.publish(self._redis, "presence", staff=username, status="online")

    async def went_away(self, username: str) -> None:
        """A console closed; presence itself times out (a reload comes back well before)."""
        await events.publish(self._redis, "presence", staff=username, status=None)

    async def leave(self, username: str) -> None:
        """Logged out: no longer online at once."""
        await self._presence.leave(username)

    async def set_status(self, username: str, status: Status) -> None:
        """ "online" or "away", as the staff member chose; every console hears it."""
        await self._presence.set_status(username, status)
        await events.publish(self._redis, "presence", staff=username, status=status)

    async def connected(self) -> dict[str, Status]:
        return await self._presence.connected()

    async def is_connected(self, username: str) -> bool:
        return await self._presence.is_connected(username)

    # --- what staff do -------------------------------------------------------------------

    async def claim(self, hid: str, staff: Account) -> bool:
        if not await self._store.claim(hid, staff.username):
            return False
        cid = await self._store.cid_of(hid)
        assert cid is not None
        handoff = await self._store.get(hid)
        if handoff is not None and handoff.queued_at is not None:
            waited = str((now_ms() - handoff.queued_at) // 1000)
            await self._registrar.note_first(cid, Fact("wait_seconds", waited))
        claimed = self._say("transcript_claimed", name=staff.name)
        await self._transcript.append(hid, "system", claimed)
        await self._outbox.push(
            cid,
            {
                "text": self._say("staff_joined", name=staff.name),
                "buttons": [{"title": "Gesprek beëindigen", "payload": END}],
                "custom": event("staff_joined", staff=staff.name),
            },
        )
        await events.publish(self._redis, "claimed", hid=hid, staff=staff.username)
        await self._news.notify_positions()
        return True

    async def _owned(self, hid: str, staff: Account) -> Handoff | None:
        handoff = await self._store.get(hid)
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
        message = {"text": text, "custom": event("staff_message", staff=staff.name)}
        written = await self._store.reply(
            StaffReply(
                hid=hid,
                staff=staff.username,
                name=staff.name,
                text=text,
                at=at,
                message=encoded(message),
                outbox_max=OUTBOX_MAX,
                reply_id=reply_id,
            )
        )
        if written is None:
            return None
        await self._parts.durability.confirm(self._redis)  # before the console hears "sent"
        return Entry(written[0], "staff", text, at, staff.name)

    async def note(self, hid: str, staff: Account, text: str) -> Entry | None:
        """An internal note: in the transcript for colleagues, never shown to the user."""
        if await self._store.get(hid) is None:
            return None
        at = now_ms()
        entry_id = await self._store.say(hid, "note", text, at, staff.name)
        assert entry_id is not None  # no caps
        return Entry(entry_id, "note", text, at, staff.name)

    async def staff_typing(self, hid: str, staff: Account) -> None:
        """The user sees it in their own chat; every console hears it on the feed."""
        if await self._owned(hid, staff) is not None:
            cid = await self._store.cid_of(hid)
            if cid:
                await self._redis.set(keys.staff_typing(cid), "1", px=4000)  # not durable
                await self._redis.publish(
                    keys.USER_SIGNALS,
                    as_json({"cid": cid, "typing": "staff", "staff": staff.name}),
                )
                await self._store.touch(hid)
        await events.publish(self._redis, "typing", hid=hid, who="staff")

    async def release(self, hid: str, staff: Account | None, *, timeout: bool = False) -> bool:
        """Back to the queue at its old place; the user is told why."""
        handoff = await self._store.get(hid)
        if handoff is None or handoff.staff is None:
            return False
        owner = handoff.staff
        if staff is not None and staff.username != owner:
            return False
        stale_before = now_ms() - int(self._timing.silent_seconds * 1000) if timeout else None
        if not await self._store.release(hid, owner, stale_before):
            return False
        cid = await self._store.cid_of(hid)
        assert cid is not None
        position = await self._store.position(hid) or 1
        key = "staff_timeout" if staff is None else "staff_released"
        await self._transcript.append(hid, "system", self._say("transcript_back_in_queue"))
        await self._outbox.push(cid, self._news.queue_message(key, position, None))
        await self._store.set_fields(hid, {"last_position": str(position)})
        await events.publish(self._redis, "released", hid=hid, timeout=staff is None)
        await self._news.notify_positions(skip=hid)
        return True

    async def transfer(self, hid: str, staff: Account, to: Account) -> bool:
        if not await self._store.transfer(hid, staff.username, to.username):
            return False
        cid = await self._store.cid_of(hid)
        assert cid is not None
        passed_on = self._say("transcript_transferred", name=to.name)
        await self._transcript.append(hid, "system", passed_on)
        await self._outbox.push(
            cid,
            {
                "text": self._say("staff_transferred", name=to.name),
                "custom": event("staff_joined", staff=to.name),
            },
        )
        await events.publish(self._redis, "transferred", hid=hid, staff=to.username)
        return True

    async def close(self, hid: str, staff: Account, registration: dict[str, str]) -> bool:
        """Ends the chat with a registration; the user gets one satisfaction question."""
        handoff = await self._owned(hid, staff)
        if handoff is None:
            return False
        fields = {"registration": as_json(registration), "closed_by": "staff"}
        if not await self._store.close(hid, staff.username, fields):
            return False
        cid = await self._store.cid_of(hid)
        assert cid is not None
        await self._parts.register_end(cid, hid, registration)
        closed = self._say("transcript_closed", name=staff.name)
        await self._transcript.append(hid, "system", closed)
        await self._parts.archive(hid)
        await self._store.await_rating(cid, hid)
        await self._outbox.push(
            cid, {"text": self._say("handoff_closed", name=staff.name), "custom": event("closed")}
        )
        await self._outbox.push(
            cid,
            {
                "text": self._say("rating_question"),
                "buttons": [{"title": str(n), "payload": f"{RATING}{n}"} for n in range(1, 6)],
                "custom": event("rating"),
            },
        )
        if not (handoff.urgent or handoff.reason == Reason.SAFETY or handoff.safety):
            # "Heb je hier genoeg aan ...?" after the rating (never after a safety chat).
            await self._enough.wait_after_rating(cid)
        if handoff.claimed_at is not None:
            await self._news.learn_handling_time(now_ms() - handoff.claimed_at)
        await events.publish(self._redis, "closed", hid=hid, by="staff")
        return True

    async def answer_message(self, hid: str, staff: Account, text: str) -> bool:
        """Answers a message left outside opening hours; it waits in the user's outbox."""
        handoff = await self._store.get(hid)
        if handoff is None or handoff.state != "message":
            return False
        if not await self._store.answer_message(hid, staff.username):
            return False
        cid = await self._store.cid_of(hid)
        assert cid is not None
        await self._transcript.append(hid, "staff", text, staff.name)
        # "own": where the staff member's words are in the text, so a reader that rewrites the
        # line for "u" (bot/address.py) rewrites only the wrapper around them.
        wrapper = self._say("message_answer", name=staff.name, text=OWN_WORDS)
        start = wrapper.index(OWN_WORDS)
        await self._outbox.push(
            cid,
            {
                "text": wrapper.replace(OWN_WORDS, text, 1),
                "custom": event("message_answer", staff=staff.name, own=[start, start + len(text)]),
            },
        )
        await self._parts.archive(hid)
        await events.publish(self._redis, "closed", hid=hid, by="staff")
        return True
