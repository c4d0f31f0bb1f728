"""Real servers for tests and benchmarks: redis-server and a Rasa stack (Rasa server and action
server) with a trained model, each on a free loopback port.

Standard library only, so that both Python environments (and bench/) can load this file.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "cjg.tar.gz"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
# Redis's fsync policy in the stack (scripts/prepare-env): every write is on disk before Redis
# answers it, so whatever the service acknowledged survives a crash (docs/DURABILITY.md).
STACK_APPENDFSYNC = "always"


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel send the child SIGTERM when the process that started
    it dies, so a test run killed from outside (CI's timeout, Ctrl-C twice) leaves no Redis, Rasa
    or service behind. The kernel ties this to the starting *thread*: from any other thread
    (a pool that may end first) it returns None and the child is stopped the usual way."""
    if threading.current_thread() is not threading.main_thread():
        return None
    parent = os.getpid()
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the line above: follow it now
            os.kill(os.getpid(), signal.SIGTERM)

    return arm


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(check: object, timeout: float, what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        try:
            if check():  # type: ignore[operator]
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f}s")


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return bool(response.status == 200)


@dataclass
class RedisServer:
    """redis-server with a password, like the stack's: it reads the password from its config
    file (mode 600), never from its command line, where ``ps`` would show it."""

    directory: Path
    port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_hex(16))
    process: subprocess.Popen[bytes] | None = None
    ready_at: int = 0  # the size of its log when it answered: what came before is start-up
    appendfsync: str = STACK_APPENDFSYNC  # "everysec" only to measure what "always" costs

    @property
    def log(self) -> Path:
        """What redis-server writes (as honcho shows it in production)."""
        return self.directory / "redis.log"

    def url(self, db: int = 0) -> str:
        """The URL of database ``db``, password included: build every client from it."""
        return f"redis://:{self.password}@127.0.0.1:{self.port}/{db}"

    def env(self, db: int = 0) -> dict[str, str]:
        """The service's settings for database ``db`` as the stack gives them: the URL without
        the password (defaults.env), the password apart (var/secrets.env)."""
        return {"CJG_REDIS_URL": self.url(db).replace(f":{self.password}@", ""),
                "REDIS_PASSWORD": self.password}  # fmt: skip

    def rasa_env(self) -> dict[str, str]:
        """What endpoints.yml reads to reach this server."""
        return {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(self.port),
                "REDIS_PASSWORD": self.password}  # fmt: skip

    def start(self) -> None:
        conf = self.directory / "redis.conf"
        conf.touch(mode=0o600)
        conf.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.directory}\nappendonly yes\n"
            f"appendfsync {self.appendfsync}\n"
            f'save ""\nrequirepass {self.password}\nmaxmemory-policy noeviction\n'
            "databases 48\n"  # one per test module that needs its own (tests/redis_db.py)
        )
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                ["redis-server", str(conf)], stdout=log, stderr=log, preexec_fn=die_with_parent()
            )
        wait_until(self._pong, 20, "redis-server", self.process)
        self.ready_at = self.log.stat().st_size

    def _pong(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
            s.sendall(f"AUTH {self.password}\r\nPING\r\n".encode())
            answer = b""
            while answer.count(b"\r\n") < 2 and (chunk := s.recv(64)):
                answer += chunk
            return answer == b"+OK\r\n+PONG\r\n"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@dataclass
class RasaStack:
    url: str
    token: str
    action_url: str
    rasa: subprocess.Popen[bytes]
    actions: subprocess.Popen[bytes]
    logs: Path  # rasa.log and actions.log: each process's stdout and stderr
    ready_at: dict[str, int] = field(default_factory=dict)  # log sizes when both answered

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def pause(self) -> None:
        """Freezes the Rasa server, as if it were overloaded."""
        self.rasa.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.rasa.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Asks both servers to stop; one that is still busy after 30 s (Rasa under a loaded
        machine has taken longer than 20 s) is killed, so a slow exit cannot fail a test run."""
        for process in (self.rasa, self.actions):
            process.send_signal(signal.SIGCONT)
            process.terminate()
        for process in (self.rasa, self.actions):
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def rasa_env(redis: dict[str, str], action_port: int, token: str) -> dict[str, str]:
    """The environment of a Rasa server or action server; ``redis`` is what endpoints.yml
    reads (``RedisServer.rasa_env()``, or cluster.sentinel.SentinelCluster's)."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
        "SANIC_HOST": "127.0.0.1",
        **redis,
        "ACTION_PORT": str(action_port),
        "RASA_TOKEN": token,
        "TRACKER_TTL_SECONDS": "3600",
    }


def rasa_argv(port: int, model: Path) -> list[str]:
    """A Rasa server as the Procfile starts it (through assistant/launch.py)."""
    return [str(RASA_PYTHON), "-m", "assistant.launch", "run", "--model", str(model),
            "--interface", "127.0.0.1", "--port", str(port), "--enable-api",
            "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"]  # fmt: skip


def actions_argv(port: int) -> list[str]:
    """The action server as the Procfile starts it."""
    return [str(RASA_PYTHON), "-m", "assistant.launch", "run", "actions",
            "--actions", "assistant.actions", "--port", str(port)]  # fmt: skip


def start_rasa_replica(
    redis: RedisServer, stack: RasaStack, port: int, log: Path, model: Path = MODEL
) -> subprocess.Popen[bytes]:
    """One more Rasa server on ``port`` next to ``stack``'s: the same token, action server and
    Redis (so the same trackers), as a second machine's replica (docs/DEPLOY.md). Returns once
    it answers /status; raises RuntimeError with the tail of its log otherwise."""
    action_port = int(stack.action_url.rsplit(":", 1)[1])
    env = rasa_env(redis.rasa_env(), action_port, stack.token)
    with log.open("ab") as out:
        process = subprocess.Popen(
            rasa_argv(port, model), cwd=ROOT, env=env, stdout=out, stderr=out,
            preexec_fn=die_with_parent(),
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/status?token={stack.token}"
    try:
        wait_until(lambda: _http_ok(url), 300, "Rasa replica", process)
    except RuntimeError as exc:
        process.kill()
        process.wait(10)
        raise RuntimeError(f"{exc}\n--- {log.name} (tail) ---\n{log.read_text()[-1500:]}") from exc
    return process


def start_rasa_stack(redis: RedisServer, logs: Path, model: Path = MODEL) -> RasaStack:
    """Starts the action server and the Rasa server on ``model``; raises RuntimeError with the
    tails of their logs when either does not come up. Both start as in the Procfile: through
    assistant/launch.py, which reads Rasa's token from RASA_TOKEN (never on a command line) and
    keeps their logs free of message text and start-up warnings."""
    rasa_port, action_port, token = free_port(), free_port(), secrets.token_hex(24)
    env = rasa_env(redis.rasa_env(), action_port, token)

    def start(name: str, *argv: str) -> subprocess.Popen[bytes]:
        log = (logs / f"{name}.log").open("wb")
        return subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=log, preexec_fn=die_with_parent()
        )

    actions = start("actions", *actions_argv(action_port))
    rasa = start("rasa", *rasa_argv(rasa_port, model))
    stack = RasaStack(
        url=f"http://127.0.0.1:{rasa_port}",
        token=token,
        action_url=f"http://127.0.0.1:{action_port}",
        rasa=rasa,
        actions=actions,
        logs=logs,
    )
    try:
        wait_until(lambda: _http_ok(f"{stack.action_url}/health"), 120, "action server", actions)
        wait_until(lambda: _http_ok(f"{stack.url}/status?token={token}"), 300, "Rasa", rasa)
        stack.ready_at = {name: stack.log(name).stat().st_size for name in ("rasa", "actions")}
    except RuntimeError as exc:
        stack.stop()
        # The tails go into the message itself: CI shows only part of the output.
        tails = "".join(
            f"\n--- {name}.log (tail) ---\n" + (logs / f"{name}.log").read_text()[-1500:]
            for name in ("rasa", "actions")
        )
        raise RuntimeError(f"{exc}{tails}") from exc
    return stack


@contextmanager
def running_stack(directory: Path, model: Path = MODEL) -> Iterator[tuple[RedisServer, RasaStack]]:
    """Redis and a Rasa stack on ``model`` for as long as the block runs (the benchmarks)."""
    redis = RedisServer(directory)
    redis.start()
    try:
        stack = start_rasa_stack(redis, directory, model)
        try:
            yield redis, stack
        finally:
            stack.stop()
    finally:
        redis.stop()


@contextmanager
def running_service(
    directory: Path, model: Path = MODEL, **settings: str
) -> Iterator[tuple[RasaStack, Service]]:
    """Redis, Rasa (+ actions) and the messaging service on free ports, with rate limits out
    of the way (the benchmarks and the acceptance set); ``settings`` are extra CJG_ variables."""
    with (
        running_stack(directory, model) as (redis, stack),
        service_on(stack, redis, directory, settings=settings) as service,
    ):
        yield stack, service


@contextmanager
def service_on(
    stack: RasaStack,
    redis: RedisServer,
    directory: Path,
    db: int = 0,
    settings: dict[str, str] | None = None,
) -> Iterator[Service]:
    """The messaging service on a running Rasa stack, its state in ``redis``'s database ``db``:
    for the benchmarks' smokes in the test session, which share the session's Rasa."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CJG_HOST": "127.0.0.1",
        "CJG_PORT": str(port),
        **redis.env(db),
        "CJG_RASA_URL": stack.url,
        "CJG_ACTION_SERVER_URL": stack.action_url,
        "RASA_TOKEN": stack.token,
        "CJG_PSEUDONYM_SECRET": secrets.token_hex(32),
        "CJG_CALLBACK_KEY": secrets.token_hex(32),  # callback requests on, as in production
        "CJG_CONTENT_DIR": str(ROOT / "content"),
        "CJG_RATE_PER_SENDER": "1000000",
        "CJG_RATE_PER_ADDRESS": "1000000",
        **(settings or {}),
    }
    service = Service(f"http://127.0.0.1:{port}", env, directory / "service.log")
    try:
        service.start()
        yield service
    finally:
        service.stop()


@dataclass
class Service:
    """The messaging service (``python -m bot``) as its own process."""

    url: str
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot"], cwd=ROOT, env=self.env, stdout=log, stderr=log,
                preexec_fn=die_with_parent(),
            )  # fmt: skip
        wait_until(lambda: _http_ok(self.url + "/health"), 60, "messaging service", self.process)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:  # a loaded machine: it is stopped all the same
                self.process.kill()
                self.process.wait(10)
