"""One conversation on the JSON chat API (``POST /api/chat``, ``GET /api/chat/updates``), as a
client should hold it: the first message's reply carries the conversation token in the
``X-CJG-Conversation`` header, and every later call sends it back. For tests and bench/.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from bot.web_chat import TOKEN_HEADER


class ApiError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:200]}")
        self.status = status


class ApiConversation:
    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.token: str | None = None
        self.after = "0"

    @property
    def headers(self) -> dict[str, str]:
        return {TOKEN_HEADER: self.token} if self.token else {}

    async def say(self, text: str) -> list[dict[str, Any]]:
        """The replies to one message; raises ApiError for any status but 200."""
        async with self.http.post(
            self.base_url + "/api/chat", json={"message": text}, headers=self.headers
        ) as response:
            if response.status != 200:
                raise ApiError(response.status, await response.text())
            self.token = self.token or response.headers.get(TOKEN_HEADER)
            replies: list[dict[str, Any]] = await response.json()
            return replies

    async def updates(self, wait: float = 0, after: str | None = None) -> dict[str, Any]:
        """One long-poll of the feed from ``after`` (default: where the last one ended)."""
        seconds = f"{wait:.3f}".rstrip("0").rstrip(".")  # "0.5", "10": the form the feed takes
        params = {"after": self.after if after is None else after, "wait": seconds}
        async with self.http.get(
            self.base_url + "/api/chat/updates", params=params, headers=self.headers
        ) as response:
            if response.status != 200:
                raise ApiError(response.status, await response.text())
            body: dict[str, Any] = await response.json()
        self.after = body["next"]
        return body
