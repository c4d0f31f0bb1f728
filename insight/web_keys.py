"""Typed keys for what the application holds for the insight pages."""

from __future__ import annotations

from aiohttp import web
from redis.asyncio import Redis

from handoff.registrar import Registrar
from insight.unclear import UnclearQuestions

UNCLEAR = web.AppKey("unclear_questions", UnclearQuestions)
REGISTRAR = web.AppKey("registrar", Registrar)  # counts what the figures show
FIGURES = web.AppKey("figures_redis", Redis)  # where the figures are read
