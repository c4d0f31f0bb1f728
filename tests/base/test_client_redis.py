"""The Sentinel settings (bot/config.py, base/client_redis.py): off by default, parsed strictly."""

from __future__ import annotations

import pytest
from redis.asyncio import BlockingConnectionPool
from redis.asyncio.sentinel import SentinelConnectionPool

from base.client_redis import RedisTarget, aclose_redis, redis_client, socketio_manager
from bot.config import ConfigError, Settings

BASE = {"RASA_TOKEN": "t" * 32, "CJG_PSEUDONYM_SECRET": "s" * 32, "REDIS_PASSWORD": "p@ss/w"}


async def test_without_sentinels_clients_connect_to_the_url_as_before() -> None:
    settings = Settings.from_env(BASE)
    assert settings.redis_sentinels == () and settings.redis_wait_replicas == 0
    client = redis_client(settings.redis_target, max_connections=5)
    assert isinstance(client.connection_pool, BlockingConnectionPool)
    assert client.connection_pool.connection_kwargs["port"] == 6390
    await aclose_redis(client)
    assert socketio_manager(settings.redis_target, "c").redis_url == settings.redis_url


async def test_sentinels_switch_every_client_to_the_master_they_name() -> None:
    env = {**BASE, "CJG_REDIS_SENTINELS": "10.0.0.5:26379, 10.0.0.6:26380", "CJG_REDIS_URL":
           "redis://127.0.0.1:6390/4"}  # fmt: skip
    settings = Settings.from_env(env)
    assert settings.redis_sentinels == (("10.0.0.5", 26379), ("10.0.0.6", 26380))
    assert settings.redis_master == "cjg" and settings.redis_wait_replicas == 1
    target = settings.redis_target
    assert (target.db, target.password) == (4, "p@ss/w")
    client = redis_client(target, max_connections=5)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool) and isinstance(pool, BlockingConnectionPool)
    assert pool.service_name == "cjg" and pool.connection_kwargs["db"] == 4
    assert pool.connection_kwargs["password"] == "p@ss/w"
    await aclose_redis(client)
    manager = socketio_manager(target, "cjg:socketio")
    assert manager.redis_url == "redis+sentinel://10.0.0.5:26379,10.0.0.6:26380/4/cjg"
    assert "p@ss" not in manager.redis_url  # the password travels apart, unquoted
    assert manager.redis_options["sentinel_kwargs"] == {"password": "p@ss/w"}
    assert settings.tracker_redis_target.db == 0  # Rasa's trackers: same master, database 0
    assert RedisTarget.from_env(env).sentinels == settings.redis_sentinels


@pytest.mark.parametrize(
    ("name", "value"),
    [("CJG_REDIS_SENTINELS", "10.0.0.5"), ("CJG_REDIS_SENTINELS", "h:99999"),
     ("CJG_REDIS_WAIT_REPLICAS", "een")],
)  # fmt: skip
def test_a_wrong_sentinel_setting_stops_the_start(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({**BASE, name: value})
