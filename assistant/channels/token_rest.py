"""Rasa's REST channel, but only for callers that present the API token.

Rasa's ``--auth-token`` guards its HTTP API, not its channel webhooks. This channel closes that
gap, so every Rasa endpoint needs the token even though Rasa listens on loopback only.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse


class TokenRestInput(RestInput):
    """POST /webhooks/cjg/webhook with ``Authorization: Bearer <token>``."""

    @classmethod
    def name(cls) -> str:
        return "cjg"

    def __init__(self, token: str) -> None:
        if not token or token.startswith("${"):
            raise ValueError("TokenRestInput needs a token: set RASA_TOKEN in the environment.")
        self.token = token

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TokenRestInput:
        return cls(token=str((credentials or {}).get("token") or ""))

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        supplied = header[len("Bearer ") :] if header.startswith("Bearer ") else ""
        return hmac.compare_digest(supplied.encode(), self.token.encode())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        bp = super().blueprint(on_new_message)

        async def require_token(request: Request) -> HTTPResponse | None:
            if not self._authorised(request):
                return response.json({"error": "unauthorized"}, status=401)
            return None

        bp.middleware(require_token, "request")
        return bp
