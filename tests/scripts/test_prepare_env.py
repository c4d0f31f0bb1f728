"""scripts/prepare-env (run by scripts/run) on a copy of the checkout: the secrets, honcho's
environment and Redis's config and data are private to the user, and the stack's Redis wants
its password."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import AuthenticationError, ResponseError

from tests.servers import ROOT, free_port, wait_until

SECRETS = (
    "RASA_TOKEN",
    "CJG_PSEUDONYM_SECRET",
    "CJG_TELEGRAM_WEBHOOK_SECRET",
    "REDIS_PASSWORD",
    "CJG_CALLBACK_KEY",
)


def checkout(tmp_path: Path) -> Path:
    copy = tmp_path / "checkout"
    (copy / "scripts").mkdir(parents=True)
    for name in ("scripts/prepare-env", "scripts/common.sh", "defaults.env"):
        shutil.copy2(ROOT / name, copy / name)
    return copy


def prepare(copy: Path) -> None:
    """As scripts/run calls it, but from a process with the usual umask (022)."""
    done = subprocess.run(
        [str(copy / "scripts" / "prepare-env")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def env_file(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if "=" in line and line[0] != "#"]
    return dict(line.split("=", 1) for line in lines)


def assert_private(var: Path) -> None:
    assert mode(var) == 0o700
    for path in var.rglob("*"):
        assert mode(path) & 0o077 == 0, f"{path.relative_to(var)} is open to others"
    for name in ("secrets.env", "stack.env", "redis.conf"):
        assert mode(var / name) == 0o600, name


def test_a_first_run_writes_private_secrets_and_config(tmp_path: Path) -> None:
    copy = checkout(tmp_path)
    prepare(copy)
    var = copy / "var"
    assert_private(var)
    assert mode(var / "redis") == 0o700
    secrets = env_file(var / "secrets.env")
    assert sorted(secrets) == sorted(SECRETS)
    assert all(len(value) == 64 for value in secrets.values())
    assert len(set(secrets.values())) == len(SECRETS)
    stack = env_file(var / "stack.env")
    assert all(stack[name] == value for name, value in secrets.items())
    conf = (var / "redis.conf").read_text()
    assert f"requirepass {secrets['REDIS_PASSWORD']}\n" in conf
    assert "maxmemory 256mb\n" in conf and "maxmemory-policy noeviction\n" in conf
    assert "\nappendonly yes\n" in conf and "\nappendfsync always\n" in conf  # docs/DURABILITY.md


def test_an_older_world_readable_checkout_is_closed_and_keeps_its_secrets(tmp_path: Path) -> None:
    """What scripts/run wrote before: var/ and Redis's data 755/644, no Redis password yet."""
    copy = checkout(tmp_path)
    var = copy / "var"
    (var / "redis" / "appendonlydir").mkdir(parents=True)
    old = "RASA_TOKEN=kept-token\nCJG_PSEUDONYM_SECRET=kept-secret\n"
    (var / "secrets.env").write_text(old)
    (var / "stack.env").write_text(old)
    (var / "redis" / "appendonlydir" / "appendonly.aof.1.incr.aof").write_text("*1\r\n")
    (var / "redis" / "dump.rdb").write_text("")
    for path in (var, *var.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    prepare(copy)
    assert_private(var)
    secrets = env_file(var / "secrets.env")
    assert (secrets["RASA_TOKEN"], secrets["CJG_PSEUDONYM_SECRET"]) == ("kept-token", "kept-secret")
    assert len(secrets["REDIS_PASSWORD"]) == 64  # added, and used from now on


def test_the_stacks_redis_refuses_a_client_without_the_password(tmp_path: Path) -> None:
    copy = checkout(tmp_path)
    port = free_port()
    (copy / "var").mkdir()
    (copy / "var" / "local.env").write_text(f"REDIS_PORT={port}\n")
    prepare(copy)
    password = env_file(copy / "var" / "secrets.env")["REDIS_PASSWORD"]
    # as the Procfile starts it; with scripts/run's umask, as honcho passes it on
    redis_server = subprocess.Popen(
        ["redis-server", "var/redis.conf"], cwd=copy, stdout=subprocess.DEVNULL, umask=0o077
    )
    try:
        stranger = Redis(port=port)
        wait_until(lambda: _listening(port), 20, "redis-server", redis_server)
        with pytest.raises((AuthenticationError, ResponseError), match=r"(?i)auth"):
            stranger.get("cjg:anything")
        with pytest.raises(AuthenticationError):
            Redis(port=port, password="guessed").ping()
        owner = Redis(port=port, password=password)
        assert owner.set("cjg:probe", "1")
        assert owner.config_get("maxmemory") == {"maxmemory": str(256 * 2**20)}
        assert owner.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        owner.bgrewriteaof()
        owner.close()
        stranger.close()
        cmdline = Path(f"/proc/{redis_server.pid}/cmdline").read_bytes()
        assert password.encode() not in cmdline
    finally:
        redis_server.terminate()
        redis_server.wait(10)
    assert_private(copy / "var")  # Redis's data files too


def _listening(port: int) -> bool:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
