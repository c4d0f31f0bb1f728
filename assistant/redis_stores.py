"""Rasa's Redis tracker and lock store, able to find the master through Redis Sentinel.

Rasa 3.6's own stores connect to one host. ``endpoints.yml`` names these classes instead
(``type: assistant.redis_stores.TrackerStore``); each is Rasa's store with its Redis client
replaced when ``CJG_REDIS_SENTINELS`` (``host:port,host:port``) is set: a redis-py Sentinel
client for the master ``CJG_REDIS_MASTER`` (default ``cjg``), which asks the sentinels again
after a failover. The password (``REDIS_PASSWORD``, from endpoints.yml) is the master's and the
sentinels'. Without the setting both behave exactly as Rasa's ``type: redis``.
"""

from __future__ import annotations

import os
from typing import Any

from rasa.core.lock_store import DEFAULT_SOCKET_TIMEOUT_IN_SECONDS, RedisLockStore
from rasa.core.tracker_store import RedisTrackerStore
from rasa.utils.endpoints import EndpointConfig
from redis.sentinel import Sentinel  # type: ignore[import-untyped]  # redis 4 has no types

DEFAULT_MASTER = "cjg"


def sentinels_from_env() -> list[tuple[str, int]]:
    """``CJG_REDIS_SENTINELS`` as (host, port) pairs; empty when Sentinel is off."""
    found = []
    for entry in os.environ.get("CJG_REDIS_SENTINELS", "").replace(",", " ").split():
        host, _, port = entry.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"CJG_REDIS_SENTINELS: {entry!r} is not host:port")
        found.append((host.strip("[]"), int(port)))
    return found


def master_client(
    db: int, password: str | None, decode_responses: bool, socket_timeout: float | None
) -> Any:
    """A client of the master that the sentinels name, or None when Sentinel is off."""
    sentinels = sentinels_from_env()
    if not sentinels:
        return None
    password = password or None
    sentinel = Sentinel(
        sentinels,
        sentinel_kwargs={"password": password, "socket_timeout": 2.0},
        password=password,
        db=int(db),
        socket_timeout=socket_timeout,
    )
    master = os.environ.get("CJG_REDIS_MASTER", "").strip() or DEFAULT_MASTER
    return sentinel.master_for(master, decode_responses=decode_responses)


class TrackerStore(RedisTrackerStore):
    """Rasa's Redis tracker store; through Sentinel when ``CJG_REDIS_SENTINELS`` is set."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        client = master_client(kwargs.get("db", 0), kwargs.get("password"), True, None)
        if client is not None:
            self.red.close()
            self.red = client


class LockStore(RedisLockStore):
    """Rasa's Redis lock store; through Sentinel when ``CJG_REDIS_SENTINELS`` is set. Rasa
    builds a custom lock store from its endpoint configuration alone."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        kwargs = dict(endpoint_config.kwargs)
        super().__init__(host=endpoint_config.url or "localhost", **kwargs)
        socket_timeout = float(kwargs.get("socket_timeout", DEFAULT_SOCKET_TIMEOUT_IN_SECONDS))
        client = master_client(kwargs.get("db", 1), kwargs.get("password"), False, socket_timeout)
        if client is not None:
            self.red.close()
            self.red = client
