""" "je" or "u" for one conversation: where the choice is kept and how replies follow it.

The choice lives in the conversation's state hash (``handoff.keys.conversation``, fields
``ADDRESS_FIELD`` and ``YOUTH_FIELD`` of handoff/keys.py), so "Gesprek wissen" and the retention
time erase it with the rest. Rasa knows nothing of it: every text the user reads passes through
:meth:`AddressBook.render` on its way out (the core's replies and, via :class:`VoicedOutbox`,
what waits in the outbox), and is rewritten with :func:`common.address.to_u` when the parent
chose "u" (or ``CJG_FORM_OF_ADDRESS`` is ``u`` and nothing was chosen). Once a conversation is
known to be a youth's (youth mode), it gets "je" whatever was chosen. Staff's own words are
never rewritten.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from common import registration
from common.address import PAYLOADS, YOUTH_MARK, Address, address_content, to_u
from delivery.outbox import Delivered, Outbox
from delivery.reply import Reply
from handoff import keys
from handoff.staff_content import console_texts
from handoff.store import HandoffStore

log = logging.getLogger(__name__)

FIELDS = [keys.ADDRESS_FIELD, keys.YOUTH_FIELD]  # in the conversation's hash (handoff/store.py)
STAFF_EVENTS = frozenset({"staff_message", "message_answer"})  # hold staff's own words


class AddressBook:
    def __init__(self, redis: Redis, default: Address, retention_seconds: int) -> None:
        self._store = HandoffStore(redis, retention_seconds)  # the choice is in its hash
        self.default = default

    async def state(self, cid: str) -> tuple[Address, bool]:
        """The form the conversation gets, and whether a youth writes (then always "je")."""
        return self.found(await self._store.fields(cid, FIELDS))

    def read_in(self, pipe: Pipeline, cid: str) -> None:
        """Reads the address fields in a caller's pipeline, for :meth:`found`."""
        self._store.fields_in(pipe, cid, FIELDS)

    def found(self, fields: list[Any]) -> tuple[Address, bool]:
        """``state`` from the conversation's address fields (read by the caller, batched)."""
        chosen, youth = fields
        if youth:
            return Address.JE, True
        return Address(chosen) if chosen in (Address.JE, Address.U) else self.default, False

    async def form(self, cid: str) -> Address:
        return (await self.state(cid))[0]

    async def for_staff(self, cid: str) -> dict[str, Any]:
        """For the console's chat header: the form the parent gets, and a label when it is "u"
        (content/staff_console.yml), so staff answer in the same form."""
        form = await self.form(cid)
        # Optional in the content (the other console texts' checks stay as they are).
        label = console_texts().messages.get("address_u") if form == Address.U else None
        return {"address": str(form), "address_label": label}

    async def control(self, cid: str) -> dict[str, Any]:
        """The widget's control (``cjg_address``): the form now, whether it is a youth's
        conversation (no control then), and the control's Dutch texts from content."""
        form, youth = await self.state(cid)
        control = address_content().widget
        labels = {k: v for k, v in dataclasses.asdict(control).items() if k != "strings_u"}
        return {
            "form": str(form),
            "youth": youth,
            "labels": labels,
            "payloads": {str(f): payload for payload, f in PAYLOADS.items()},
            # the widget's own texts for this form (none: its je-texts as they are)
            "strings": dict(control.strings_u) if form == Address.U else {},
        }

    async def is_youth(self, cid: str) -> bool:
        return bool(await self._store.field(cid, keys.YOUTH_FIELD))

    async def choose(self, cid: str, form: Address) -> None:
        await self._store.keep(cid, keys.ADDRESS_FIELD, form)

    async def note_youth(self, cid: str) -> None:
        await self._store.keep(cid, keys.YOUTH_FIELD, "1")

    async def render(self, cid: str, messages: list[Reply]) -> list[Reply]:
        """The messages in the conversation's form (as they are for "je")."""
        if not messages or await self.form(cid) == Address.JE:
            return messages
        return [cast(Reply, voiced(cast(dict[str, Any], m))) for m in messages]


def _own_words(handoff: dict[str, Any], text: str) -> tuple[int, int] | None:
    """Where a staff member's words sit in a wrapper line (``own``, from handoff/staff_side.py)."""
    own = handoff.get("own")
    if (
        isinstance(own, list)
        and len(own) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) for n in own)
        and 0 <= own[0] <= own[1] <= len(text)
    ):
        return own[0], own[1]
    return None


def voiced(message: dict[str, Any]) -> dict[str, Any]:
    """One message in the u-form: its text and button titles; staff's words stay as written.

    A staff message is all staff's words; a wrapper line ("Antwoord van Anne (CJG) op je
    bericht: ...") follows the choice around the words it marks as the staff member's own."""
    custom = message.get("custom")
    handoff = custom.get("handoff") if isinstance(custom, dict) else None
    text = message.get("text")
    if isinstance(handoff, dict) and handoff.get("event") in STAFF_EVENTS:
        span = _own_words(handoff, text) if isinstance(text, str) else None
        if span is None or not isinstance(text, str):
            return message  # nothing marked: all of it may be staff's words
        start, end = span
        return {**message, "text": to_u(text[:start]) + text[start:end] + to_u(text[end:])}
    out = dict(message)
    if isinstance(text, str):
        out["text"] = to_u(text)
    if isinstance(out.get("buttons"), list):
        out["buttons"] = [
            {**b, "title": to_u(b["title"])} if isinstance(b.get("title"), str) else b
            for b in out["buttons"]
        ]
    return out


def youth_turn(replies: list[Reply]) -> bool:
    """Rasa's reply says a youth is writing: youth mode began, or a note names a youth."""
    for message in replies:
        custom = message.get("custom")
        if custom == YOUTH_MARK:
            return True
        tag = registration.from_custom(custom)
        if tag is not None and tag.get("user_type") == "youth":
            return True
    return False


def without_marks(replies: list[Reply]) -> list[Reply]:
    return [m for m in replies if m.get("custom") != YOUTH_MARK]


class VoicedOutbox(Outbox):
    """The outbox, read in each conversation's form: queue news, "Anne is er nu", the rating
    question ... follow the choice on every channel (API updates, widget, Telegram)."""

    def __init__(self, redis: Redis, retention_seconds: int, address: AddressBook) -> None:
        super().__init__(redis, retention_seconds)
        self._address = address

    async def read(self, cid: str, after: str = "0", count: int = 100) -> list[Delivered]:
        async with self._redis.pipeline(transaction=False) as pipe:  # one round trip
            pipe.xread({keys.outbox(cid): after}, count=count)
            self._address.read_in(pipe, cid)
            raw, fields = await pipe.execute()
        found = self.parsed(raw)
        if not found or self._address.found(fields)[0] == Address.JE:
            return found
        return [Delivered(entry_id, voiced(message)) for entry_id, message in found]
