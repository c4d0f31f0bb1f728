"""The running stack keeps its secrets from other local users: no secret on any process's
command line (``ps`` shows those to everyone), and Redis answers only with the password.

tests/servers.py starts the stack as the Procfile does: Rasa through assistant/launch.py (the
token from RASA_TOKEN), redis-server with the password in its config file.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, ResponseError

from base.client_redis import with_password
from bot import Settings, create_app
from tests.bot.conftest import ClientFactory
from tests.conftest import RasaStack, RedisServer


def command_lines() -> dict[int, bytes]:
    lines = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines[int(entry.name)] = (entry / "cmdline").read_bytes()
            except OSError:  # the process ended meanwhile
                continue
    return lines


def test_no_process_shows_a_secret_on_its_command_line(
    redis_server: RedisServer, rasa_stack: RasaStack
) -> None:
    lines = command_lines()
    assert b"assistant.launch" in lines[rasa_stack.rasa.pid]
    assert rasa_stack.actions.pid in lines and redis_server.process is not None
    assert redis_server.process.pid in lines
    for secret in (rasa_stack.token, redis_server.password):
        showing = [pid for pid, line in lines.items() if secret.encode() in line]
        assert not showing, f"a secret on the command line of {showing}"


async def test_rasa_got_its_token_from_the_launcher(rasa_stack: RasaStack) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{rasa_stack.url}/status") as response:
            assert response.status == 401
        async with http.get(f"{rasa_stack.url}/status", params={"token": "guess"}) as response:
            assert response.status == 401
        async with http.get(f"{rasa_stack.url}/status", params={"token": rasa_stack.token}) as r:
            assert r.status == 200


async def test_redis_refuses_a_client_without_the_password(redis_server: RedisServer) -> None:
    async with Redis(port=redis_server.port) as stranger:
        with pytest.raises((AuthenticationError, ResponseError), match=r"(?i)auth"):
            await stranger.keys("cjg:*")
        with pytest.raises((AuthenticationError, ResponseError), match=r"(?i)auth"):
            await stranger.config_get("requirepass")
    async with Redis(port=redis_server.port, password="guessed") as guessing:
        with pytest.raises(AuthenticationError):
            await guessing.ping()


async def test_the_service_uses_the_password_from_its_own_setting(
    aiohttp_client: ClientFactory, settings: Settings, redis_server: RedisServer
) -> None:
    """As the stack configures it: CJG_REDIS_URL without the password, REDIS_PASSWORD apart
    (for the service's clients, its Socket.IO manager and Rasa's tracker store alike)."""
    env = {
        **redis_server.env(0),
        "RASA_TOKEN": settings.rasa_token,
        "CJG_PSEUDONYM_SECRET": settings.pseudonym_secret,
        "CJG_RASA_URL": settings.rasa_url,
        "CJG_ACTION_SERVER_URL": settings.action_server_url,
    }
    assert redis_server.password not in env["CJG_REDIS_URL"]
    from_env = Settings.from_env(env)
    assert from_env.redis_url == redis_server.url(0)
    client = await aiohttp_client(create_app(from_env))
    assert (await client.get("/health")).status == 200
    reply = await client.post("/api/chat", json={"message": "hallo"})
    assert reply.status == 200 and await reply.json()


async def test_a_wrong_password_shows_as_redis_failing(
    aiohttp_client: ClientFactory, settings: Settings, redis_server: RedisServer
) -> None:
    url = redis_server.url(0).replace(redis_server.password, "wrong-password")
    client = await aiohttp_client(create_app(Settings(**{**settings.__dict__, "redis_url": url})))
    response = await client.get("/health")
    assert response.status == 503
    assert (await response.json())["failing"] == ["redis"]
    assert with_password(url, "other") == url  # a password in the URL itself is kept
