"""HTTP client for the Rasa server (token-protected REST channel and status endpoint)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp


class RasaUnavailable(Exception):
    """Rasa did not answer in time or answered with an error."""


class RasaClient:
    WEBHOOK = "/webhooks/cjg/webhook"
    ACTIONS_CHECK_SECONDS = 2.0

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        token: str,
        timeout: float,
        action_server_url: str = "",
    ) -> None:
        """``action_server_url``: Rasa's action server, asked only when Rasa had nothing to say
        (with its action server down, Rasa answers 200 with an empty list)."""
        self._session = session
        self._base_url = base_url
        self._actions_url = action_server_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        """One call to Rasa; any failure (down, slow, HTTP error, bad JSON) is RasaUnavailable."""
        try:
            async with self._session.request(
                method, self._base_url + path, timeout=self._timeout, **kwargs
            ) as response:
                if response.status != 200:
                    raise RasaUnavailable(f"Rasa answered HTTP {response.status}")
                return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, asyncio.TimeoutError, ValueError) as exc:
            raise RasaUnavailable(type(exc).__name__) from exc

    async def send(self, conversation_id: str, text: str) -> list[Any]:
        """Sends one user message; returns Rasa's raw reply list."""
        body = await self._json(
            "POST",
            self.WEBHOOK,
            json={"sender": conversation_id, "message": text},
            headers=self._headers,
        )
        if not isinstance(body, list):
            raise RasaUnavailable("Rasa's reply is not a list")
        return body

    async def actions_down(self) -> bool:
        """True when the action server does not answer its health check: then Rasa's silence
        means that nothing could be answered, not that there was nothing to say."""
        if not self._actions_url:
            return False
        try:
            async with self._session.get(
                self._actions_url + "/health",
                timeout=aiohttp.ClientTimeout(total=self.ACTIONS_CHECK_SECONDS),
            ) as response:
                return response.status != 200
        except (aiohttp.ClientError, TimeoutError, asyncio.TimeoutError):
            return True

    async def history(self, conversation_id: str, limit: int = 30) -> list[tuple[str, str]]:
        """The last user and bot texts from Rasa's tracker, for the staff member's transcript.

        Copied only when a handoff starts, so the service keeps no transcript of bot-only chats.
        """
        body = await self._json(
            "GET",
            f"/conversations/{conversation_id}/tracker",
            params={"include_events": "AFTER_RESTART", "token": self._token},
        )
        events = body.get("events") if isinstance(body, dict) else None
        lines: list[tuple[str, str]] = []
        for event in events if isinstance(events, list) else []:
            text = event.get("text") if isinstance(event, dict) else None
            if event.get("event") in ("user", "bot") and isinstance(text, str) and text.strip():
                lines.append((event["event"], text))
        return lines[-limit:]

    async def status(self, timeout: float) -> dict[str, Any]:
        """Rasa's /status (needs the token): proves the server is up with a model loaded."""
        async with self._session.get(
            self._base_url + "/status",
            params={"token": self._token},
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            if response.status != 200:
                raise RasaUnavailable(f"HTTP {response.status}")
            body = await response.json(content_type=None)
        if not isinstance(body, dict) or not body.get("model_file"):
            raise RasaUnavailable("no model loaded")
        return body
