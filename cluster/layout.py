"""The production layout on loopback (issue #18): nginx with the production site and a
self-signed certificate in front of several service instances, several Rasa replicas sharing one
action server, and Redis with a replica and three sentinels. For ``make cluster``, the cluster
tests and the benchmarks; each part is a real process that can be killed and restarted.

Standard library only (redis-py only in ``Layout.redis``), so both environments can load it.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from cluster import nginx
from cluster.sentinel import MASTER_NAME, SentinelCluster
from tests.servers import (
    MODEL,
    ROOT,
    RasaStack,
    RedisServer,
    actions_argv,
    die_with_parent,
    free_port,
    rasa_argv,
    rasa_env,
    wait_until,
)

if TYPE_CHECKING:
    # The Rasa env's redis-py (which tests/assistant reaches through cluster/) has no types.
    import redis as redis_py  # type: ignore[import-untyped,unused-ignore]

# What the redis parts are called here, and in cluster/sentinel.py.
SENTINEL_PARTS = {"redis-master": "master", "redis-replica": "replica",
                  "sentinel1": "s1", "sentinel2": "s2", "sentinel3": "s3"}  # fmt: skip
# Measured on the 2-core development machine with other tests running: one Rasa replica came up
# after 130-180 s, two together after 200-240 s (they share the cores); less on an idle machine.
RASA_FIRST_SECONDS, RASA_MORE_SECONDS = 160, 80


def _answers(url: str, context: ssl.SSLContext | None = None) -> bool:
    """JSON counts, a 503 of /health too: the process is up and serving. Anything else (nginx's
    502 while no instance is up yet) does not."""
    try:
        with urllib.request.urlopen(url, timeout=3, context=context) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _responds(url: str, context: ssl.SSLContext | None = None) -> bool:
    """Any HTTP answer (nginx: its 502 while the instances start)."""
    try:
        with urllib.request.urlopen(url, timeout=3, context=context):
            return True
    except urllib.error.HTTPError:
        return True


def _healthy(url: str, context: ssl.SSLContext | None = None) -> bool:
    """/health says 200: every component (Redis, each Rasa replica, the action server) is up."""
    try:
        with urllib.request.urlopen(url, timeout=3, context=context) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError:
        return False


@dataclass
class Process:
    """One part: how it starts, where it logs and how to tell it serves. Its own session, so
    a Ctrl-C in the terminal reaches only ``python -m cluster``, which stops the parts in
    order."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    ready: Callable[[], bool]
    timeout: float
    popen: subprocess.Popen[bytes] | None = None
    started: float = 0.0

    def launch(self) -> None:
        self.log.touch(mode=0o600)
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv, cwd=ROOT, env=self.env, stdout=out, stderr=out,
                start_new_session=True, umask=0o077, preexec_fn=die_with_parent(),
            )  # fmt: skip
        self.started = time.monotonic()

    def wait_ready(self) -> None:
        """Raises RuntimeError with the tail of its log when it exits or does not come up."""
        while not self.is_ready():
            time.sleep(0.3)

    def is_ready(self) -> bool:
        """One look; RuntimeError with the tail of its log when it exited or took too long."""
        assert self.popen is not None
        if self.popen.poll() is not None:
            self._fail(f"{self.name} exited with code {self.popen.returncode}")
        try:
            if self.ready():
                return True
        except OSError:
            pass
        if time.monotonic() - self.started > self.timeout:
            self._fail(f"{self.name} did not come up within {self.timeout:.0f} s")
        return False

    def _fail(self, what: str) -> None:
        tail = self.log.read_text(errors="replace")[-1500:]
        raise RuntimeError(f"{what}; the end of {self.log}:\n{tail}")

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        if self.popen is not None and self.running():
            self.popen.send_signal(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(10)

    def stop(self) -> None:
        """Asks it to stop; kills it after 30 s (Rasa on a loaded machine can take 20 s)."""
        if self.popen is None or not self.running():
            return
        self.popen.send_signal(signal.SIGCONT)  # a frozen part would never see the TERM
        self.popen.terminate()
        try:
            self.popen.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Layout:
    """Everything on loopback under ``directory`` (mode 700; secrets in files of mode 600).
    ``sentinels=False`` runs one plain redis-server instead (the "one of each" baseline);
    ``settings`` are extra CJG_ variables for every service instance (rate limits, content).
    ``rasa``: a Rasa stack that already runs (the test session's), used instead of starting
    replicas and an action server (the tests that are not about Rasa save its start)."""

    directory: Path
    instances: int = 2
    rasa_replicas: int = 2
    sentinels: bool = True
    model: Path = MODEL
    settings: dict[str, str] = field(default_factory=dict)
    rasa: RasaStack | None = None
    url: str = field(init=False, default="")  # https://127.0.0.1:<port> of nginx
    ca_file: Path = field(init=False, default=Path())
    env: dict[str, str] = field(init=False, default_factory=dict)  # what a client needs
    ports: dict[str, int] = field(init=False, default_factory=dict)  # web1, rasa1, nginx, ...
    _processes: dict[str, Process] = field(init=False, default_factory=dict)
    _cluster: SentinelCluster | None = field(init=False, default=None)
    _server: RedisServer | None = field(init=False, default=None)

    @property
    def parts(self) -> list[str]:
        redis = list(SENTINEL_PARTS) if self.sentinels else ["redis-master"]
        rasa = [] if self.rasa else [*(f"rasa{i}" for i in range(1, self.rasa_replicas + 1)),
                                     "actions"]  # fmt: skip
        return [*(f"web{i}" for i in range(1, self.instances + 1)), *rasa, *redis, "nginx"]

    @property
    def env_file(self) -> Path:
        """``env`` as a file (mode 600) for scripts/staff-account (CJG_STACK_ENV)."""
        return self.directory / "stack.env"

    def instance_url(self, part: str) -> str:
        """A service instance's own address (not through nginx), e.g. for its /health."""
        return f"http://127.0.0.1:{self.ports[part]}"

    def log(self, part: str) -> Path:
        return self.directory / f"{part}.log"

    def context(self) -> ssl.SSLContext:
        """TLS that trusts this layout's certificate only."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def start(self, progress: Callable[[str], None] = print) -> None:
        """Starts every part, Redis first and then the rest at once; returns when /health
        through nginx says 200. Stops what it started and raises RuntimeError (with the end of
        the failing part's log) when a part does not come up."""
        if not self.model.exists():
            raise FileNotFoundError(
                f"No trained model at {self.model}: run make run or scripts/train first."
            )
        began = time.monotonic()
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        try:
            self._start(progress, began)
        except BaseException:
            progress("Stopping what started ...")
            self.stop()
            raise
        progress(f"All {len(self.parts)} parts are up after {time.monotonic() - began:.0f} s.")

    def _start(self, progress: Callable[[str], None], began: float) -> None:
        for part in self.parts:
            self.ports[part] = free_port()
        self.ports["nginx-http"] = free_port()
        self.url = f"https://127.0.0.1:{self.ports['nginx']}"
        if self.sentinels:
            progress("Starting Redis: a master, a replica and 3 sentinels (a few seconds) ...")
            self._cluster = SentinelCluster(self._subdirectory("redis"))
            self._cluster.start()
            redis_env, service_redis = self._cluster.rasa_env(), self._cluster.env(0)
            # The servers' own ports, so a client can tell which part is the master now.
            self.ports.update({part: self._cluster.ports[name]
                               for part, name in SENTINEL_PARTS.items()})  # fmt: skip
        else:
            progress("Starting one redis-server ...")
            self._server = RedisServer(self._subdirectory("redis"))
            self._server.start()
            redis_env, service_redis = self._server.rasa_env(), self._server.env(0)
            self.ports["redis-master"] = self._server.port
        progress(f"Redis is up ({time.monotonic() - began:.0f} s).")

        if self.rasa is None:
            token = secrets.token_hex(24)
            rasa_urls = [f"http://127.0.0.1:{self.ports[f'rasa{i}']}"
                         for i in range(1, self.rasa_replicas + 1)]  # fmt: skip
            action_url = f"http://127.0.0.1:{self.ports['actions']}"
        else:
            token, rasa_urls, action_url = self.rasa.token, [self.rasa.url], self.rasa.action_url
        self.env = {
            **service_redis,
            "CJG_RASA_URL": rasa_urls[0],
            "CJG_RASA_URLS": ",".join(rasa_urls) if len(rasa_urls) > 1 else "",
            "CJG_ACTION_SERVER_URL": action_url,
            "RASA_TOKEN": token,
            "CJG_PSEUDONYM_SECRET": secrets.token_hex(32),
            "CJG_CALLBACK_KEY": secrets.token_hex(32),
            "CJG_CONTENT_DIR": str(ROOT / "content"),
            # nginx connects from loopback; nobody else reaches the instances' ports.
            "CJG_TRUSTED_PROXIES": "127.0.0.1,::1",
            "CJG_SECURE_COOKIES": "true",
            "CJG_PUBLIC_URL": self.url,
            **self.settings,
        }
        self.env_file.touch(mode=0o600)
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in self.env.items()))

        if self.rasa is None:
            rasa = rasa_env(redis_env, self.ports["actions"], token)
            self._add("actions", actions_argv(self.ports["actions"]), rasa,
                      lambda: _answers(f"{action_url}/health"), 180)  # fmt: skip
            for i, url in enumerate(rasa_urls, start=1):
                status = partial(_answers, f"{url}/status?token={token}")
                self._add(f"rasa{i}", rasa_argv(self.ports[f"rasa{i}"], self.model), rasa,
                          status, 600)  # fmt: skip
        for i in range(1, self.instances + 1):
            part = f"web{i}"
            env = {**os.environ, "PYTHONPATH": str(ROOT), **self.env,
                   "CJG_HOST": "127.0.0.1", "CJG_PORT": str(self.ports[part])}  # fmt: skip
            health = partial(_answers, f"{self.instance_url(part)}/health")
            self._add(part, [sys.executable, "-m", "bot"], env, health, 90)
        self._add_nginx()

        if self.rasa is None:
            progress(
                f"Starting the action server, {self.rasa_replicas} Rasa replica(s), "
                f"{self.instances} service instance(s) and nginx at once; Rasa loads its model "
                f"in about {RASA_FIRST_SECONDS + RASA_MORE_SECONDS * (self.rasa_replicas - 1)} s "
                "on 2 busy cores (less when they are idle) ..."
            )
        else:
            progress(f"Starting {self.instances} service instance(s) and nginx ...")
        for process in self._processes.values():
            process.launch()
        waiting = list(self._processes.values())
        said = time.monotonic()
        while waiting:
            for process in [p for p in waiting if p.is_ready()]:
                waiting.remove(process)
                progress(f"{process.name} is up ({time.monotonic() - began:.0f} s).")
            if waiting and time.monotonic() - said >= 30:
                names = ", ".join(p.name for p in waiting)
                progress(f"Still starting: {names} ({time.monotonic() - began:.0f} s so far).")
                said = time.monotonic()
            time.sleep(0.5)
        proxy = self._processes["nginx"].popen
        assert proxy is not None
        wait_until(lambda: _healthy(f"{self.url}/health", self.context()), 120,
                   "/health through nginx", proxy)  # fmt: skip

    def _subdirectory(self, name: str) -> Path:
        path = self.directory / name
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def _add(self, name: str, argv: list[str], env: dict[str, str], ready: Callable[[], bool],
             timeout: float) -> None:  # fmt: skip
        self._processes[name] = Process(name, argv, env, self.log(name), ready, timeout)

    def _add_nginx(self) -> None:
        directory = self._subdirectory("nginx")
        upstreams = [f"127.0.0.1:{self.ports[f'web{i}']}" for i in range(1, self.instances + 1)]
        conf = nginx.write_config(directory, upstreams, self.ports["nginx"],
                                  self.ports["nginx-http"])  # fmt: skip
        nginx.check(conf)
        self.ca_file = directory / "chat.crt"
        health = f"{self.url}/health"
        self._add("nginx", nginx.argv(conf), dict(os.environ),
                  lambda: _responds(health, self.context()), 30)  # fmt: skip

    def current_master(self) -> str:
        """The redis part that is master now, as the sentinels say ("redis-master" and
        "redis-replica" name the processes as they started; a failover swaps their roles)."""
        if self._cluster is None:
            return "redis-master"
        port = self._cluster.master_port()
        return next(part for part, name in SENTINEL_PARTS.items()
                    if self._cluster.ports[name] == port)  # fmt: skip

    def kill(self, part: str) -> None:
        """SIGKILL: no clean shutdown, no last write."""
        if part in self._processes:
            self._processes[part].kill()
        elif self._cluster is not None and part in SENTINEL_PARTS:
            self._cluster.kill(SENTINEL_PARTS[part])
        elif self._server is not None and part == "redis-master" and self._server.process:
            self._server.process.kill()
            self._server.process.wait(10)
        else:
            raise KeyError(f"{part!r} is not a part of this layout: {', '.join(self.parts)}")

    def restart(self, part: str) -> None:
        """Starts ``part`` again on the same port with the same settings (stopping it first if
        it still runs) and waits until it serves."""
        if part in self._processes:
            self._processes[part].stop()
            self._processes[part].launch()
            self._processes[part].wait_ready()
        elif self._cluster is not None and part in SENTINEL_PARTS:
            self._cluster.restart(SENTINEL_PARTS[part])
        elif self._server is not None and part == "redis-master":
            self._server.stop()
            self._server.start()
        else:
            raise KeyError(f"{part!r} is not a part of this layout: {', '.join(self.parts)}")

    def pid(self, part: str) -> int | None:
        """The process id of a running part (None when it is not running)."""
        if part in self._processes:
            popen = self._processes[part].popen
        elif self._cluster is not None and part in SENTINEL_PARTS:
            popen = self._cluster.processes.get(SENTINEL_PARTS[part])
        else:
            popen = self._server.process if self._server is not None else None
        return popen.pid if popen is not None and popen.poll() is None else None

    def redis(self, db: int = 0) -> redis_py.Redis:
        """A redis-py client of the current master (through the sentinels when they run)."""
        import redis as redis_py  # type: ignore[import-untyped,unused-ignore]
        from redis.sentinel import Sentinel  # type: ignore[import-untyped,unused-ignore]

        if self._cluster is not None:
            sentinel = Sentinel(  # type: ignore[no-untyped-call,unused-ignore]
                [("127.0.0.1", port) for port in self._cluster.sentinels],
                sentinel_kwargs={"password": self._cluster.password},
                password=self._cluster.password,
            )
            client: redis_py.Redis = sentinel.master_for(  # type: ignore[no-untyped-call,unused-ignore]
                MASTER_NAME, db=db, decode_responses=True
            )
            return client
        assert self._server is not None, "the layout is not started"
        return redis_py.Redis.from_url(self._server.url(db), decode_responses=True)

    def stop(self) -> None:
        """Stops everything it started, the proxy first and Redis last; safe to call twice."""
        for name in ["nginx", *(n for n in self.parts if n.startswith("web")), "actions"]:
            if name in self._processes:
                self._processes[name].stop()
        for name, process in self._processes.items():  # the Rasa replicas, together
            if name.startswith("rasa") and process.running():
                assert process.popen is not None
                process.popen.send_signal(signal.SIGCONT)
                process.popen.terminate()
        for process in self._processes.values():
            process.stop()
        if self._cluster is not None:
            self._cluster.stop()
        if self._server is not None:
            self._server.stop()
