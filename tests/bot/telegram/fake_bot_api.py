"""A local stand-in for the Telegram Bot API (which cannot be reached from here).

python-telegram-bot talks to it through ``base_url``. It answers the methods the channel uses,
records what the bot sent, and hands out the updates a test queues.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

from aiohttp import web

GROUP_CHAT = -100_424_242  # a group the bot was added to (group chat ids are negative)
BOT = {"id": 4242, "is_bot": True, "first_name": "CJG", "username": "cjg_test_bot",
       "can_join_groups": False, "can_read_all_group_messages": False,
       "supports_inline_queries": False}  # fmt: skip


class FakeBotApi:
    def __init__(self) -> None:
        # a new parent per test, so tests do not share a conversation
        self.user_id = 900_000_000 + secrets.randbelow(99_999_999)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.changed = asyncio.Condition()
        self._floods: dict[str, tuple[int, int]] = {}  # method -> (times left, retry_after)
        self.rejected = 0
        self.other_chats: list[tuple[str, dict[str, Any]]] = []
        self.held: dict[str, asyncio.Event] = {}  # method -> answered once the event is set
        self.blocked: set[int] = set()  # chats whose user blocked the bot
        self.refused: list[dict[str, Any]] = []  # what was sent to them (answered 403)
        self._next_update = 1
        self._next_message = 1
        self.app = web.Application()
        self.app.router.add_post("/bot{token}/{method}", self._handle)

    # what a test does

    def flood(self, method: str, times: int, retry_after: int) -> None:
        """The next ``times`` calls of ``method`` get Telegram's 429 "retry after"."""
        self._floods[method] = (times, retry_after)

    def hold(self, method: str) -> asyncio.Event:
        """Calls of ``method`` are recorded at once but answered only when the event is set."""
        self.held[method] = asyncio.Event()
        return self.held[method]

    def block(self, chat_id: int) -> None:
        """The user of ``chat_id`` blocked the bot: sends there get 403 Forbidden."""
        self.blocked.add(chat_id)

    def message(self, text: str, user_id: int | None = None) -> None:
        self._queue({"message": self._text_message(text, user_id)})

    def group_message(self, text: str, chat_type: str = "group") -> None:
        """The parent writes to the bot in a group (or supergroup) the bot is a member of."""
        message = self._text_message(text, None)
        message["chat"] = {"id": GROUP_CHAT, "type": chat_type, "title": "Ouders groep 5"}
        self._queue({"message": message})

    def to_group(self) -> list[dict[str, Any]]:
        """What the bot sent to the group."""
        return [
            params
            for method, params in self.other_chats
            if method == "sendMessage" and int(params["chat_id"]) == GROUP_CHAT
        ]

    def _text_message(self, text: str, user_id: int | None) -> dict[str, Any]:
        entities = (
            [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
            if text.startswith("/")
            else []
        )
        return {**self._base_message(user_id), "text": text, "entities": entities}

    def sticker(self, user_id: int | None = None) -> None:
        sticker = {"file_id": "x", "file_unique_id": "y", "type": "regular", "width": 1,
                   "height": 1, "is_animated": False, "is_video": False}  # fmt: skip
        self._queue({"message": {**self._base_message(user_id), "sticker": sticker}})

    def press(self, data: str, user_id: int | None = None) -> None:
        self._queue({"callback_query": self._callback(data, user_id)})

    def _callback(self, data: str, user_id: int | None) -> dict[str, Any]:
        return {
            "id": f"cq{self._next_update}",
            "from": self._user(user_id or self.user_id),
            "chat_instance": "1",
            "data": data,
            "message": {**self._base_message(user_id), "text": "knoppen"},
        }

    def update_json(self, text: str, user_id: int | None = None) -> dict[str, Any]:
        """A message update as Telegram would POST it to a webhook."""
        update = {"update_id": self._next_update, "message": self._text_message(text, user_id)}
        self._next_update += 1
        return update

    def press_json(self, data: str, user_id: int | None = None) -> dict[str, Any]:
        """A button press as Telegram would POST it to a webhook."""
        update = {"update_id": self._next_update, "callback_query": self._callback(data, user_id)}
        self._next_update += 1
        return update

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    async def wait_for(self, method: str, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        async def enough() -> None:
            async with self.changed:
                await self.changed.wait_for(lambda: len(self.sent(method)) >= count)

        await asyncio.wait_for(enough(), timeout)
        return self.sent(method)

    async def wait_for_text(self, start: str, timeout: float = 30) -> dict[str, Any]:
        """The first sent message whose text starts with ``start``."""

        def found() -> dict[str, Any] | None:
            return next((m for m in self.sent() if str(m.get("text", "")).startswith(start)), None)

        async def appears() -> None:
            async with self.changed:
                await self.changed.wait_for(lambda: found() is not None)

        await asyncio.wait_for(appears(), timeout)
        message = found()
        assert message is not None
        return message

    # the API

    @staticmethod
    def _user(user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": "Ouder"}

    def _base_message(self, user_id: int | None) -> dict[str, Any]:
        user_id = user_id or self.user_id
        self._next_message += 1
        return {
            "message_id": self._next_message,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": self._user(user_id),
        }

    def _queue(self, update: dict[str, Any]) -> None:
        self.updates.put_nowait({"update_id": self._next_update, **update})
        self._next_update += 1

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            params: dict[str, Any] = await request.json()
        else:
            params = dict(await request.post())
        for key, value in list(params.items()):
            if isinstance(value, str) and value[:1] in "[{":
                params[key] = json.loads(value)
        if method == "sendMessage" and int(params["chat_id"]) in self.blocked:
            self.refused.append(params)
            return web.json_response(
                {"ok": False, "error_code": 403,
                 "description": "Forbidden: bot was blocked by the user"},
                status=403,
            )  # fmt: skip
        if int(params.get("chat_id", self.user_id)) != self.user_id:
            # The service's catch-up at start sends what earlier tests' chats left in their
            # outboxes (they share Redis): answered as Telegram would, but not this test's.
            self.other_chats.append((method, params))
            return web.json_response({"ok": True, "result": await self._result(method, params)})
        times, retry_after = self._floods.get(method, (0, 0))
        if times > 0:
            self._floods[method] = (times - 1, retry_after)
            self.rejected += 1
            return web.json_response(
                {"ok": False, "error_code": 429,
                 "description": f"Too Many Requests: retry after {retry_after}",
                 "parameters": {"retry_after": retry_after}},
                status=429,
            )  # fmt: skip
        async with self.changed:
            self.calls.append((method, params))
            self.changed.notify_all()
        if method in self.held:
            await self.held[method].wait()
        return web.json_response({"ok": True, "result": await self._result(method, params)})

    async def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT
        if method == "getUpdates":
            try:
                first = await asyncio.wait_for(self.updates.get(), 0.5)
            except TimeoutError:
                return []
            found = [first]
            while not self.updates.empty():
                found.append(self.updates.get_nowait())
            return found
        if method == "sendMessage":
            self._next_message += 1
            return {"message_id": self._next_message, "date": int(time.time()),
                    "chat": {"id": int(params["chat_id"]), "type": "private"},
                    "text": params.get("text", "")}  # fmt: skip
        return True
