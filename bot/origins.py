"""Which web pages may use the chat: the service's own, and the sites that embed the widget.

One check for the JSON API (``bot/web_chat.py``) and the widget's Socket.IO handshake
(``bot/widget/channel.py``). The service's own pages are those at its public URL
(``CJG_PUBLIC_URL``) or at the host the request was sent to: behind a reverse proxy that passes
the ``Host`` header on (the README's nginx configuration does), that is the address users'
browsers see; otherwise ``CJG_PUBLIC_URL`` names it. Only the host is compared for the latter,
as a TLS proxy talks plain HTTP to the service.
"""

from __future__ import annotations

from bot.config import Settings


def allowed_origin(settings: Settings, origin: str, host: str | None) -> bool:
    """``origin``: the browser's ``Origin`` header; ``host``: the request's ``Host``."""
    allowed = set(settings.widget_origins)
    if settings.public_url:
        scheme, _, rest = settings.public_url.partition("://")
        allowed.add(f"{scheme}://{rest.split('/', 1)[0]}")
    if origin in allowed:
        return True
    scheme, _, origin_host = origin.partition("://")
    return scheme in ("http", "https") and bool(origin_host) and origin_host == host
