"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from base.web_keys import REDIS as REDIS  # one key for the client, read by insight/ too
from bot.client_rasa import RasaClient
from bot.config import Settings
from bot.conversation import ConversationCore
from bot.credentials import IssuedIds
from bot.rasa_tracker import RasaTrackers
from bot.telegram import TelegramChannel
from bot.widget import WidgetChannel
from common.content import ServiceMessages
from delivery.write import Delivery

SETTINGS = web.AppKey("settings", Settings)
TEXTS = web.AppKey("texts", ServiceMessages)
HTTP = web.AppKey("http", aiohttp.ClientSession)
RASA = web.AppKey("rasa", RasaClient)
TRACKERS = web.AppKey("trackers", RasaTrackers)  # Rasa's tracker store: erase, redact
CORE = web.AppKey("core", ConversationCore)
TELEGRAM = web.AppKey("telegram", TelegramChannel)  # only when Telegram is on
WIDGET = web.AppKey("widget", WidgetChannel)
DELIVERY = web.AppKey("delivery", Delivery)  # the outbox and its write path (delivery/write.py)
API_TOKENS = web.AppKey("api_tokens", IssuedIds)  # conversation tokens of /api/chat
