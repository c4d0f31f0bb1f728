"""Staff accounts: argon2id hashes, no defaults, and the command line that creates them."""

from __future__ import annotations

import subprocess
import sys

import pytest
from redis.asyncio import Redis

from staff import keys
from staff.accounts import AccountError, Accounts
from tests.conftest import RedisServer
from tests.staff.conftest import CLI_DB, ROOT


async def test_passwords_are_stored_as_argon2id_hashes(redis: Redis) -> None:
    accounts = Accounts(redis)
    await accounts.add("anne", "Anne", "een-lang-wachtwoord")
    stored = await redis.hget(keys.account("anne"), "hash")
    assert str(stored).startswith("$argon2id$")
    assert "een-lang-wachtwoord" not in str(await redis.hgetall(keys.account("anne")))
    assert await accounts.verify("anne", "een-lang-wachtwoord") is not None
    assert await accounts.verify("anne", "fout-wachtwoord-12") is None
    assert await accounts.verify("niemand", "een-lang-wachtwoord") is None


async def test_weak_or_duplicate_accounts_are_refused(redis: Redis) -> None:
    accounts = Accounts(redis)
    with pytest.raises(AccountError, match="12"):
        await accounts.add("anne", "Anne", "kort")
    with pytest.raises(AccountError, match="username"):
        await accounts.add("Anne Smit", "Anne", "een-lang-wachtwoord")
    await accounts.add("anne", "Anne", "een-lang-wachtwoord")
    with pytest.raises(AccountError, match="exists"):
        await accounts.add("anne", "Anne", "nog-een-lang-wachtwoord")


def test_the_command_line_creates_and_lists_accounts(redis_server: RedisServer) -> None:
    env = {**redis_server.env(CLI_DB), "PATH": ""}
    run = [sys.executable, "-m", "staff.accounts_cli"]

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*run, *args], input=stdin, capture_output=True, text=True, env=env, cwd=ROOT
        )

    cli("remove", "carla")
    added = cli(
        "add", "carla", "--name", "Carla", "--password-stdin", stdin="een-lang-wachtwoord\n"
    )
    assert added.returncode == 0, added.stderr
    listed = cli("list")
    assert "carla\tstaff\tCarla" in listed.stdout
    short = cli("passwd", "carla", "--password-stdin", stdin="kort\n")
    assert short.returncode == 2 and "at least 12" in short.stderr
