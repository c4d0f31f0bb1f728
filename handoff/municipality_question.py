"""The parent's municipality for routing: from what they said, or one optional question.

A chat's team is its municipality (handoff/routing.py), but the assistant's ``municipality``
slot is filled only by the offer finder, so most handoffs ("ik wil een medewerker spreken", a
divorce question) came without one and never reached the local team first. The service fills
the gap itself, because it holds everything needed on every channel and for every reason: the
conversation so far (the history it hands to staff anyway), the waiting user's messages and
the handoff's record. Nothing to retrain, and the slot keeps meaning "asked by the offer finder".

1. ``known``: when the user's own words so far name exactly one municipality, or a place in one
   ("wij wonen in Overveen"), the handoff gets it before it is routed. Two different ones say
   nothing certain, so then nothing is filled.
2. ``queued``: otherwise the waiting message adds one optional question, "In welke gemeente woon
   je?", with a button per municipality and "Zeg ik liever niet" (texts in content/routing.yml).
   Never in urgent or safety chats (they are for everyone at once; nothing may delay them) and
   never in youth mode (a youth stays anonymous unless they name a place themselves).
3. ``answer`` / ``typed``: a button, or a typed message that names one municipality, gives the
   route its team (``Router.set_team``: the chat keeps its place in the queue; who it is for is
   weighed again). Ignoring the question changes nothing.

A municipality learned either way also counts in the figures (the conversation's record in
base/registrar.py), as the offer finder's does.

Redis: the record field ``route_ask`` is "1" while the question is open; "Zeg ik liever niet"
removes it. No text is kept apart from the transcript the waiting messages go to anyway.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from redis.asyncio import Redis

from base.registrar import Fact, Registrar
from common.content import municipalities
from common.extract import municipalities_named
from common.handoff_payload import HandoffRequest
from common.names import Reason, State
from common.payload import MUNICIPALITY, NOT_SAYING
from common.routing_content import RoutingQuestion, routing_content, team_labels
from handoff import keys
from handoff.routing import Router
from handoff.store import HandoffStore
from handoff.transcript import Role
from staff import events

ASKED = "route_ask"  # record field: "1" while the question waits for an answer


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def named(texts: list[str]) -> str | None:
    """The one municipality these texts name, or None when they name none or several."""
    found: set[str] = set()
    places = municipalities().places()
    for text in texts:
        found |= municipalities_named(text, places)
    return found.pop() if len(found) == 1 else None


class MunicipalityQuestion:
    def __init__(
        self, redis: Redis, store: HandoffStore, router: Router, registrar: Registrar
    ) -> None:
        self._redis = redis
        self._store = store
        self._router = router
        self._registrar = registrar

    @staticmethod
    def known(request: HandoffRequest, history: list[tuple[Role, str]]) -> HandoffRequest:
        """The request with the municipality the user already named, when it had none."""
        if request.context.get("municipality"):
            return request
        found = named([text for role, text in history if role == "user"])
        if found is None:
            return request
        return dataclasses.replace(request, context={**request.context, "municipality": found})

    async def queued(
        self, cid: str, hid: str, request: HandoffRequest, message: dict[str, Any]
    ) -> dict[str, Any]:
        """The new handoff's waiting message, with the question when it may be asked. A
        municipality already known counts in the figures (as the offer finder's does)."""
        question = routing_content().question
        context = request.context
        if context.get("municipality") in team_labels():
            await self._counted(hid, context["municipality"])
        if (
            question is None
            or request.urgent
            or request.reason == Reason.SAFETY
            or context.get("safety")
            or context.get("municipality")  # known, or "anders": somewhere else
            or context.get("user_type") == "youth"
            or await self._store.field(cid, keys.YOUTH_FIELD)
            or await self._store.record_field(hid, "route_team")
        ):
            return message
        await self._store.set_fields(hid, {ASKED: "1"})
        teams = team_labels().items()
        choices = [{"title": name, "payload": f"{MUNICIPALITY}{key}"} for key, name in teams]
        choices.append({"title": question.decline, "payload": NOT_SAYING})
        custom = message.get("custom") or {}
        handoff = {**custom.get("handoff", {}), "question": "municipality"}
        return {
            **message,
            "text": f"{message['text']}\n\n{question.text}",
            "buttons": [*choices, *message.get("buttons", [])],
            "custom": {**custom, "handoff": handoff},
        }

    async def answer(self, hid: str, payload: str) -> str | None:
        """A button of the question: what to tell the user, or None when it no longer waits."""
        if await self._store.record_field(hid, "state") != State.WAITING:
            return None
        question = routing_content().question
        if question is None:
            return None
        if payload == NOT_SAYING:
            return await self._declined(hid, question)
        await self._set(hid, payload[len(MUNICIPALITY) :])
        return await self._said(hid, question.thanks)

    async def typed(self, hid: str, text: str) -> str | None:
        """A waiting user's message: when it answers the open question, what to tell them.
        A municipality named without the question (a youth, after "liever niet") still gives
        the route its team, quietly."""
        question = routing_content().question
        pending = await self._store.record_field(hid, ASKED) == "1"
        if question is not None and pending:
            phrases = {_words(p) for p in question.decline_phrases} | {_words(question.decline)}
            if _words(text) in phrases:
                return await self._declined(hid, question)
        found = named([text])
        if found is None or not await self._set(hid, found):
            return None
        return await self._said(hid, question.thanks) if question and pending else None

    async def _set(self, hid: str, team: str) -> bool:
        await self._store.drop_fields(hid, ASKED)
        if await self._router.set_team(hid, team) is None:
            return False
        await self._counted(hid, team)
        raw = await self._store.record_field(hid, "summary")
        summary = json.loads(raw) if raw else {}
        if isinstance(summary, dict):  # the staff member's card names it too
            summary["municipality"] = team
            await self._store.set_fields(hid, {"summary": json.dumps(summary, ensure_ascii=False)})
        await events.publish(self._redis, "queue", hid=hid)  # lists and alerts follow
        return True

    async def _counted(self, hid: str, team: str) -> None:
        """The conversation's municipality for the figures (base/registrar.py)."""
        cid, channel = await self._store.record_fields(hid, ["cid", "channel"])
        if cid:
            await self._registrar.note(str(cid), str(channel or ""), [Fact("municipality", team)])

    async def _declined(self, hid: str, question: RoutingQuestion) -> str:
        await self._store.drop_fields(hid, ASKED)
        return await self._said(hid, question.declined)

    async def _said(self, hid: str, text: str) -> str:
        position = await self._store.position(hid) or 1
        return text.format(position=position)
