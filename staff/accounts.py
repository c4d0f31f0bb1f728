"""Staff accounts: argon2id password hashes in Redis, created only by the command line.

There is no default account and no default password; see ``scripts/staff-account``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis

from common.names import StaffRole
from common.routing_content import routing_content, team_labels
from staff import keys
from staff.sessions import end_sessions_of

# A StaffRole value; a plain str for callers, checked against ROLES where it enters.
Role = str
ROLES: tuple[StaffRole, ...] = tuple(StaffRole)
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD = 12

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when a username does not exist, so timing does not reveal which names exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0")


T = TypeVar("T")


class AccountError(ValueError):
    pass


class HashingBusy(RuntimeError):
    """More password checks are waiting than the service takes on; try again shortly."""


class HashPool:
    """Password hashing off the event loop, bounded: ``workers`` threads (argon2 takes a core and
    64 MiB each) and at most ``waiting`` more checks queued; beyond that ``HashingBusy`` at once.
    Apart from asyncio's default executor, so a login storm cannot hold up the file responses
    and name lookups that use it."""

    def __init__(self, workers: int = 2, waiting: int = 8) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._limit = workers + waiting
        self._in_flight = 0

    async def run(self, function: Callable[..., T], *args: str) -> T:
        if self._in_flight >= self._limit:
            raise HashingBusy
        self._in_flight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)
        finally:
            self._in_flight -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class Account:
    username: str
    name: str  # the first name parents see: "Anne van het CJG"
    role: Role
    # Routing (handoff/routing.py): the local team (a municipality key) and the profiles
    # (diepteprofielen, content/routing.yml) of this colleague; set with scripts/staff-account.
    team: str | None = None
    profiles: tuple[str, ...] = ()


def check_routing(team: str | None, profiles: tuple[str, ...]) -> None:
    """A team from content/municipalities.yml and profiles from content/routing.yml."""
    teams, known = team_labels(), routing_content().profiles
    if team is not None and team not in teams:
        raise AccountError(f"team: one of {', '.join(teams)} (or none)")
    for profile in profiles:
        if profile not in known:
            raise AccountError(f"profile '{profile}': one of {', '.join(known)}")


def _profiles(raw: str | None) -> tuple[str, ...]:
    return tuple(p for p in (raw or "").split(",") if p)


def account_from_hash(username: str, raw: dict[str, str]) -> Account | None:
    """An account from its Redis hash (None when the hash is not a valid account)."""
    if not raw or raw.get("role") not in ROLES:
        return None
    role = StaffRole(raw["role"])
    return Account(
        username, raw["name"], role, raw.get("team") or None, _profiles(raw.get("profiles"))
    )


class Accounts:
    def __init__(self, redis: Redis, pool: HashPool | None = None) -> None:
        self._redis = redis
        self.pool = pool or HashPool()

    async def add(
        self, username: str, name: str, password: str, role: Role = StaffRole.STAFF
    ) -> None:
        if not USERNAME.match(username):
            raise AccountError("username: 2-32 lowercase letters, digits, '.', '_' or '-'")
        if not name.strip() or len(name) > 40:
            raise AccountError("name: give a first name (at most 40 characters)")
        if role not in ROLES:
            raise AccountError(f"role: one of {', '.join(ROLES)}")
        self._check_password(password)
        created = await self._redis.hsetnx(keys.account(username), "hash", _hasher.hash(password))
        if not created:
            raise AccountError(f"account '{username}' exists; use 'passwd' to change its password")
        await self._redis.hset(keys.account(username), mapping={"name": name.strip(), "role": role})
        await self._redis.sadd(keys.ACCOUNTS, username)

    @staticmethod
    def _check_password(password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"password: at least {MIN_PASSWORD} characters")

    async def set_password(self, username: str, password: str) -> None:
        self._check_password(password)
        if not await self._redis.exists(keys.account(username)):
            raise AccountError(f"no account '{username}'")
        await self._redis.hset(keys.account(username), "hash", _hasher.hash(password))
        await end_sessions_of(self._redis, username)  # a stolen session ends with the password

    async def remove(self, username: str) -> bool:
        await self._redis.srem(keys.ACCOUNTS, username)
        removed = bool(await self._redis.delete(keys.account(username)))
        await end_sessions_of(self._redis, username)
        return removed

    async def get(self, username: str) -> Account | None:
        raw = cast(dict[str, str], await self._redis.hgetall(keys.account(username)))
        return account_from_hash(username, raw)

    async def set_routing(
        self, username: str, team: str | None, profiles: tuple[str, ...] | None
    ) -> Account:
        """Sets the team (None: no team) and, unless ``profiles`` is None, the profiles."""
        check_routing(team, profiles or ())
        if not await self._redis.exists(keys.account(username)):
            raise AccountError(f"no account '{username}'")
        fields = {"team": team or ""}
        if profiles is not None:
            fields["profiles"] = ",".join(dict.fromkeys(profiles))
        await self._redis.hset(keys.account(username), mapping=fields)  # type: ignore[arg-type]
        found = await self.get(username)
        assert found is not None
        return found

    async def all(self) -> list[Account]:
        names = sorted(cast(set[str], await self._redis.smembers(keys.ACCOUNTS)))
        found = [await self.get(n) for n in names]
        return [a for a in found if a is not None]

    async def verify(self, username: str, password: str) -> Account | None:
        """The account if the password is right. argon2 is slow by design: it runs in the
        bounded pool, which raises ``HashingBusy`` when too many checks wait already."""
        stored = (
            await self._redis.hget(keys.account(username), "hash")
            if USERNAME.match(username)
            else None
        )
        try:
            await self.pool.run(_hasher.verify, str(stored or _DUMMY_HASH), password)
        except (VerificationError, InvalidHashError):
            return None
        if stored is None:
            return None
        if _hasher.check_needs_rehash(str(stored)):
            rehashed = await self.pool.run(_hasher.hash, password)
            await self._redis.hset(keys.account(username), "hash", rehashed)
        return await self.get(username)
