"""GET /staff/api/ws: the console's live line.

Server to console: the events on the Redis channel (queue, message, typing, claimed, released,
transferred, closed, presence, message_left, safety), as JSON, plus the feed's own news:

- ``{"type": "feed", "status": "lost", "message": ...}``: the line to Redis broke; the server
  keeps resubscribing with backoff and the console says live news is away;
- ``{"type": "resync", "message": ...}``: the feed is back after a gap (a Redis restart, a killed
  connection); events of the gap may be lost, so the console reloads what it shows.

A ``message`` event carries the text (``entry``) only to the console that has that conversation
open (``watch``) or whose chat it is, and may read it (``handoff.access``); every other console
gets its id only. The
first text a console receives of a conversation is written to the audit log (``received``).

Console to server: ``{"type": "ping"}`` (the heartbeat that keeps the staff member present),
``{"type": "watch", "hid": ... | null}`` (the conversation open in the panel) and
``{"type": "typing", "hid": ...}``.

The login is checked again on every message from the console, every few seconds while idle and
before any chat text goes out. When it is gone (logout, expiry, account removed) the socket is
closed with code 4001 and the Dutch reason from content/staff_console.yml, and the staff member
is no longer present.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import RedisError

from base.web import api_text, json_exception
from common.names import CONSOLE_ROLES
from handoff import keys
from handoff.access import may_read_chat
from handoff.service import HandoffService
from handoff.staff_content import console_texts
from handoff.web_keys import AUDIT, HANDOFF, SOCKETS, STAFF_WEB
from staff.accounts import Account, account_from_hash
from staff.auth import authenticate, same_origin
from staff.sessions import COOKIE, SESSION_ENDED
from staff.web_keys import SESSIONS

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

LOGGED_OUT = 4001  # close code: the login behind this socket has ended
SESSION_CHECK_SECONDS = 5.0  # the longest a console keeps its line after its login ended
# Chat text goes out only on a login looked up at most this long ago: a logged-out console gets
# no text a second later, and a busy console does not ask Redis for every message.
TEXT_CHECK_SECONDS = 1.0
BACKOFF_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)  # between attempts to resubscribe
MAX_HID = 64


class ConsoleLine:
    """One console's socket: its login, the conversation it watches and its Redis feed."""

    def __init__(
        self, request: web.Request, ws: web.WebSocketResponse, account: Account, token: str
    ) -> None:
        self.app = request.app
        self.ws = ws
        self.account = account
        self._token = token
        self.service: HandoffService = request.app[HANDOFF]
        self.watching: str | None = None
        self._received: set[str] = set()  # conversations whose text this socket got (audited)
        self._checked_at = time.monotonic()
        self.logged_out = False
        self.subscribed = asyncio.Event()  # the first subscription is in place
        self._gap = False  # set when redis-py reconnected the subscription by itself

    # --- the login ---------------------------------------------------------------------------

    async def _current_account(self) -> Account | None:
        found = await self.app[SESSIONS].with_account(self._token)
        account = None if found is None else account_from_hash(found[0].username, found[1])
        if account is None or account.role not in CONSOLE_ROLES:
            return None
        return account

    async def logged_in(
        self, *, force: bool = False, max_age: float = SESSION_CHECK_SECONDS
    ) -> bool:
        """False (and the socket closed) once the login is gone; looked up when the last look
        is older than ``max_age`` seconds, or always with ``force``."""
        if self.logged_out:
            return False
        if not force and time.monotonic() - self._checked_at < max_age:
            return True
        account = await self._current_account()
        self._checked_at = time.monotonic()
        if account is None:
            await self._end()
            return False
        self.account = account  # a changed role counts from now on
        return True

    async def _end(self) -> None:
        self.logged_out = True
        log.info("staff socket closed: the login of %s has ended", self.account.username)
        with contextlib.suppress(RedisError, OSError):
            await self.service.leave(self.account.username)
        reason = console_texts().get("logged_out").encode()
        await self.ws.close(code=LOGGED_OUT, message=reason)

    # --- the feed ----------------------------------------------------------------------------

    def _reconnected(self, connection: AbstractConnection) -> None:
        """A connect callback: redis-py reconnected the subscription by itself (and subscribed
        again), so events of the gap may be lost; the feed asks the console to resync."""
        self._gap = True

    async def _send(self, data: dict[str, Any]) -> None:
        if not self.ws.closed:
            await self.ws.send_str(json.dumps(data, ensure_ascii=False))

    async def _resync(self) -> None:
        await self._send({"type": "resync", "message": console_texts().get("feed_back")})

    async def feed(self) -> None:
        """Forwards the channel until the socket closes; survives Redis restarts and killed
        connections by subscribing again (with backoff) and telling the console to resync."""
        attempt, lost = 0, False
        while not self.ws.closed:
            pubsub = self.app[STAFF_WEB].redis.pubsub(ignore_subscribe_messages=True)
            connection: AbstractConnection | None = None
            try:
                await pubsub.subscribe(keys.EVENTS)
                connection = pubsub.connection
                if connection is not None:
                    connection.register_connect_callback(self._reconnected)
                self.subscribed.set()
                if lost:  # subscribed again: what happened meanwhile is fetched anew
                    await self._drop_stale_connections()
                    await self._resync()
                attempt, lost, self._gap = 0, False, False
                while not self.ws.closed:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if self._gap:
                        self._gap = False
                        await self._resync()
                    if not await self.logged_in():
                        return
                    if message is not None and message.get("type") == "message":
                        await self._deliver(str(message["data"]))
            except (RedisError, OSError) as exc:
                if self.ws.closed:  # the console went away while we were sending
                    return
                log.warning("staff feed: Redis line lost (%s); resubscribing", type(exc).__name__)
                if not lost and not self.ws.closed:
                    lost = True
                    with contextlib.suppress(ConnectionError, RuntimeError):
                        await self._send(
                            {
                                "type": "feed",
                                "status": "lost",
                                "message": console_texts().get("feed_lost"),
                            }
                        )
            finally:
                if connection is not None:
                    connection.deregister_connect_callback(self._reconnected)  # type: ignore[no-untyped-call]
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)])
            attempt += 1

    async def _drop_stale_connections(self) -> None:
        """After Redis was away, the pool's idle connections may lead to the old server and
        would fail the console's reload once each: close them, so the reload connects anew."""
        with contextlib.suppress(Exception):
            await self.app[STAFF_WEB].redis.connection_pool.disconnect(inuse_connections=False)

    async def _deliver(self, raw: str) -> None:
        """Sends an event on; a message's text only where it is open or owned, and may be read."""
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            return
        if not isinstance(data, dict):
            return
        if data.get("type") == SESSION_ENDED:  # a login ended: is it this console's?
            if data.get("staff") == self.account.username:
                self._checked_at = -math.inf  # look it up before anything else goes out
            return
        if data.get("type") != "message" or "entry" not in data:
            await self.ws.send_str(raw)
            return
        hid = data.get("hid")
        if isinstance(hid, str) and await self._reads_live(hid, data):
            if hid not in self._received:
                self._received.add(hid)
                await self.app[AUDIT].record(self.account.username, "received", hid)
            await self.ws.send_str(raw)
        elif not self.ws.closed:
            await self._send({"type": "message", "hid": hid})

    async def _reads_live(self, hid: str, event: dict[str, Any]) -> bool:
        """The text goes to the console that has the conversation open, and to the one whose
        chat it is (a staff member may run several chats and sees news in each), if allowed."""
        state, staff = event.get("state"), event.get("staff")
        if not isinstance(state, str) or not (staff is None or isinstance(staff, str)):
            return False
        if hid != self.watching and staff != self.account.username:
            return False  # not for this console: no Redis call needed to say no
        return may_read_chat(self.account, state, staff) and await self.logged_in(
            max_age=TEXT_CHECK_SECONDS
        )

    # --- what the console says ---------------------------------------------------------------

    async def receive(self, data: dict[str, Any]) -> None:
        if not await self.logged_in(force=True):
            return
        await self.service.heartbeat(self.account.username)
        kind, hid = data.get("type"), data.get("hid")
        if kind == "watch" and (hid is None or (isinstance(hid, str) and len(hid) <= MAX_HID)):
            if hid != self.watching:
                self._received.clear()  # a new opening is audited again at its first text
            self.watching = hid
        elif kind == "typing" and isinstance(hid, str) and len(hid) <= MAX_HID:
            await self.service.staff_typing(hid, self.account)  # the feed hears it too


