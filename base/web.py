"""Web helpers every part of the service uses: one shape for JSON errors, one reader for JSON
bodies, and static files with their security headers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from common.content import ContentError, content_dir, load_current

WEB = Path(__file__).resolve().parents[1] / "web"  # the browser's files: widget, demo, staff
STAFF_FILES = WEB / "staff"  # the staff pages: the console and the insight pages
# A strict policy for our own pages (the staff console, the insight pages): only our own
# files, no inline script or style, no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; media-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class ApiMessages:
    """content/api_messages.yml: the Dutch ``message`` of the service's JSON errors."""

    version: int
    messages: dict[str, str]


API_MESSAGE_KEYS = frozenset(
    {
        "not_logged_in",
        "csrf",
        "console_forbidden",
        "figures_forbidden",
        "login_bad_origin",
        "socket_bad_origin",
        "login_incomplete",
        "login_locked",
        "busy",
        "login_failed",
        "conversation_gone",
        "conversation_taken",
        "message_length",
        "reply_id",
        "note_length",
        "answer_length",
        "choose_colleague",
        "choose_topic",
        "choose_outcome",
        "choose_referral",
        "choose_asker",
        "already_answered",
        "audit_admins_only",
        "choose_status",
        "callback_taken",
        "callback_gone",
        "callback_number_forbidden",
        "callback_number_expired",
        "callback_outcome",
        "callback_claim_first",
        "invalid_mark",
        "question_gone",
        "quarter_format",
        "period_dates",
        "period_order",
        "period_length",
        "period_by",
        "unknown_channel",
        "unknown_municipality",
        "offer_gone",
        "invalid_json",
        "json_object",
        "unknown_field",
        "field_text",
        "page_not_found",
        "method_not_allowed",
        "body_too_large",
        "internal_error",
    }
)


def _check_api_messages(loaded: ApiMessages, path: Path) -> None:
    missing = sorted(API_MESSAGE_KEYS - set(loaded.messages))
    if missing:
        raise ContentError(f"{path}: messages.{missing[0]} is missing")


def api_messages(directory: Path | None = None) -> ApiMessages:
    path = (directory or content_dir()) / "api_messages.yml"
    return load_current(ApiMessages, path, _check_api_messages)


def api_text(key: str, **values: object) -> str:
    """The Dutch text ``key`` of content/api_messages.yml, with ``values`` filled in."""
    return api_messages().messages[key].format(**values)


def error_body(error: str, message: str) -> dict[str, str]:
    """``error`` is a stable code for programs; ``message`` is Dutch text a user may read."""
    return {"error": error, "message": message}


def json_error(status: int, error: str, message: str) -> web.Response:
    """An error to return from a handler."""
    return web.json_response(error_body(error, message), status=status)


def json_exception(kind: type[web.HTTPError], error: str, message: str) -> web.HTTPError:
    """The same error to raise where a handler cannot return (deep in a helper, a websocket
    before it is prepared)."""
    return kind(text=json.dumps(error_body(error, message)), content_type="application/json")


async def read_json(request: web.Request, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The request's JSON object. With ``fields``: only those keys, each text (a string) or
    absent/null; anything else is a clear 400, never a 500 further on."""
    try:
        body = json.loads(await request.read())
    except (UnicodeDecodeError, ValueError, RecursionError):  # huge numbers, deep nesting too
        raise json_exception(web.HTTPBadRequest, "invalid_json", api_text("invalid_json")) from None
    if not isinstance(body, dict):
        raise json_exception(web.HTTPBadRequest, "invalid_json", api_text("json_object"))
    if fields is None:
        return body
    if any(key not in fields for key in body):
        allowed = ", ".join(fields)
        raise json_exception(
            web.HTTPBadRequest,
            "unknown_field",
            api_text("unknown_field", allowed=allowed),
        )
    for name in fields:
        if body.get(name) is not None and not isinstance(body[name], str):
            raise json_exception(
                web.HTTPBadRequest, "invalid_field", api_text("field_text", name=name)
            )
    return body


def file_response(path: Path, content_type: str, headers: dict[str, str]) -> web.FileResponse:
    """Streamed from disk off the event loop; ETags let a browser keep its copy (304)."""
    return web.FileResponse(
        path, headers={**headers, "Content-Type": f"{content_type}; charset=utf-8"}
    )


def static_response(name: str, content_type: str) -> web.FileResponse:
    """A file of the staff pages (web/staff/) with the pages' strict headers: the console and
    the insight pages serve theirs the same way."""
    return file_response(STAFF_FILES / name, content_type, SECURITY_HEADERS)
