"""Settings of the messaging service, read from the environment (see defaults.env)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from urllib.parse import unquote, urlsplit

from base.client_redis import (
    DEFAULT_MASTER,
    DEFAULT_REDIS_URL,
    Address,
    RedisTarget,
    SentinelSettingError,
    parse_sentinels,
    redis_url_from_env,
    with_password,
)
from bot.rasa_replicas import replica_identity

Network = IPv4Network | IPv6Network
FORWARDED_HEADERS = ("X-Forwarded-For", "Forwarded")


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names the variable and what to do."""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    redis_url: str = DEFAULT_REDIS_URL  # with the password in it (see redis_url_from_env)
    # Where Rasa keeps its trackers (endpoints.yml: db 0), so "Gesprek wissen" erases them too.
    rasa_tracker_redis_url: str = ""  # empty: the server of redis_url, database 0
    rasa_url: str = "http://127.0.0.1:5005"
    # Several Rasa replicas (CJG_RASA_URLS; bot/rasa_replicas.py); empty: rasa_url alone.
    rasa_urls: tuple[str, ...] = ()
    rasa_token: str = ""
    action_server_url: str = "http://127.0.0.1:5055"
    rasa_timeout: float = 10.0
    # Retry-After (seconds) of a 503 when a message got no answer: Rasa or its action server
    # down or too slow (a restart loads the model in well under a minute), or Redis full or
    # away (a full Redis needs someone to act). The widget retries on its own schedule.
    retry_after_assistant: int = 10
    retry_after_storage: int = 60
    pseudonym_secret: str = ""
    max_message_chars: int = 2000
    form_of_address: str = "je"  # "je" or "u" until a parent chooses; youths always "je"
    max_body_bytes: int = 256 * 1024
    rate_per_sender: int = 30  # messages per minute per conversation
    rate_per_address: int = 120  # messages per minute per client address (all its chats)
    # New urgent handoffs (count, window seconds) per conversation, per client address and for
    # the whole service; past a limit a crisis message still gets the card and a normal place
    # in the queue, and staff are told (bot/core/crisis.py, handoff/urgent.py).
    urgent_per_sender: tuple[int, int] = (1, 1800)
    urgent_per_address: tuple[int, int] = (3, 600)
    urgent_per_service: tuple[int, int] = (20, 600)
    # What one conversation may add to its transcript while it waits for staff.
    waiting_max_messages: int = 50
    waiting_max_bytes: int = 20000
    redis_max_connections: int = 100  # per instance; each open staff console holds one
    retention_seconds: int = 30 * 24 * 3600  # transcripts, handoff records, outboxes
    handoff_silent_seconds: float = 600.0  # a claimed chat without staff activity goes back
    routing_wait_seconds: float = 180.0  # a routed chat is for the matching colleagues first
    presence_timeout_seconds: float = 45.0  # a console without heartbeat counts as gone
    sweep_interval_seconds: float = 5.0
    purge_interval_seconds: float = 3600.0  # the retention purge (see handoff/upkeep.py)
    staff_session_seconds: int = 10 * 3600
    secure_cookies: bool = False  # true behind TLS (production)
    telegram_token: str = ""  # empty: Telegram is off
    telegram_mode: str = "polling"  # or "webhook"
    telegram_webhook_url: str = ""  # public https URL that ends in /telegram/webhook
    telegram_webhook_secret: str = ""
    telegram_api_url: str = "https://api.telegram.org/bot"
    # Pages on other sites that may embed the widget ("https://www.cjgkennemerland.nl");
    # empty: only pages of the service itself (the demo page).
    widget_origins: tuple[str, ...] = ()
    # The reverse proxies in front of the service (addresses or networks). Only a request whose
    # socket comes from one of them may name the client in ``forwarded_header``.
    trusted_proxies: tuple[Network, ...] = ()
    forwarded_header: str = "X-Forwarded-For"  # or "Forwarded" (RFC 7239): what the proxy sets
    # The service's address as users' browsers reach it, for counted offer links (/go/...).
    public_url: str = ""  # empty: http://<host>:<port>
    registration_idle_seconds: float = 1800.0  # a conversation quiet this long is counted
    insight_keep_days: int = 800  # the hourly counters (no personal data) are kept this long
    # Redis Sentinel (docs/DEPLOY.md): with sentinels, clients find the master of
    # ``redis_master`` through them; the URL then gives only the database and the password.
    redis_sentinels: tuple[Address, ...] = ()
    redis_master: str = DEFAULT_MASTER
    # Acknowledged writes wait until this many replicas have them (at most the connected
    # ones; handoff/replication.py). Empty setting: 1 with sentinels, else 0 (off).
    redis_wait_replicas: int = 0
    redis_wait_timeout_ms: int = 1000
    # Callback requests (handoff/callbacks.py): the AES-256 key of the phone numbers (64 hex
    # characters; empty: callbacks are off and the wish becomes a chat), and how long a number
    # is kept at most when nobody registers the call.
    callback_key: str = ""
    callback_number_seconds: int = 3 * 24 * 3600

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def number(name: str, default: float, kind: type[int] | type[float]) -> float:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                value = kind(raw)
            except ValueError:
                raise ConfigError(f"{name}={raw!r} is not a number; fix var/local.env") from None
            if value <= 0:
                raise ConfigError(f"{name} must be above zero")
            return value

        def per_window(name: str, default: tuple[int, int]) -> tuple[int, int]:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            count, _, seconds = raw.partition("/")
            try:
                parsed = (int(count), int(seconds))
            except ValueError:
                parsed = (0, 0)
            if parsed[0] <= 0 or parsed[1] <= 0:
                raise ConfigError(
                    f"{name}={raw!r} must be COUNT/SECONDS, e.g. 3/600; fix var/local.env"
                )
            return parsed

        def networks(name: str) -> tuple[Network, ...]:
            found = []
            for entry in env.get(name, "").replace(",", " ").split():
                try:
                    found.append(ip_network(entry, strict=False))
                except ValueError:
                    raise ConfigError(
                        f"{name}: {entry!r} is not an IP address or network (like 10.0.0.5 or "
                        "10.0.0.0/24); separate several with commas."
                    ) from None
            return tuple(found)

        try:
            sentinels = parse_sentinels(env.get("CJG_REDIS_SENTINELS", ""))
        except SentinelSettingError as exc:
            raise ConfigError(f"{exc} Fix var/local.env.") from None
        wait_replicas = env.get("CJG_REDIS_WAIT_REPLICAS", "").strip()
        if wait_replicas and not wait_replicas.isdigit():
            raise ConfigError(f"CJG_REDIS_WAIT_REPLICAS={wait_replicas!r} must be 0 or more")

        settings = cls(
            host=env.get("CJG_HOST", cls.host),
            port=int(number("CJG_PORT", cls.port, int)),
            redis_url=redis_url_from_env(env),
            rasa_tracker_redis_url=with_password(
                env.get("CJG_RASA_TRACKER_REDIS_URL", ""), env.get("REDIS_PASSWORD", "")
            ),
            rasa_url=env.get("CJG_RASA_URL", cls.rasa_url).rstrip("/"),
            rasa_urls=tuple(
                url.strip().rstrip("/")
                for url in env.get("CJG_RASA_URLS", "").split(",")
                if url.strip()
            ),
            rasa_token=env.get("RASA_TOKEN", ""),
            action_server_url=env.get("CJG_ACTION_SERVER_URL", cls.action_server_url).rstrip("/"),
            rasa_timeout=number("CJG_RASA_TIMEOUT", cls.rasa_timeout, float),
            retry_after_assistant=int(
                number("CJG_RETRY_AFTER_ASSISTANT", cls.retry_after_assistant, int)
            ),
            retry_after_storage=int(
                number("CJG_RETRY_AFTER_STORAGE", cls.retry_after_storage, int)
            ),
            pseudonym_secret=env.get("CJG_PSEUDONYM_SECRET", ""),
            max_message_chars=int(number("CJG_MAX_MESSAGE_CHARS", cls.max_message_chars, int)),
            form_of_address=env.get("CJG_FORM_OF_ADDRESS", cls.form_of_address).strip().lower(),
            rate_per_sender=int(number("CJG_RATE_PER_SENDER", cls.rate_per_sender, int)),
            rate_per_address=int(number("CJG_RATE_PER_ADDRESS", cls.rate_per_address, int)),
            urgent_per_sender=per_window("CJG_URGENT_PER_SENDER", cls.urgent_per_sender),
            urgent_per_address=per_window("CJG_URGENT_PER_ADDRESS", cls.urgent_per_address),
            urgent_per_service=per_window("CJG_URGENT_PER_SERVICE", cls.urgent_per_service),
            waiting_max_messages=int(
                number("CJG_WAITING_MAX_MESSAGES", cls.waiting_max_messages, int)
            ),
            waiting_max_bytes=int(number("CJG_WAITING_MAX_BYTES", cls.waiting_max_bytes, int)),
            redis_max_connections=int(
                number("CJG_REDIS_MAX_CONNECTIONS", cls.redis_max_connections, int)
            ),
            retention_seconds=int(number("CJG_RETENTION_SECONDS", cls.retention_seconds, int)),
            handoff_silent_seconds=number(
                "CJG_HANDOFF_SILENT_SECONDS", cls.handoff_silent_seconds, float
            ),
            routing_wait_seconds=number(
                "CJG_ROUTING_WAIT_SECONDS", cls.routing_wait_seconds, float
            ),
            presence_timeout_seconds=number(
                "CJG_PRESENCE_TIMEOUT_SECONDS", cls.presence_timeout_seconds, float
            ),
            sweep_interval_seconds=number(
                "CJG_SWEEP_INTERVAL_SECONDS", cls.sweep_interval_seconds, float
            ),
            purge_interval_seconds=number(
                "CJG_PURGE_INTERVAL_SECONDS", cls.purge_interval_seconds, float
            ),
            staff_session_seconds=int(
                number("CJG_STAFF_SESSION_SECONDS", cls.staff_session_seconds, int)
            ),
            secure_cookies=env.get("CJG_SECURE_COOKIES", "false").lower() in ("1", "true", "yes"),
            telegram_token=env.get("CJG_TELEGRAM_TOKEN", ""),
            telegram_mode=env.get("CJG_TELEGRAM_MODE", cls.telegram_mode),
            telegram_webhook_url=env.get("CJG_TELEGRAM_WEBHOOK_URL", ""),
            telegram_webhook_secret=env.get("CJG_TELEGRAM_WEBHOOK_SECRET", ""),
            telegram_api_url=env.get("CJG_TELEGRAM_API_URL", cls.telegram_api_url),
            public_url=env.get("CJG_PUBLIC_URL", "").rstrip("/"),
            registration_idle_seconds=number(
                "CJG_REGISTRATION_IDLE_SECONDS", cls.registration_idle_seconds, float
            ),
            insight_keep_days=int(number("CJG_INSIGHT_KEEP_DAYS", cls.insight_keep_days, int)),
            redis_sentinels=sentinels,
            redis_master=env.get("CJG_REDIS_MASTER", "").strip() or cls.redis_master,
            redis_wait_replicas=int(wait_replicas) if wait_replicas else (1 if sentinels else 0),
            redis_wait_timeout_ms=int(
                number("CJG_REDIS_WAIT_TIMEOUT_MS", cls.redis_wait_timeout_ms, int)
            ),
            callback_key=env.get("CJG_CALLBACK_KEY", ""),
            callback_number_seconds=int(
                number("CJG_CALLBACK_NUMBER_SECONDS", cls.callback_number_seconds, int)
            ),
            trusted_proxies=networks("CJG_TRUSTED_PROXIES"),
            forwarded_header=env.get("CJG_FORWARDED_HEADER", "") or cls.forwarded_header,
            widget_origins=tuple(
                origin.strip().rstrip("/")
                for origin in env.get("CJG_WIDGET_ORIGINS", "").split(",")
                if origin.strip()
            ),
        )
        settings.check()
        return settings

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value of the settings (for keeping them out of the log)."""
        values = [
            self.rasa_token,
            self.pseudonym_secret,
            self.telegram_token,
            self.telegram_token.partition(":")[2],  # the bot id before the colon is public
            self.telegram_webhook_secret,
            self.callback_key,
        ]
        for url in (self.redis_url, self.rasa_tracker_redis_url, *self.rasa_replicas):
            password = urlsplit(url).password
            values += [password, unquote(password)] if password else []
        return tuple(v for v in dict.fromkeys(values) if v)

    @property
    def rasa_replicas(self) -> tuple[str, ...]:
        """The Rasa servers the service talks to: CJG_RASA_URLS, else CJG_RASA_URL alone."""
        return self.rasa_urls or (self.rasa_url,)

    @property
    def redis_target(self) -> RedisTarget:
        """The service's Redis (base/client_redis.py builds every client from it)."""
        return RedisTarget(self.redis_url, self.redis_sentinels, self.redis_master)

    @property
    def tracker_redis_target(self) -> RedisTarget:
        """Where Rasa keeps its trackers: the same server (or master) as the service."""
        return RedisTarget(self.tracker_redis_url, self.redis_sentinels, self.redis_master)

    @property
    def tracker_redis_url(self) -> str:
        if self.rasa_tracker_redis_url:
            return self.rasa_tracker_redis_url
        base, _, tail = self.redis_url.partition("?")
        scheme, _, rest = base.partition("://")
        server = rest.split("/", 1)[0]
        return f"{scheme}://{server}/0" + (f"?{tail}" if tail else "")

    def check(self) -> None:
        if self.telegram_token:
            if self.telegram_mode not in ("polling", "webhook"):
                raise ConfigError("CJG_TELEGRAM_MODE must be 'polling' or 'webhook'.")
            if self.telegram_mode == "webhook" and (
                not self.telegram_webhook_url.startswith("https://")
                or len(self.telegram_webhook_secret) < 16
            ):
                raise ConfigError(
                    "Webhook mode needs CJG_TELEGRAM_WEBHOOK_URL (https://.../telegram/webhook) "
                    "and CJG_TELEGRAM_WEBHOOK_SECRET (16+ characters; make run generates one)."
                )
        for origin in self.widget_origins:
            if not origin.startswith(("https://", "http://")) or origin.count("/") != 2:
                raise ConfigError(
                    f"CJG_WIDGET_ORIGINS: {origin!r} is not an origin like https://www.example.nl "
                    "(scheme and host, no path); separate several with commas."
                )
        if self.forwarded_header.lower() not in (h.lower() for h in FORWARDED_HEADERS):
            raise ConfigError(
                "CJG_FORWARDED_HEADER must be X-Forwarded-For or Forwarded: the header your "
                "reverse proxy sets."
            )
        self._check_rasa_urls()
        if self.form_of_address not in ("je", "u"):
            raise ConfigError("CJG_FORM_OF_ADDRESS must be 'je' or 'u' (what parents hear first).")
        if self.callback_key and not re.fullmatch(r"[0-9a-fA-F]{64}", self.callback_key):
            raise ConfigError(
                "CJG_CALLBACK_KEY must be 64 hexadecimal characters (32 bytes); "
                "'make run' generates one in var/secrets.env."
            )
        if not self.rasa_token:
            raise ConfigError("RASA_TOKEN is not set; 'make run' generates one in var/secrets.env.")
        if len(self.pseudonym_secret) < 32:
            raise ConfigError(
                "CJG_PSEUDONYM_SECRET must be at least 32 characters; "
                "'make run' generates one in var/secrets.env."
            )

    def _check_rasa_urls(self) -> None:
        """Each replica a valid http(s) URL, none twice. The message names the entry by its
        place, not its text, which may hold a password."""
        seen = set()
        for place, url in enumerate(self.rasa_replicas, start=1):
            parts = urlsplit(url)
            try:
                valid = (
                    parts.scheme in ("http", "https")
                    and bool(parts.hostname)
                    and (parts.port is None or parts.port > 0)
                )
            except ValueError:  # a port that is not a number
                valid = False
            if not valid:
                raise ConfigError(
                    f"CJG_RASA_URLS (or CJG_RASA_URL): entry {place} is not a URL like "
                    "http://10.0.0.5:5005; separate several with commas."
                )
            identity = replica_identity(url)
            if identity in seen:
                raise ConfigError(f"CJG_RASA_URLS names {identity} twice; list each replica once.")
            seen.add(identity)
