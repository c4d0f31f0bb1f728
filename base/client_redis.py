"""Every Redis client of the service side is built here: the service's pool, the trackers'
client, the Socket.IO manager, the scripts and the benchmarks.

Two modes, chosen by one setting. Without ``CJG_REDIS_SENTINELS`` a client connects to the
server in ``CJG_REDIS_URL``, as it always did. With it (``host:port,host:port,...``) the URL's
host and port are ignored: the client asks the sentinels which server is the master of
``CJG_REDIS_MASTER`` and asks again whenever a connection breaks, so after a failover the next
command reaches the promoted replica. The URL still gives the database and the password
(``REDIS_PASSWORD``), which the sentinels require too (their ``requirepass``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import socketio
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import NoBackoff

DEFAULT_MASTER = "cjg"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6390/0"
Address = tuple[str, int]


class SentinelSettingError(ValueError):
    """``CJG_REDIS_SENTINELS`` is not a list of ``host:port``."""


def parse_sentinels(raw: str) -> tuple[Address, ...]:
    """``"10.0.0.5:26379, 10.0.0.6:26379"`` -> ``(("10.0.0.5", 26379), ...)``; empty: off."""
    found: list[Address] = []
    for entry in raw.replace(",", " ").split():
        host, _, port = entry.rpartition(":")
        host = host.strip("[]")  # [::1]:26379
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise SentinelSettingError(
                f"CJG_REDIS_SENTINELS: {entry!r} is not host:port (like 10.0.0.5:26379); "
                "separate several with commas."
            )
        found.append((host, int(port)))
    return tuple(found)


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` in it (``redis://:pw@host:port/db``), unless it has one."""
    parts = urlsplit(url)
    if not password or parts.password is not None or parts.scheme not in ("redis", "rediss"):
        return url
    user = quote(unquote(parts.username or ""), safe="")
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))


def redis_url_from_env(env: Mapping[str, str] | None = None) -> str:
    """The service's Redis: ``CJG_REDIS_URL`` with the stack's ``REDIS_PASSWORD`` (generated
    into var/secrets.env; redis.conf's ``requirepass``). The scripts use it too."""
    env = os.environ if env is None else env
    url = env.get("CJG_REDIS_URL") or DEFAULT_REDIS_URL
    return with_password(url, env.get("REDIS_PASSWORD", ""))


@dataclass(frozen=True)
class RedisTarget:
    """Where Redis is: ``url`` (with the password in it, see with_password) and, in
    Sentinel mode, the sentinels and the master's name."""

    url: str
    sentinels: tuple[Address, ...] = ()
    master: str = DEFAULT_MASTER

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RedisTarget:
        """The stack's Redis for the scripts (``CJG_REDIS_URL``, ``REDIS_PASSWORD`` and the
        Sentinel settings), as the service reads them."""
        env = os.environ if env is None else env
        return cls(
            redis_url_from_env(env),
            parse_sentinels(env.get("CJG_REDIS_SENTINELS", "")),
            env.get("CJG_REDIS_MASTER", "") or DEFAULT_MASTER,
        )

    @property
    def password(self) -> str | None:
        password = urlsplit(self.url).password
        return unquote(password) if password else None

    @property
    def db(self) -> int:
        path = urlsplit(self.url).path.strip("/")
        return int(path) if path.isdigit() else 0


class BlockingSentinelConnectionPool(SentinelConnectionPool, BlockingConnectionPool):
    """A Sentinel pool that makes a burst wait for a free connection (like the service's
    ``BlockingConnectionPool``) instead of failing at ``max_connections``."""


def redis_client(
    target: RedisTarget, *, max_connections: int | None = None, **options: Any
) -> Redis:
    """A client that owns its pool (``aclose_redis`` closes both). With ``max_connections``
    the pool is bounded and blocking (``timeout`` seconds of waiting, default 10)."""
    options.setdefault("decode_responses", True)
    if not target.sentinels:
        if max_connections is None:
            return Redis.from_url(target.url, **options)
        pool = BlockingConnectionPool.from_url(
            target.url, max_connections=max_connections, **options
        )
        return Redis.from_pool(pool)
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(target.sentinels),
        sentinel_kwargs={"password": target.password, "socket_timeout": 2.0},
        password=target.password,
        db=target.db,
    )
    pool_class: type[SentinelConnectionPool] = SentinelConnectionPool
    # No silent retries: redis-py retries a failed command on a new connection, which after a
    # failover is the new master. One request's writes could then be split between the old
    # master (lost with it) and the new one, and the wait for replicas on the new one would
    # still let the request be acknowledged. Failing instead gives a 503 that the client
    # repeats whole (docs/DURABILITY.md).
    options.setdefault("retry", Retry(NoBackoff(), 0))
    if max_connections is not None:
        pool_class = BlockingSentinelConnectionPool
        options["max_connections"] = max_connections
        options.setdefault("timeout", 10)
    client: Redis = sentinel.master_for(target.master, connection_pool_class=pool_class, **options)
    return client


async def aclose_redis(client: Redis) -> None:
    """Closes the client, its pool and, in Sentinel mode, the connections to the sentinels."""
    await client.aclose()
    await client.connection_pool.disconnect()
    manager = getattr(client.connection_pool, "sentinel_manager", None)
    if isinstance(manager, Sentinel):
        await manager.aclose()


def socketio_manager(target: RedisTarget, channel: str) -> socketio.AsyncRedisManager:
    """python-socketio's Redis manager on the same Redis. In Sentinel mode it gets a
    ``redis+sentinel://`` URL (python-socketio >= 5.12 builds a redis-py Sentinel from it and
    reconnects through it after a failover); the password travels in ``redis_options``, not in
    the URL, so that no character of it needs quoting."""
    options: dict[str, Any] = {}
    url = target.url
    if target.sentinels:
        hosts = ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in target.sentinels)
        url = f"redis+sentinel://{hosts}/{target.db}/{target.master}"
        options = {"password": target.password, "sentinel_kwargs": {"password": target.password}}
    return socketio.AsyncRedisManager(url, channel=channel, redis_options=options)
