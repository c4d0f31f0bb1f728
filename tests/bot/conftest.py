from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request
from redis.asyncio import Redis

from bot import Settings, create_app
from tests.conftest import RasaStack, RedisServer, free_port
from tests.redis_db import fresh_db

ClientFactory = Callable[[Application], Awaitable[TestClient[Request, Application]]]
SECRET = "test-pseudonym-secret-of-32-chars!!"


@pytest.fixture
def settings(redis_server: RedisServer, rasa_stack: RasaStack) -> Settings:
    return Settings(
        redis_url=redis_server.url(),
        rasa_url=rasa_stack.url,
        rasa_token=rasa_stack.token,
        action_server_url=rasa_stack.action_url,
        pseudonym_secret=SECRET,
        rasa_timeout=15,
        # Every test client posts from 127.0.0.1 into the same database: the address limits
        # would refuse later tests' messages (429) and make their crisis messages non-urgent.
        # The limits have their own tests (tests/bot/test_web_chat.py's flood test,
        # tests/bot/test_client_address.py, tests/handoff/test_urgent.py).
        rate_per_address=10**6,
        urgent_per_address=(10**6, 600),
        urgent_per_service=(10**6, 600),
    )


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL where nothing listens: a part of the stack that is down."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, settings: Settings
) -> TestClient[Request, Application]:
    return await aiohttp_client(create_app(settings))


@pytest.fixture
async def module_db(
    request: pytest.FixtureRequest, redis_server: RedisServer
) -> AsyncIterator[Redis]:
    """The test module's own Redis database (its ``DB``), emptied first."""
    async with fresh_db(redis_server, request.module.DB) as client:
        yield client
