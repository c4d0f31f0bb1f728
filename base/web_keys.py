"""Typed keys for what the application holds that more than one floor reads: bot/ fills them
in, handoff/ and insight/ read them without importing the application."""

from __future__ import annotations

from aiohttp import web
from redis.asyncio import Redis

REDIS = web.AppKey("redis", Redis)  # the application's client (the figures are read with it)