@routes.get("/staff/api/ws")
async def staff_socket(request: web.Request) -> web.StreamResponse:
    found = await authenticate(request)
    if found is None or found[0].role not in CONSOLE_ROLES:
        raise json_exception(web.HTTPUnauthorized, "not_logged_in", api_text("not_logged_in"))
    if not same_origin(request):
        raise json_exception(web.HTTPForbidden, "bad_origin", api_text("socket_bad_origin"))
    account, _ = found
    service = request.app[HANDOFF]
    ws = web.WebSocketResponse(heartbeat=20, max_msg_size=16 * 1024)
    await ws.prepare(request)
    request.app[SOCKETS].add(ws)
    line = ConsoleLine(request, ws, account, request.cookies.get(COOKIE, ""))

    async def forward() -> None:
        try:
            await line.feed()
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            raise  # the socket is closing
        except Exception as exc:  # never leave a console that looks online but hears nothing
            log.error("staff feed failed (%s); closing the socket", type(exc).__name__)
            await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"feed failed")

    forwarder = asyncio.create_task(forward())
    try:
        # Subscribed before announcing: the console hears its own arrival and what follows.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(line.subscribed.wait(), timeout=5)
        await service.came_online(account.username)
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                data = json.loads(msg.data)
            except json.JSONDecodeError:
                continue
            if not isinstance(data, dict):
                continue
            try:
                await line.receive(data)
            except (RedisError, OSError) as exc:  # Redis away: the feed reports it and resyncs
                log.warning("staff socket: Redis unavailable (%s)", type(exc).__name__)
    finally:
        forwarder.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await forwarder
        # Leaving is not instant: a page reload reconnects well within the presence timeout.
        with contextlib.suppress(Exception):
            await service.went_away(account.username)
    return ws


async def close_sockets(app: web.Application) -> None:
    """on_shutdown: tell every console to reconnect (to another instance, or after restart)."""
    registry = app[SOCKETS]
    for ws in list(registry):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server restart")
