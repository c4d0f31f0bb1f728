"""Command line for staff accounts (run through ``scripts/staff-account``, which sets the env)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from redis.exceptions import ConnectionError as RedisConnectionError

from bot.client_redis import RedisTarget, aclose_redis, redis_client
from handoff.accounts import ROLES, AccountError, Accounts
from handoff.login_guard import LoginGuard


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password (at least 12 characters): ")
    if getpass.getpass("Again: ") != first:
        raise AccountError("the two passwords differ; nothing changed")
    return first


async def _run(args: argparse.Namespace) -> str:
    redis = redis_client(RedisTarget.from_env())
    accounts = Accounts(redis)
    try:
        if args.command == "add":
            await accounts.add(args.username, args.name, _password(args.password_stdin), args.role)
            return f"Account '{args.username}' ({args.role}) created."
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
        rows = [f"{a.username}\t{a.role}\t{a.name}" for a in await accounts.all()]
        return "\n".join(rows) or "No accounts yet. Add one with: scripts/staff-account add ..."
    finally:
        await aclose_redis(redis)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="staff-account", description="Manage staff accounts.")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="create an account (asks for the password)")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="first name shown to parents")
    add.add_argument("--role", choices=ROLES, default="staff")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
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
