"""The privacy statement at /privacy, from content/privacy.yml (every text escaped)."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

from aiohttp import web

from bot.app_keys import SETTINGS
from bot.web_widget import DEMO_HEADERS
from common.content import content_dir, load_current


@dataclass(frozen=True)
class Section:
    heading: str
    text: str


@dataclass(frozen=True)
class PrivacyStatement:
    version: int
    title: str
    intro: str
    sections: list[Section]


def statement() -> PrivacyStatement:
    return load_current(PrivacyStatement, content_dir() / "privacy.yml")


routes = web.RouteTableDef()


@routes.get("/privacy")
async def privacy_page(request: web.Request) -> web.Response:
    found = statement()
    settings = request.app[SETTINGS]
    filled = {  # "uur" reads right for any number, so the hours need no plural
        "{retention_days}": str(settings.retention_seconds // (24 * 3600)),
        "{callback_number_hours}": str(math.ceil(settings.callback_number_seconds / 3600)),
    }

    def text(value: str) -> str:
        for placeholder, figure in filled.items():
            value = value.replace(placeholder, figure)
        return html.escape(value)

    parts = [
        '<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<title>{text(found.title)}</title><link rel="stylesheet" href="/demo/demo.css">',
        '</head><body><main id="inhoud" class="wrap">',
        f'<h1>{text(found.title)}</h1><p class="intro">{text(found.intro)}</p>',
    ]
    for section in found.sections:
        parts.append(f"<h2>{text(section.heading)}</h2><p>{text(section.text)}</p>")
    parts.append("</main></body></html>")
    return web.Response(
        text="".join(parts), content_type="text/html", charset="utf-8", headers=DEMO_HEADERS
    )
