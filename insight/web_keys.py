"""Typed keys for what the application holds for the insight pages."""

from __future__ import annotations

from aiohttp import web

from base.registrar import Registrar
from insight.unclear import UnclearQuestions

UNCLEAR = web.AppKey("unclear_questions", UnclearQuestions)
REGISTRAR = web.AppKey("registrar", Registrar)  # counts what the figures show
