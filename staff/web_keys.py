"""Typed keys for what the application holds for staff logins (bot/web_app.py fills them in;
the console's API and the insight pages read them)."""

from __future__ import annotations

from aiohttp import web

from staff.accounts import Accounts
from staff.login_guard import LoginGuard
from staff.sessions import Sessions

ACCOUNTS = web.AppKey("accounts", Accounts)
SESSIONS = web.AppKey("sessions", Sessions)
LOGIN_GUARD = web.AppKey("login_guard", LoginGuard)
