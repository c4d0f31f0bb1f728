"""A standard python-socketio client speaking Rasa's socketio events, for the widget tests."""

from __future__ import annotations

import asyncio
from typing import Any

import socketio

EVENTS = ("session_confirm", "bot_uttered", "cjg_status", "cjg_typing", "cjg_forgotten")


class RasaSocketClient:
    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.queues: dict[str, asyncio.Queue[Any]] = {e: asyncio.Queue() for e in EVENTS}
        self.session_id: str | None = None
        for event in EVENTS:
            self.sio.on(event, self._handler(event))

    def _handler(self, event: str) -> Any:
        async def handler(data: Any = None) -> bool:
            await self.queues[event].put(data)
            return True  # the acknowledgement the server waits for

        return handler

    async def connect(self, session_id: str | None = None, last_id: str | None = "0") -> str:
        await self.sio.connect(self.url, socketio_path="socket.io", transports=["websocket"])
        request: dict[str, Any] = {"session_id": session_id}
        if last_id is not None:
            request["last_id"] = last_id
        await self.sio.emit("session_request", request)
        self.session_id = await self.next("session_confirm")
        return self.session_id

    async def say(self, message: object) -> None:
        await self.sio.emit("user_uttered", {"message": message, "session_id": self.session_id})

    async def next(self, event: str, timeout: float = 20) -> Any:
        return await asyncio.wait_for(self.queues[event].get(), timeout)

    async def replies(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        return [await self.next("bot_uttered", timeout) for _ in range(count)]

    async def quiet(self, event: str = "bot_uttered", seconds: float = 0.5) -> bool:
        """True when nothing more arrives: no duplicates."""
        await asyncio.sleep(seconds)
        return self.queues[event].empty()

    def drain(self, event: str) -> list[Any]:
        items = []
        while not self.queues[event].empty():
            items.append(self.queues[event].get_nowait())
        return items

    async def close(self) -> None:
        await self.sio.disconnect()
