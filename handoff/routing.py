"""Routing: a waiting chat is offered first to the colleagues whose team and profile match.

A handoff gets a route when it is queued: the team is the conversation's municipality, the
profile follows from content/routing.yml (safety, youth mode, reason, topic, offer theme). For
``wait_seconds`` the chat is *for* the matching colleagues: it is on top of their list with its
reason ("Bloemendaal · Scheiding") and their console alerts them. After that, or at once when
the chat is urgent or about safety, has no route, or nobody who matches is online, it is *for
everyone*: every console alerts and lists it in queue order.

Routing changes the order of the lists and who is alerted, not who may claim: a colleague of
another team may still help out before the wait is over (the I&A teams cover for each other at
busy moments), and the queue keeps one order, so the position a parent is told stays true.

Redis: the route lives in the handoff record (``route_*`` fields); ``keys.ROUTED`` lists the
handoffs whose head start has not ended yet, so the sweeper finds them without a scan.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis

from common.handoff_payload import HandoffRequest
from common.names import CONSOLE_ROLES, Reason, State
from common.routing_content import RoutingContent, routing_content, team_labels
from handoff import keys
from handoff.presence import Presence
from handoff.store import HandoffStore, RecordChange, now_ms
from staff import events
from staff.accounts import Account, account_from_hash

log = logging.getLogger(__name__)


class Audience(StrEnum):
    """For whom a waiting chat is, as one console sees it."""

    YOU = "you"  # this colleague matches the route
    EVERYONE = "everyone"  # open to all (urgent, no route, nobody matching online, wait over)
    OTHERS = "others"  # still for the matching colleagues; this one may help out


class Opened(StrEnum):
    """Why a chat is for everyone (the record's ``route_open``)."""

    URGENT = "urgent"  # urgent or about safety: always everyone at once
    UNROUTED = "unrouted"  # neither municipality nor profile known
    NOBODY = "nobody"  # nobody who matches is online
    WAITED = "waited"  # the head start of the matching colleagues is over


@dataclass(frozen=True)
class Route:
    team: str | None = None  # a municipality key
    profile: str | None = None  # a profile key of content/routing.yml

    @property
    def targeted(self) -> bool:
        return self.team is not None or self.profile is not None


def route_for(request: HandoffRequest, content: RoutingContent, teams: Iterable[str]) -> Route:
    """The team and profile a handoff asks for, from its reason and context (never text)."""
    context, rules = request.context, content.rules
    team = context.get("municipality")
    profile: str | None
    if request.reason == Reason.SAFETY or context.get("safety"):
        profile = rules.safety
    elif context.get("user_type") == "youth":
        profile = rules.youth
    elif request.reason in rules.reasons:
        profile = rules.reasons[request.reason]
    else:
        topic = context.get("topic")
        profile = content.profile_of_topic(topic) if topic else None
        if profile is None and context.get("offer_theme"):
            profile = rules.offer_themes.get(context["offer_theme"])
    return Route(team if team in set(teams) else None, profile)


def matches(account: Account, route: Route) -> bool:
    """Whether this colleague is one the route asks for: the same team (when the route names
    one) and the profile (when it names one). A route that names neither matches nobody."""
    if account.role not in CONSOLE_ROLES or not route.targeted:
        return False
    if route.team is not None and account.team != route.team:
        return False
    return route.profile is None or route.profile in account.profiles


def label(route: Route, content: RoutingContent, teams: dict[str, str]) -> str:
    """ "Bloemendaal · Scheiding": what the console shows as the reason for the route."""
    parts = [teams.get(route.team, route.team) if route.team else None]
    parts.append(content.profiles.get(route.profile, route.profile) if route.profile else None)
    return " · ".join(p for p in parts if p)


def honest_estimate(
    position: int, average_ms: float, online: int, matching: int, wait_left_ms: int
) -> int:
    """Minutes to wait at ``position`` for a chat offered to ``matching`` of the ``online``
    colleagues: as if only they take chats, but never longer than the rest of their head start
    plus the wait with everyone (after it, everyone does)."""
    everyone = math.ceil(position / max(online, 1)) * average_ms
    only = math.ceil(position / max(matching, 1)) * average_ms
    return max(1, math.ceil(min(only, wait_left_ms + everyone) / 60000))


class Router:
    def __init__(
        self, redis: Redis, store: HandoffStore, presence: Presence, wait_seconds: float
    ) -> None:
        self._redis = redis
        self._store = store  # the record's route fields are read and written through it
        self._presence = presence
        self.wait_ms = int(wait_seconds * 1000)

    async def online_accounts(self) -> list[Account]:
        """Colleagues with a live console whose status is online (not away)."""
        names = [n for n, s in (await self._presence.connected()).items() if s == "online"]
        if not names:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(keys.account(name))
            raws = await pipe.execute()
        found = (account_from_hash(n, r) for n, r in zip(names, raws, strict=True))
        return [a for a in found if a is not None and a.role in CONSOLE_ROLES]

    async def fields(self, request: HandoffRequest) -> dict[str, str]:
        """The route fields of a new handoff's record (written with it, atomically)."""
        route = route_for(request, routing_content(), team_labels())
        at = now_ms()
        fields = {"route_team": route.team or "", "route_profile": route.profile or ""}
        opened: Opened | None = None
        if request.urgent or request.reason == Reason.SAFETY:
            opened = Opened.URGENT
        elif not route.targeted:
            opened = Opened.UNROUTED
        elif not any(matches(a, route) for a in await self.online_accounts()):
            opened = Opened.NOBODY
        if opened is None:
            fields["route_until"] = str(at + self.wait_ms)
        else:
            fields |= {"route_open": opened.value, "route_open_at": str(at)}
        return fields

    async def queued(self, hid: str) -> None:
        """After the handoff is in the queue: the sweeper opens it when the head start ends."""
        until, why = await self._store.record_fields(hid, ["route_until", "route_open"])
        if until and why is None:
            await self._redis.zadd(keys.ROUTED, {hid: int(until)})

    async def open_due(self) -> int:
        """The sweeper's part: chats whose head start is over, or whose matching colleagues
        all left, become for everyone; every console hears it (and alerts). Safe on every
        instance at once: only the one that marks a chat open announces it."""
        pending = [str(h) for h in await self._redis.zrange(keys.ROUTED, 0, -1, withscores=False)]
        if not pending:
            return 0
        now = now_ms()
        online: list[Account] | None = None
        opened = 0
        for hid in pending:
            state, team, profile, until, urgent = await self._store.record_fields(
                hid, ["state", "route_team", "route_profile", "route_until", "urgent"]
            )
            if state not in (State.WAITING, State.WITH_STAFF) or until is None or urgent == "1":
                # gone, closed or cancelled; or urgent now, which is for everyone already
                await self._redis.zrem(keys.ROUTED, hid)
                continue
            due = int(until) <= now
            if not due:
                if state != State.WAITING:
                    continue
                if online is None:
                    online = await self.online_accounts()
                if any(matches(a, Route(team or None, profile or None)) for a in online):
                    continue
            reason = Opened.WAITED if due else Opened.NOBODY
            if await self._open(hid, reason, now) and state == State.WAITING:
                await events.publish(self._redis, "queue", hid=hid, routing=reason.value)
                opened += 1
        return opened

    async def set_team(self, hid: str, team: str) -> Route | None:
        """The parent named their municipality while waiting: the route gets that team and is
        weighed again as when it was queued, with the head start counted from the queue time
        (so the wait for everyone never grows). The queue order is not touched. None when
        nothing changed: no longer waiting, urgent, or the team was known already."""
        fields = ["state", "route_team", "route_profile", "route_open", "urgent", "queued_at"]
        online = await self.online_accounts()
        route = Route(team, None)

        def decide(found: list[str | None]) -> RecordChange | None:
            nonlocal route
            state, old, profile, why, urgent, queued = found
            if state != State.WAITING or old or urgent == "1" or why == Opened.URGENT:
                return None
            route, now = Route(team, profile or None), now_ms()
            until = int(queued or now) + self.wait_ms
            if until > now and any(matches(a, route) for a in online):
                return RecordChange(
                    put={"route_team": team, "route_until": str(until)},
                    drop=("route_open", "route_open_at"),
                    also=lambda pipe: pipe.zadd(keys.ROUTED, {hid: until}),
                )
            if not why or why == Opened.UNROUTED:  # for everyone, and now why
                reason = Opened.WAITED if until <= now else Opened.NOBODY
                return RecordChange(
                    put={"route_team": team, "route_open": reason.value},
                    put_new={"route_open_at": str(now)},
                    also=lambda pipe: pipe.zrem(keys.ROUTED, hid),
                )
            return RecordChange(put={"route_team": team})

        # another instance's sweeper may open it meanwhile: the store reads and decides again
        return route if await self._store.change_record(hid, fields, decide) else None

    async def _open(self, hid: str, reason: Opened, at: int) -> bool:
        await self._redis.zrem(keys.ROUTED, hid)
        if not await self._store.set_new_field(hid, "route_open_at", str(at)):
            return False
        await self._store.set_fields(hid, {"route_open": reason.value})
        return True

    async def views(self, hids: list[str], viewer: Account) -> dict[str, dict[str, Any]]:
        """For each waiting chat: for whom it is as ``viewer`` sees it, and why."""
        if not hids:
            return {}
        rows = await self._store.records_fields(
            hids,
            [
                "route_team",
                "route_profile",
                "route_until",
                "route_open",
                "route_open_at",
                "urgent",
                "queued_at",
            ],
        )
        content, teams, now = routing_content(), team_labels(), now_ms()
        found: dict[str, dict[str, Any]] = {}
        for hid, row in zip(hids, rows, strict=True):
            team, profile, until, why, open_at, urgent, queued_at = row
            route = Route(team or None, profile or None)
            if urgent == "1":  # urgent from the start, or a safety signal while waiting
                why, open_at = Opened.URGENT.value, open_at or queued_at
            if not why and until and int(until) <= now:
                why, open_at = Opened.WAITED.value, until
            if not why and not route.targeted:  # from before routing existed
                why, open_at = Opened.UNROUTED.value, queued_at
            if matches(viewer, route):
                audience = Audience.YOU
            elif why:
                audience = Audience.EVERYONE
            else:
                audience = Audience.OTHERS
            found[hid] = {
                "for": audience.value,
                "label": label(route, content, teams),
                "team": route.team,
                "profile": route.profile,
                "opened": why or None,
                "open_at": int(open_at) if why and open_at else None,
                "until": int(until) if until else None,
            }
        return found

    async def estimate(
        self, hid: str, position: int, average_ms: float | None, online: int
    ) -> int | None:
        """The honest wait at ``position`` for this chat (see ``honest_estimate``); None when
        there is no history yet, or the plain estimate's figure for a chat for everyone."""
        if not average_ms:
            return None
        team, profile, until, why = await self._store.record_fields(
            hid, ["route_team", "route_profile", "route_until", "route_open"]
        )
        now = now_ms()
        if why or not until or int(until) <= now:
            return max(1, math.ceil(math.ceil(position / max(online, 1)) * average_ms / 60000))
        route = Route(team or None, profile or None)
        matching = sum(1 for a in await self.online_accounts() if matches(a, route))
        return honest_estimate(position, average_ms, online, matching, int(until) - now)
