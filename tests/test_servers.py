"""tests/servers.py: the servers a test starts do not outlive it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.servers import ROOT

STARTS_REDIS = """
import sys, time
from pathlib import Path
from tests.servers import RedisServer
server = RedisServer(Path(sys.argv[1]))
server.start()
print(server.process.pid, flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by init) counts as gone
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_a_killed_test_run_takes_its_redis_server_with_it(tmp_path: Path) -> None:
    """SIGKILL gives the test process no chance to stop its servers; the kernel does it."""
    runner = subprocess.Popen(
        [sys.executable, "-c", STARTS_REDIS, str(tmp_path)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
    )  # fmt: skip
    assert runner.stdout is not None
    redis_pid = int(runner.stdout.readline())
    assert _alive(redis_pid)
    runner.send_signal(signal.SIGKILL)
    runner.wait(10)
    deadline = time.monotonic() + 10
    while _alive(redis_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(redis_pid), "redis-server outlived the process that started it"
