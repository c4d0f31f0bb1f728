"""One messaging service on the test session's Rasa for the benchmarks' smokes, so that each
benchmark runs for a few seconds here without starting a Rasa of its own (the slowest part of a
start: four of them cost the test command about four minutes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import RasaStack, RedisServer
from tests.servers import Service, service_on

BENCH_DB = 32  # the service's own state; Rasa keeps its trackers in database 0


@pytest.fixture(scope="session")
def bench_service(
    redis_server: RedisServer, rasa_stack: RasaStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """The service as its own process (``python -m bot``), rate limits out of the way, as the
    benchmarks start it (tests/servers.py running_service)."""
    with redis.Redis.from_url(redis_server.url(BENCH_DB)) as client:
        client.flushdb()
    directory: Path = tmp_path_factory.mktemp("bench-service")
    with service_on(
        rasa_stack,
        redis_server,
        directory,
        BENCH_DB,
        settings={"CJG_RASA_TRACKER_REDIS_URL": redis_server.url(0)},
    ) as service:
        yield service


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """What the benchmarks' smokes printed (the acceptance set's figures per group), shown after
    the run also when they pass: pytest keeps a passing test's output to itself, and with two
    processes ``-s`` would not show it either."""
    for report in terminalreporter.stats.get("passed", []):
        if not report.nodeid.startswith("tests/bench/") or report.when != "call":
            continue
        printed = "".join(text for name, text in report.sections if "stdout" in name)
        if printed.strip():
            terminalreporter.write_sep("-", f"printed by {report.nodeid.split('::')[-1]}")
            terminalreporter.write(printed)
