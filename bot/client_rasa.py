"""HTTP client for the Rasa server or its replicas (token-protected REST channel and status)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import aiohttp

from bot.rasa_replicas import DOWN_SECONDS, ReplicaHealth, rendezvous_order, replica_identity


class RasaUnavailable(Exception):
    """Rasa did not answer in time or answered with an error."""


class RasaClient:
    """Rasa's HTTP API on one or more replicas (bot/rasa_replicas.py): each conversation talks
    to its pinned replica, and to the next one in its order while that one is down."""

    WEBHOOK = "/webhooks/cjg/webhook"
    ACTIONS_CHECK_SECONDS = 2.0
    CONNECT_SECONDS = 2.0  # a replica's machine that does not even accept the connection

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str | Sequence[str],
        token: str,
        timeout: float,
        action_server_url: str = "",
        down_seconds: float = DOWN_SECONDS,
    ) -> None:
        """``base_url``: one Rasa server or the list of replicas (the same token for all).
        ``timeout``: the whole budget of one call, failovers included.
        ``action_server_url``: Rasa's action server, asked only when Rasa had nothing to say
        (with its action server down, Rasa answers 200 with an empty list)."""
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise ValueError("RasaClient needs at least one Rasa URL")
        self._session = session
        self._urls = [url.rstrip("/") for url in urls]
        self._identities = [replica_identity(url) for url in self._urls]
        self.health = ReplicaHealth(
            [f"rasa-{n}" for n in range(1, len(urls) + 1)], down_seconds=down_seconds
        )
        self._actions_url = action_server_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._token = token
        self._timeout = timeout

    @property
    def replicas(self) -> tuple[str, ...]:
        """The replicas' public names (``rasa-1``, ...: the order of the setting), never URLs."""
        return self.health.names

    def order(self, conversation_id: str) -> list[int]:
        """The conversation's replicas: its pinned one first, then its fallbacks."""
        return rendezvous_order(conversation_id, self._identities)

    async def _json(self, method: str, path: str, conversation_id: str, **kwargs: Any) -> Any:
        """One call for a conversation: to its pinned replica, or, while that one refuses, drops
        the connection or answers 5xx, to the next in its order, all within the timeout.

        A replica that accepted the message and then stays silent until the budget is spent is
        marked down but not replaced for this message: it may still answer it, and a second
        replica would then answer (and store) the same message twice. The user gets the usual
        "try again" and the retry goes to the next replica. Any other failure (HTTP 4xx, bad
        JSON) is the same on every replica and is RasaUnavailable at once."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        failure = "no replica answered"
        for index in self.health.attempt_order(self.order(conversation_id)):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            timeout = aiohttp.ClientTimeout(
                total=remaining, sock_connect=min(self.CONNECT_SECONDS, remaining)
            )
            name = self.health.names[index]
            try:
                async with self._session.request(
                    method, self._urls[index] + path, timeout=timeout, **kwargs
                ) as response:
                    if response.status >= 500:
                        failure = f"HTTP {response.status}"
                        self.health.mark_down(index, failure)
                        continue
                    if response.status != 200:
                        raise RasaUnavailable(f"{name} answered HTTP {response.status}")
                    body = await response.json(content_type=None)
            except aiohttp.SocketTimeoutError as exc:  # connected, then silent
                raise self._silent(index, exc) from exc
            except aiohttp.ClientConnectionError as exc:  # refused, reset, gone, no connection
                failure = type(exc).__name__
                self.health.mark_down(index, failure)
                continue
            except TimeoutError as exc:  # connected, then silent until the budget was spent
                raise self._silent(index, exc) from exc
            except (aiohttp.ClientError, ValueError) as exc:
                raise RasaUnavailable(f"{name}: {type(exc).__name__}") from exc
            self.health.mark_up(index)
            return body
        raise RasaUnavailable(failure)

    def _silent(self, index: int, exc: Exception) -> RasaUnavailable:
        self.health.mark_down(index, type(exc).__name__)
        return RasaUnavailable(f"{self.health.names[index]}: {type(exc).__name__}")

    async def send(
        self, conversation_id: str, text: str, message_id: str | None = None
    ) -> list[Any]:
        """Sends one user message; returns Rasa's raw reply list. ``message_id``: the message's
        own id, when the client sends a message again with the same one: Rasa then keeps it
        once (assistant/channels/token_rest.py) and answers it as before."""
        message: dict[str, str] = {"sender": conversation_id, "message": text}
        if message_id is not None:
            message["message_id"] = message_id
        body = await self._json(
            "POST", self.WEBHOOK, conversation_id, json=message, headers=self._headers
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
            conversation_id,
            params={"include_events": "AFTER_RESTART", "token": self._token},
        )
        events = body.get("events") if isinstance(body, dict) else None
        lines: list[tuple[str, str]] = []
        for event in events if isinstance(events, list) else []:
            text = event.get("text") if isinstance(event, dict) else None
            if event.get("event") in ("user", "bot") and isinstance(text, str) and text.strip():
                lines.append((event["event"], text))
        return lines[-limit:]

    async def status(self, timeout: float, replica: int = 0) -> dict[str, Any]:
        """Replica ``replica``'s /status (needs the token): proves the server is up with a
        model loaded. Its answer, or its failure, updates the replica's health mark."""
        try:
            async with self._session.get(
                self._urls[replica] + "/status",
                params={"token": self._token},
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                if response.status != 200:
                    raise RasaUnavailable(f"HTTP {response.status}")
                body = await response.json(content_type=None)
            if not isinstance(body, dict) or not body.get("model_file"):
                raise RasaUnavailable("no model loaded")
        except (aiohttp.ClientError, TimeoutError, ValueError, RasaUnavailable) as exc:
            kind = str(exc) if isinstance(exc, RasaUnavailable) else type(exc).__name__
            self.health.mark_down(replica, kind)
            raise
        self.health.mark_up(replica)
        return body
