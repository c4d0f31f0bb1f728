"""Real servers for the service tests: redis-server and a Rasa stack with the trained model.

Standard library only (plus pytest), so that both Python environments can load this file. The
servers themselves live in tests/servers.py, which the benchmarks use too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import (
    MODEL,
    RASA,
    ROOT,
    RasaStack,
    RedisServer,
    _http_ok,
    free_port,
    start_rasa_stack,
    wait_until,
)

__all__ = [
    "MODEL",
    "RASA",
    "ROOT",
    "RasaStack",
    "RedisServer",
    "_http_ok",
    "free_port",
    "wait_until",
]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def rasa_stack(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RasaStack]:
    if not MODEL.exists():
        pytest.fail("No trained model in models/: run scripts/test (it trains first).")
    try:
        stack = start_rasa_stack(redis_server, tmp_path_factory.mktemp("rasa-logs"))
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield stack
    stack.stop()
