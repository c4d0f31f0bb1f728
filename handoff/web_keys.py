"""Typed keys for what the application holds for the handoff and the staff console."""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from redis.asyncio import Redis

from handoff.audit import AuditLog
from handoff.callbacks import Callbacks
from handoff.service import HandoffService
from handoff.transcript import OutboxWatcher

HANDOFF = web.AppKey("handoff", HandoffService)
AUDIT = web.AppKey("audit", AuditLog)
OUTBOX_WATCHER = web.AppKey("outbox_watcher", OutboxWatcher)
# Open staff websockets, closed on shutdown so a restart is quick (consoles reconnect).
SOCKETS = web.AppKey("staff_sockets", weakref.WeakSet[web.WebSocketResponse])
CALLBACKS = web.AppKey("callbacks", Callbacks)  # callback requests (handoff/callbacks.py)


@dataclass(frozen=True)
class StaffWeb:
    """What the staff API needs from the application around it (bot/web_app.py fills it in),
    so handoff/ does not import the application's settings or its conversation core."""

    secure_cookies: bool  # behind TLS: the session cookie is Secure
    client_address: Callable[[web.BaseRequest], str | None]  # what login locks count by
    address_for_staff: Callable[[str], Awaitable[dict[str, Any]]]  # "je" or "u" (bot/address.py)
    redis: Redis  # the staff feed subscribes with the application's client


STAFF_WEB = web.AppKey("staff_web", StaffWeb)
