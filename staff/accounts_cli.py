"""Command line for staff accounts (run through ``scripts/staff-account``, which sets the env)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from redis.exceptions import ConnectionError as RedisConnectionError

from base.client_redis import RedisTarget, aclose_redis, redis_client
from common.names import StaffRole
from common.routing_content import routing_content, team_labels
from staff.accounts import ROLES, Account, AccountError, Accounts, check_routing
from staff.login_guard import LoginGuard


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password (at least 12 characters): ")
    if getpass.getpass("Again: ") != first:
        raise AccountError("the two passwords differ; nothing changed")
    return first


def _team(raw: str | None) -> str | None:
    """``--team``: a municipality key; "" or "none" clears it."""
    return None if raw is None or raw.strip().lower() in ("", "none", "geen") else raw.strip()


def _profile_list(raw: str | None) -> tuple[str, ...] | None:
    """``--profiles a,b``: the whole list ("" clears it); None when not given."""
    if raw is None:
        return None
    return tuple(p.strip() for p in raw.split(",") if p.strip() and p.strip() != "none")


def _describe(account: Account) -> str:
    """One account with its routing, labels as staff read them in the console."""
    teams, profiles = team_labels(), routing_content().profiles
    team = teams.get(account.team, account.team) if account.team else "-"
    names = ", ".join(profiles.get(p, p) for p in account.profiles) or "-"
    return f"{account.username}\t{account.role}\t{account.name}\tteam: {team}\tprofielen: {names}"


def _choices() -> str:
    teams = "\n".join(f"  {k}\t{v}" for k, v in team_labels().items())
    profiles = "\n".join(f"  {k}\t{v}" for k, v in routing_content().profiles.items())
    return f"Teams (--team):\n{teams}\nProfiles (--profiles, comma-separated):\n{profiles}"


async def _run(args: argparse.Namespace) -> str:
    if args.command == "choices":
        return _choices()
    redis = redis_client(RedisTarget.from_env())
    accounts = Accounts(redis)
    try:
        if args.command == "add":
            team, profiles = _team(args.team), _profile_list(args.profiles) or ()
            check_routing(team, profiles)  # before anything is stored
            await accounts.add(args.username, args.name, _password(args.password_stdin), args.role)
            if team or profiles:
                await accounts.set_routing(args.username, team, profiles)
            return f"Account '{args.username}' ({args.role}) created."
        if args.command == "set":
            if args.team is None and args.profiles is None:
                raise AccountError("give --team and/or --profiles (see 'staff-account choices')")
            current = await accounts.get(args.username)
            if current is None:
                raise AccountError(f"no account '{args.username}'")
            team = current.team if args.team is None else _team(args.team)
            changed = await accounts.set_routing(args.username, team, _profile_list(args.profiles))
            return _describe(changed)
        if args.command == "show":
            found = await accounts.get(args.username)
            if found is None:
                raise AccountError(f"no account '{args.username}'")
            return _describe(found)
        if args.command == "passwd":
            await accounts.set_password(args.username, _password(args.password_stdin))
            return f"Password of '{args.username}' changed."
        if args.command == "remove":
            if not await accounts.remove(args.username):
                raise AccountError(f"no account '{args.username}'")
            return f"Account '{args.username}' removed."
        if args.command == "unlock":
            # The username's lock and every address lock: behind a shared address (a proxy
            # without CJG_TRUSTED_PROXIES, an office) another's failures block this user too.
            lifted = await LoginGuard(redis).unlock(args.username)
            if not lifted:
                return f"'{args.username}' was not locked; failed-login counts were reset."
            return f"'{args.username}' can log in again ({lifted} lock(s) lifted)."
        rows = [_describe(a) for a in await accounts.all()]
        return "\n".join(rows) or "No accounts yet. Add one with: scripts/staff-account add ..."
    finally:
        await aclose_redis(redis)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="staff-account", description="Manage staff accounts.")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="create an account (asks for the password)")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="first name shown to parents")
    add.add_argument("--role", choices=ROLES, default=StaffRole.STAFF)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument("--team", help="local team: a municipality (see 'choices')")
    add.add_argument("--profiles", help="profiles, comma-separated (see 'choices')")
    routing = sub.add_parser("set", help="set the team and/or profiles (routing of chats)")
    routing.add_argument("username")
    routing.add_argument("--team", help="a municipality; 'none' clears it")
    routing.add_argument("--profiles", help="the whole list, comma-separated; '' clears it")
    show = sub.add_parser("show", help="show one account with its team and profiles")
    show.add_argument("username")
    sub.add_parser("choices", help="list the teams and profiles an account can have")
    passwd = sub.add_parser("passwd", help="set a new password")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true")
    remove = sub.add_parser("remove", help="delete an account")
    remove.add_argument("username")
    unlock = sub.add_parser(
        "unlock", help="lift every lock after too many failed logins (username and addresses)"
    )
    unlock.add_argument("username")
    sub.add_parser("list", help="list the accounts")
    args = parser.parse_args(argv)
    try:
        print(asyncio.run(_run(args)))
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RedisConnectionError:
        print(
            "error: Redis is not reachable; start the stack with 'make run' first.", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
