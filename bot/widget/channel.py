"""The widget's Socket.IO server: Rasa's socketio events on top of the conversation core.

Everything the user should see (bot replies, staff messages, queue news) goes through the
conversation's outbox in Redis, and from there to every socket of the session.

Two kinds of client. By default a socket gets exactly what Rasa 3.6's own socketio channel
sends (``bot/widget/render.py``), so existing Rasa web clients such as rasa-webchat work
unchanged; each message is sent once and dropped (at most once, as with Rasa). A client opts in
to the extensions by sending ``last_id`` in ``session_request`` (our widget does): each message
then carries its outbox id and is dropped only when acknowledged, a socket that comes back says
the last id it has and gets exactly what it missed, and it gets the ``cjg_*`` events (queue
status, typing, "Gesprek wissen" in another tab).

What lives in this process is only about open sockets (which session a socket belongs to and
what it was sent); the conversation itself is in Redis, so any instance can serve a session.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import time
import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import socketio
from aiohttp import WSCloseCode, web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from base.client_redis import socketio_manager
from bot.client_address import client_address
from bot.config import Settings
from bot.conversation import MESSAGE_ID, ConversationCore, Incoming
from bot.credentials import IssuedIds
from bot.origins import allowed_origin
from bot.text_input import InputRejected, NotConfirmed, StorageUnavailable, Unavailable
from bot.widget.render import bot_uttered, handoff_event, rasa_uttered, stream_id
from common.content import ServiceMessages
from common.names import Channel
from delivery.durability import NotReplicated
from delivery.marker import READ_BATCH, START, HeldMarker, Reader
from delivery.reply import Reply, service_reply
from delivery.watcher import OutboxWatcher
from delivery.write import Delivery, Keep, NotWritten
from handoff.keys import client_message

log = logging.getLogger(__name__)

CHANNEL = Channel.WIDGET
SOCKET_PATH = "socket.io"
SOCKET_URL = f"/{SOCKET_PATH}/"
# Session ids are 128 random bits, and only the server hands them out (bot/credentials.py): an id
# it did not issue, or that expired or was erased, is replaced by a new one, so nobody can walk
# into someone else's session with a guessed or chosen id.
SESSION_ID = re.compile(r"[0-9a-f]{32}")
# A message's own id, made by the widget (``cjg_mid``): the same message sent again after a lost
# acknowledgement is handled once. "pending" is a lease that the instance answering renews while
# it works (a turn can take Rasa's timeout twice): a retry waits while the message is answered,
# and is handled within seconds when that instance died (docs/DURABILITY.md). Its form:
# ``MESSAGE_ID`` (bot/core/utterance.py).
PENDING_SECONDS = 10
PENDING_RENEW_SECONDS = 3
KEPT_SECONDS = 3600
CLOSE_SECONDS = 3  # a socket that does not take its close in time is cut off by the server
USER_TYPING_EVERY = 1.5  # seconds; a faster client only costs staff consoles work


@dataclass
class _Socket:
    session_id: str
    cid: str
    marker: HeldMarker  # the last outbox id sent to this socket (delivery/marker.py)
    # Opted in to the extensions (ids, acknowledgements, cjg_* events): our widget. Others get
    # Rasa's own shapes, each message once.
    extended: bool
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)  # one user message at a time
    sending: asyncio.Lock = field(default_factory=asyncio.Lock)
    typed_at: float = 0.0
    address: str | None = None  # only to count messages (rate limits)


@dataclass
class _Answer:
    """What became of one user message: its replies, and why it was not handled if it was not."""

    replies: list[dict[str, Any]]
    refusal: InputRejected | None = None
    written: bool = False  # by the core: in the outbox with the "kept" mark, and confirmed
    failed: NotWritten | None = None  # the core could not write them: say them directly


class WidgetChannel:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            # Emits to a room reach sockets on every instance ("Gesprek wissen" in two tabs).
            client_manager=socketio_manager(settings.redis_target, "cjg:socketio"),
            # The service's own pages and CJG_WIDGET_ORIGINS (engineio calls it with the
            # handshake's Origin and environ); a list would allow only the listed ones.
            cors_allowed_origins=self._origin_allowed,
            max_http_buffer_size=settings.max_body_bytes,
            logger=False,
            engineio_logger=False,
        )
        self._core: ConversationCore | None = None
        self._texts: ServiceMessages | None = None
        self._issued: IssuedIds | None = None
        self._delivery: Delivery | None = None
        self._redis: Redis | None = None
        self._sockets: dict[str, _Socket] = {}
        self._by_cid: dict[str, set[str]] = {}
        self._transports: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        for event, handler in (
            ("disconnect", self._disconnect),
            ("session_request", self._session_request),
            ("user_uttered", self._user_uttered),
            ("cjg_user_typing", self._user_typing),
            ("cjg_forget", self._forget),
        ):
            self.sio.on(event, handler)

    def _origin_allowed(self, origin: str | None, environ: dict[str, Any]) -> bool:
        """Also asked for the CORS headers of a request without ``Origin`` (then: none)."""
        if not origin:
            return False
        request = environ.get("aiohttp.request")
        host = request.host if isinstance(request, web.BaseRequest) else None
        return allowed_origin(self._settings, origin, host)

    def attach(self, app: web.Application) -> None:
        self.sio.attach(app, socketio_path=SOCKET_PATH)
        app.on_response_prepare.append(self._track)

    def start(
        self,
        core: ConversationCore,
        texts: ServiceMessages,
        watcher: OutboxWatcher,
        sessions: IssuedIds,
        delivery: Delivery,
        redis: Redis,
    ) -> None:
        """``delivery``: the outbox where the replies wait, and their write path;
        ``redis``: the widget's message ids."""
        self._core, self._texts, self._issued = core, texts, sessions
        self._delivery, self._redis = delivery, redis
        watcher.add_listener(self._news)
        watcher.add_signal_listener(self._signal)

    async def close_sockets(self) -> None:
        """At shutdown, before the server waits for open requests (each socket is one): the
        widgets see the connection drop and reconnect, to another instance or after the restart.
        """
        closing = [
            ws.close(code=WSCloseCode.GOING_AWAY, message=b"server restart")
            for ws in list(self._transports)
        ]
        if closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*closing), CLOSE_SECONDS)

    async def stop(self) -> None:
        await self.sio.shutdown()

    async def _track(self, request: web.BaseRequest, response: web.StreamResponse) -> None:
        """on_response_prepare: Socket.IO keeps its websockets to itself, so note them here."""
        if isinstance(response, web.WebSocketResponse) and request.path.startswith(SOCKET_URL):
            self._transports.add(response)

    @property
    def core(self) -> ConversationCore:
        if self._core is None:
            raise RuntimeError("WidgetChannel.start() was not called")
        return self._core

    @property
    def delivery(self) -> Delivery:
        if self._delivery is None:
            raise RuntimeError("WidgetChannel.start() was not called")
        return self._delivery

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            raise RuntimeError("WidgetChannel.start() was not called")
        return self._redis

    @property
    def issued(self) -> IssuedIds:
        if self._issued is None:
            raise RuntimeError("WidgetChannel.start() was not called")
        return self._issued

    async def _was_issued(self, session_id: object) -> bool:
        """The server handed out this id and its conversation has not expired or been erased."""
        if not isinstance(session_id, str) or not SESSION_ID.fullmatch(session_id):
            return False
        return await self.issued.check(session_id, self.core.conversation_id(CHANNEL, session_id))

    # --- sockets and sessions --------------------------------------------------------------

    def _bind(self, sid: str, socket: _Socket) -> None:
        self._unbind(sid)
        self._sockets[sid] = socket
        self._by_cid.setdefault(socket.cid, set()).add(sid)

    def _unbind(self, sid: str) -> _Socket | None:
        socket = self._sockets.pop(sid, None)
        if socket is not None:
            sids = self._by_cid.get(socket.cid)
            if sids is not None:
                sids.discard(sid)
                if not sids:
                    del self._by_cid[socket.cid]
        return socket

    def _address(self, sid: str) -> str | None:
        request = (self.sio.get_environ(sid) or {}).get("aiohttp.request")
        if not isinstance(request, web.BaseRequest):
            return None
        return client_address(request, self._settings)

    async def _disconnect(self, sid: str, *_: Any) -> None:
        self._unbind(sid)

    async def _session_request(self, sid: str, data: Any = None, *_: Any) -> None:
        """Rasa's handshake. ``last_id`` (our extension) is the last message the client has;
        sending it opts in to the extensions."""
        data = data if isinstance(data, dict) else {}
        requested = data.get("session_id")
        extended = "last_id" in data
        try:
            if isinstance(requested, str) and await self._was_issued(requested):
                session_id = requested
            else:  # none, or one this server never issued (or erased): a new session
                session_id = self.issued.new()
                await self.issued.issue(session_id, self.core.conversation_id(CHANNEL, session_id))
        except RedisError as exc:  # no session without Redis; the widget asks again later
            log.error("widget session could not be checked (%s)", type(exc).__name__)
            await self._say_directly(sid, "assistant_unavailable", extended)
            return
        last = stream_id(data.get("last_id")) if requested == session_id else None
        old = self._sockets.get(sid)
        if old is not None and old.session_id != session_id:
            await self.sio.leave_room(sid, old.session_id)
        cid = self.core.conversation_id(CHANNEL, session_id)
        self._bind(
            sid,
            _Socket(
                session_id, cid, HeldMarker(last or START), extended, address=self._address(sid)
            ),
        )
        if extended:  # the room only carries cjg_forgotten
            await self.sio.enter_room(sid, session_id)
        await self.sio.emit("session_confirm", session_id, to=sid)
        try:
            await self._status(sid)
            await self._address_control(sid)
            await self._deliver(sid)
        except RedisError as exc:  # the widget asks again when it reconnects
            log.error("widget session could not be restored (%s)", type(exc).__name__)

    # --- from the user ---------------------------------------------------------------------

    async def _user_uttered(self, sid: str, data: Any = None, *_: Any) -> dict[str, Any]:
        """Answers one message; the return value is the Socket.IO acknowledgement (for clients
        that asked for one): ``{"ok": true}``, or ``{"ok": false, "error": code}`` when the
        message was not handled. A client that sends ``cjg_retry: true`` sends a message that
        got no answer (Rasa or Redis down) again by itself: it gets no bot message for it, but
        ``message``, ``retry_after`` and the ``notice`` to show while it retries (docs/API.md).
        """
        data = data if isinstance(data, dict) else {}
        socket = self._sockets.get(sid)
        requested = data.get("session_id")
        if socket is None:
            # A Rasa client that skipped session_request may join a session the server issued;
            # an id it did not issue is never adopted.
            with contextlib.suppress(RedisError):
                if await self._was_issued(requested):
                    await self._session_request(sid, {"session_id": requested})
                    socket = self._sockets.get(sid)
        if socket is None:  # nothing says whether it would take the extensions: Rasa's shape
            await self._say_directly(sid, "no_session", extended=False)
            return {"ok": False, "error": "no_session"}
        async with socket.turn:
            mid = data.get("cjg_mid")
            mid = mid if isinstance(mid, str) and MESSAGE_ID.fullmatch(mid) else None
            seen = await self._seen(socket.cid, mid)
            if seen == "kept":  # its replies are in the outbox: this socket has them or gets them
                with contextlib.suppress(RedisError):
                    await self._deliver(sid)
                return {"ok": True}
            if seen == "pending":  # still being answered (by another instance): ask again later
                return {"ok": False, "error": "in_progress", "retry_after": 2, "notice": ""}
            try:
                async with self._pending(socket.cid, mid):
                    answer = await self._answer(sid, socket, data.get("message"), mid)
                replies, refusal = answer.replies, answer.refusal
                if isinstance(refusal, NotConfirmed):  # written with its mark: a retry finds it
                    return await self._unconfirmed(sid, socket, refusal.shown)
                if isinstance(refusal, Unavailable):
                    await self._settle(socket.cid, mid, refusal)  # its id is free again
                    if data.get("cjg_retry") is True:  # the crisis card, now
                        await self._emit_directly(sid, refusal.shown, socket.extended)
                        return self._retrying(refusal)
                try:
                    if answer.failed is not None:  # the core could not write them
                        raise answer.failed
                    if not answer.written:
                        await self._write(socket.cid, mid, replies, refusal)
                except NotReplicated:  # written, not confirmed: a retry finds it kept
                    return await self._unconfirmed(sid, socket, replies)
                except RedisError as exc:  # answered (or refused) all the same: say it once
                    log.error("widget reply could not be stored (%s)", type(exc).__name__)
                    if mid is not None and not isinstance(refusal, Unavailable):
                        await self._settle(socket.cid, mid, refusal)
                    await self._emit_directly(sid, replies, socket.extended)
                else:
                    with contextlib.suppress(RedisError):  # kept: sent at the next news
                        await self._deliver(sid)
                with contextlib.suppress(RedisError):  # a choice, or youth mode, may be new
                    await self._address_control(sid)
            finally:  # after the replies: clients may take it as "the answer is complete"
                await self._typing(sid, "bot", False)
        return {"ok": True} if refusal is None else {"ok": False, "error": refusal.code}

    async def _seen(self, cid: str, mid: str | None) -> str | None:
        """None for a message seen for the first time (now marked "pending"), else what became
        of it. Without Redis, None: the message then cannot be kept either, and says so."""
        if mid is None:
            return None
        key = client_message(cid, mid)
        redis = self.redis
        try:
            if await redis.set(key, "pending", nx=True, ex=PENDING_SECONDS):
                return None
            seen = await redis.get(key)
        except RedisError:
            return None
        return seen if isinstance(seen, str) else None

    @contextlib.asynccontextmanager
    async def _pending(self, cid: str, mid: str | None) -> AsyncIterator[None]:
        """Renews the "pending" lease of a message while this instance answers it."""
        if mid is None:
            yield
            return
        key, redis = client_message(cid, mid), self.redis

        async def renew() -> None:
            while True:
                await asyncio.sleep(PENDING_RENEW_SECONDS)
                with contextlib.suppress(RedisError):  # GT: never shortens "kept"
                    await redis.expire(key, PENDING_SECONDS, gt=True)

        task = asyncio.create_task(renew())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _settle(self, cid: str, mid: str | None, refusal: InputRejected | None) -> None:
        """Kept (or refused with a reason shown): the same id again is acknowledged without
        being handled. Not kept (``Unavailable``): the retry is handled as new."""
        if mid is None:
            return
        key = client_message(cid, mid)
        redis = self.redis
        with contextlib.suppress(RedisError):  # then "pending" expires, and a retry is handled
            if isinstance(refusal, Unavailable):
                await redis.delete(key)
            else:
                await redis.set(key, "kept", ex=KEPT_SECONDS)

    @staticmethod
    def _keep(cid: str, mid: str | None) -> Keep:
        """The widget's replies wait in the outbox; with a message id, "kept" is set with them,
        or neither is: an instance that dies between the two loses no answer and answers none
        twice."""
        return Keep(
            outbox=True, mark=(client_message(cid, mid), "kept", KEPT_SECONDS) if mid else None
        )

    async def _write(
        self,
        cid: str,
        mid: str | None,
        replies: list[dict[str, Any]],
        refusal: InputRejected | None,
    ) -> None:
        """A refusal's replies (the core wrote the others). One with a reason is handled, so it
        is acknowledged like a reply (delivery/write.py); one that kept nothing
        (``Unavailable``) is only said."""
        if isinstance(refusal, Unavailable):
            await self.delivery.outbox.push_all(cid, replies)
        else:
            await self.delivery.acknowledge(cid, cast(list[Reply], replies), self._keep(cid, mid))

    async def _unconfirmed(
        self, sid: str, socket: _Socket, replies: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """The replies and their "kept" mark are written but not on the replicas the settings
        ask for (delivery/durability.py): the client sends the message again (it finds "kept",
        or a new master without it answers it afresh), and a crisis card is shown now all the
        same."""
        log.error("widget reply not confirmed by the replicas")
        cards = [m for m in replies if "crisis" in (m.get("custom") or {})]
        if cards:
            await self._emit_directly(sid, cards, socket.extended)
        return self._retrying(StorageUnavailable())

    async def _answer(self, sid: str, socket: _Socket, message: object, mid: str | None) -> _Answer:
        """The replies to one message (written to the outbox by the core, and confirmed), and
        why it was not handled, if it was not (the replies then say so in Dutch)."""
        if not isinstance(message, str):
            rejected = InputRejected("invalid_request")  # binary data, numbers, objects
        elif len(message) > self._settings.max_message_chars * 2:
            rejected = InputRejected("message_too_long")  # don't even clean a huge text
        else:
            await self._typing(sid, "bot", True)
            try:
                said = Incoming(CHANNEL, socket.session_id, message, socket.address, mid)
                replies = await self.core.handle(said, self._keep(socket.cid, mid))
            except NotWritten as exc:  # answered, but the outbox (which voices them) took nothing
                shown = exc.replies
                with contextlib.suppress(RedisError):  # "je" or "u", if Redis still says which
                    shown = await self.core.address.render(socket.cid, shown)
                return _Answer([dict(r) for r in shown], failed=exc)
            except InputRejected as refusal:
                rejected = refusal
            except RedisError as exc:  # not kept, whatever failed: the same as a refused write
                log.error("widget message could not be handled (%s)", type(exc).__name__)
                rejected = StorageUnavailable()
            else:
                return _Answer([dict(r) for r in replies], written=True)
        shown = rejected.shown if isinstance(rejected, Unavailable) else []
        return _Answer([*(dict(m) for m in shown), self._service(rejected.code)], rejected)

    def _retrying(self, refusal: Unavailable) -> dict[str, Any]:
        """The acknowledgement for a client that sends the message again by itself."""
        assert self._texts is not None
        return {
            "ok": False,
            "error": refusal.code,
            "message": self._texts.get(refusal.code),  # to show if it gives up
            "retry_after": refusal.retry_after(self._settings),
            "notice": self._texts.get("retrying"),  # to show while it tries again
        }

    async def _user_typing(self, sid: str, *_: Any) -> None:
        socket = self._sockets.get(sid)
        if socket is None or time.monotonic() - socket.typed_at < USER_TYPING_EVERY:
            return
        socket.typed_at = time.monotonic()
        with contextlib.suppress(RedisError):  # typing is a nicety, never worth an error
            await self.core.handoff.user_typing(socket.cid)

    async def _forget(self, sid: str, *_: Any) -> bool:
        """Gesprek wissen: erase the conversation now; every tab of the session starts afresh."""
        socket = self._sockets.get(sid)
        if socket is None:
            return False
        await self.core.forget(CHANNEL, socket.session_id)
        await self.issued.revoke(socket.session_id)  # the erased session cannot be resumed
        await self.sio.emit("cjg_forgotten", {}, room=socket.session_id, skip_sid=sid)
        for other in list(self._by_cid.get(socket.cid, ())):
            self._unbind(other)
        await self.sio.leave_room(sid, socket.session_id)
        log.info("widget conversation erased at the user's request")
        return True

    # --- to the user -----------------------------------------------------------------------

    async def _news(self, cid: str) -> None:
        """Outbox news from any instance: send it to this instance's sockets of the session."""
        for sid in list(self._by_cid.get(cid, ())):
            try:
                await self._deliver(sid)
            except RedisError as exc:  # the socket gets it at its next news or reconnect
                log.warning("widget delivery failed (%s)", type(exc).__name__)

    async def _deliver(self, sid: str) -> None:
        socket = self._sockets.get(sid)
        if socket is None:
            return
        reader = Reader(self.delivery.outbox, socket.cid, socket.marker)
        async with socket.sending:
            while self._sockets.get(sid) is socket:
                found = await reader.unread(READ_BATCH)
                handoff_news = False
                for entry_id, message in found:
                    if socket.extended:
                        acked = functools.partial(self._acked, reader, entry_id)
                        await self.sio.emit(
                            "bot_uttered",
                            bot_uttered(entry_id, message),
                            to=sid,
                            callback=acked,
                            ignore_queue=True,
                        )
                    else:  # Rasa's shapes, at most once, as Rasa's own channel
                        for payload in rasa_uttered(message):
                            await self.sio.emit("bot_uttered", payload, to=sid, ignore_queue=True)
                        await reader.acknowledged(entry_id)
                    await reader.delivered(entry_id)
                    handoff_news = handoff_news or handoff_event(message) is not None
                if handoff_news:
                    await self._status(sid)
                if len(found) < READ_BATCH:
                    break

    async def _acked(self, reader: Reader, entry_id: str, *_: Any) -> None:
        """The client has the message (whatever it answers): it need not be kept any longer."""
        with contextlib.suppress(RedisError):  # then it is dropped at the next acknowledgement
            await reader.acknowledged(entry_id)

    async def _status(self, sid: str) -> None:
        """Where the handoff stands (queue place, who is there): the widget's status bar."""
        socket = self._sockets.get(sid)
        if socket is not None and socket.extended:
            status = await self.core.handoff.status(socket.cid)
            await self.sio.emit("cjg_status", status, to=sid, ignore_queue=True)

    async def _address_control(self, sid: str) -> None:
        """ "je" or "u": the state and texts of the widget's control (bot/address.py)."""
        socket = self._sockets.get(sid)
        if socket is not None and socket.extended:
            control = await self.core.address.control(socket.cid)
            await self.sio.emit("cjg_address", control, to=sid, ignore_queue=True)

    async def _signal(self, cid: str, signal: dict[str, Any]) -> None:
        if signal.get("typing") != "staff":
            return
        for sid in list(self._by_cid.get(cid, ())):
            await self._typing(sid, "staff", True, signal.get("staff"))

    async def _typing(self, sid: str, who: str, typing: bool, name: object = None) -> None:
        socket = self._sockets.get(sid)
        if socket is None or not socket.extended:
            return
        event: dict[str, Any] = {"who": who, "typing": typing}
        if isinstance(name, str):
            event["name"] = name
        await self.sio.emit("cjg_typing", event, to=sid, ignore_queue=True)

    def _service(self, code: str) -> dict[str, Any]:
        assert self._texts is not None
        return dict(service_reply(self._texts.get(code), code))

    async def _say_directly(self, sid: str, code: str, extended: bool) -> None:
        """For when there is no outbox to put it in (no session, Redis away)."""
        await self._emit_directly(sid, [self._service(code)], extended)

    async def _emit_directly(
        self, sid: str, messages: Sequence[Mapping[str, Any]], extended: bool
    ) -> None:
        """Messages that cannot go through the outbox (Redis away): to this socket only, once,
        without an id (there is none to acknowledge), in the shape the client asked for."""
        for message in messages:
            plain = dict(message)
            if extended:
                payload = bot_uttered("", plain)
                sent = [{k: v for k, v in payload.items() if k not in ("id", "at")}]
            else:
                sent = rasa_uttered(plain)
            for one in sent:
                await self.sio.emit("bot_uttered", one, to=sid, ignore_queue=True)
