"""A Redis Sentinel cluster for the failover tests and the local layout (cluster/layout.py): one
master, one replica and three sentinels, each a ``redis-server`` (sentinels with ``--sentinel``)
on a free loopback port.

Short timeouts (down after 1 s) so that a failover takes a few seconds. One password for the
servers and the sentinels, as in production (docs/DEPLOY.md); it is in each config file
(mode 600), never on a command line. Standard library only, so both environments can load it.
"""

from __future__ import annotations

import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers import die_with_parent, free_port, wait_until

MASTER_NAME = "cjg"
DOWN_AFTER_MS = 1000


def command(port: int, password: str, *args: str, timeout: float = 2.0) -> object:
    """Sends one command (after AUTH) and returns the parsed reply (str, int, list or None)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        words = [["AUTH", password], list(args)]
        s.sendall(b"".join(_encode(w) for w in words))
        reader = s.makefile("rb")
        auth = _read(reader)
        if auth != "OK":
            raise OSError(f"AUTH failed: {auth!r}")
        return _read(reader)


def _encode(words: list[str]) -> bytes:
    out = f"*{len(words)}\r\n".encode()
    for word in words:
        data = word.encode()
        out += f"${len(data)}\r\n".encode() + data + b"\r\n"
    return out


def _read(reader: object) -> object:
    line: bytes = reader.readline()  # type: ignore[attr-defined]
    kind, rest = line[:1], line[1:-2].decode()
    if kind == b"+":
        return rest
    if kind == b"-":
        return RuntimeError(rest)
    if kind == b":":
        return int(rest)
    if kind == b"$":
        if rest == "-1":
            return None
        data: bytes = reader.read(int(rest) + 2)  # type: ignore[attr-defined]
        return data[:-2].decode()
    if kind == b"*":
        return None if rest == "-1" else [_read(reader) for _ in range(int(rest))]
    raise OSError(f"unexpected reply {line!r}")


@dataclass
class SentinelCluster:
    directory: Path
    password: str = field(default_factory=lambda: secrets.token_hex(16))
    ports: dict[str, int] = field(default_factory=dict)  # master, replica, s1, s2, s3
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    argv: dict[str, list[str]] = field(default_factory=dict)  # how each started: to restart it

    @property
    def sentinels(self) -> list[int]:
        return [self.ports[f"s{i}"] for i in (1, 2, 3)]

    @property
    def sentinel_setting(self) -> str:
        """``CJG_REDIS_SENTINELS``."""
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinels)

    def env(self, db: int) -> dict[str, str]:
        """The service's settings: the URL gives the database only (the sentinels the server)."""
        return {
            "CJG_REDIS_URL": f"redis://127.0.0.1:1/{db}",  # host and port are not used
            "REDIS_PASSWORD": self.password,
            "CJG_REDIS_SENTINELS": self.sentinel_setting,
            "CJG_REDIS_MASTER": MASTER_NAME,
        }

    def rasa_env(self) -> dict[str, str]:
        """What endpoints.yml reads: with sentinels, REDIS_HOST and REDIS_PORT are not used."""
        return {
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": str(self.ports["master"]),
            "REDIS_PASSWORD": self.password,
            "CJG_REDIS_SENTINELS": self.sentinel_setting,
            "CJG_REDIS_MASTER": MASTER_NAME,
        }

    def _start(self, name: str, conf: str, *extra: str) -> None:
        path = self.directory / f"{name}.conf"
        path.touch(mode=0o600)
        path.write_text(conf)
        self.argv[name] = ["redis-server", str(path), *extra]
        self._launch(name)

    def _launch(self, name: str) -> None:
        with (self.directory / f"{name}.log").open("ab") as log:
            # umask: a sentinel rewrites its config file (with the password) as a new file.
            self.processes[name] = subprocess.Popen(
                self.argv[name], stdout=log, stderr=log, umask=0o077,
                preexec_fn=die_with_parent(),
            )  # fmt: skip

    def kill(self, name: str) -> None:
        """SIGKILL to one of master, replica, s1, s2, s3 (by the name it started with)."""
        process = self.processes[name]
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(5)

    def restart(self, name: str) -> None:
        """Starts ``name`` again on its port with its config file (a sentinel's as it rewrote
        it; a former master is made a replica by the sentinels) and waits until it answers."""
        if self.processes[name].poll() is None:
            self.processes[name].terminate()
            self.processes[name].wait(10)
        self._launch(name)
        port = self.ports[name]
        wait_until(lambda: command(port, self.password, "PING") == "PONG", 30, f"redis {name}",
                   self.processes[name])  # fmt: skip

    def _server_conf(self, name: str) -> str:
        data = self.directory / name
        data.mkdir(mode=0o700, exist_ok=True)
        return (
            f"port {self.ports[name]}\nbind 127.0.0.1\ndir {data}\nappendonly yes\n"
            f'save ""\nrequirepass {self.password}\nmasterauth {self.password}\n'
            "maxmemory-policy noeviction\ndatabases 32\n"
        )

    def start(self) -> None:
        for name in ("master", "replica", "s1", "s2", "s3"):
            self.ports[name] = free_port()
        master = self.ports["master"]
        self._start("master", self._server_conf("master"))
        self._start("replica", self._server_conf("replica") + f"replicaof 127.0.0.1 {master}\n")
        for name in ("s1", "s2", "s3"):
            self._start(
                name,
                f"port {self.ports[name]}\nbind 127.0.0.1\ndir {self.directory}\n"
                f"requirepass {self.password}\nsentinel sentinel-pass {self.password}\n"
                f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master} 2\n"
                f"sentinel auth-pass {MASTER_NAME} {self.password}\n"
                f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {MASTER_NAME} 4000\n"
                f"sentinel parallel-syncs {MASTER_NAME} 1\n",
                "--sentinel",
            )
        wait_until(self._ready, 30, "the Sentinel cluster", self.processes["master"])

    def _ready(self) -> bool:
        role = command(self.ports["replica"], self.password, "INFO", "replication")
        if "master_link_status:up" not in str(role):
            return False
        for port in self.sentinels:  # each sees the master, the replica and the other two
            info = command(port, self.password, "SENTINEL", "master", MASTER_NAME)
            fields = dict(zip(info[::2], info[1::2], strict=True))  # type: ignore[index]
            if fields.get("num-slaves") != "1" or fields.get("num-other-sentinels") != "2":
                return False
        return True

    def master_port(self) -> int:
        """The master's port as the sentinels name it now."""
        reply = command(self.sentinels[0], self.password, "SENTINEL", "get-master-addr-by-name",
                        MASTER_NAME)  # fmt: skip
        return int(reply[1])  # type: ignore[index]

    def kill_master(self) -> None:
        """SIGKILL to the current master: no shutdown, no last write to disk."""
        port = self.master_port()
        self.kill(next(n for n in ("master", "replica") if self.ports[n] == port))

    def wait_for_failover(self, old_port: int, timeout: float = 30) -> int:
        """Waits until the sentinels name another master and it takes writes; its port."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                port = self.master_port()
                if port != old_port and command(port, self.password, "ROLE") is not None:
                    role = command(port, self.password, "ROLE")
                    if isinstance(role, list) and role[0] == "master":
                        return port
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"no failover within {timeout:.0f}s")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
