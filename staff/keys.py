"""The Redis keys of staff accounts, their logins and the consoles' event channel.

``handoff/keys.py`` names the ones the handoff reads too, so it stays the list of every key
the handoff touches; operators find the rest of the staff keys here.
"""

from __future__ import annotations

from collections.abc import Callable

EVENTS = "cjg:staff:events"  # pub/sub channel: what every staff console should know at once
ACCOUNTS = "cjg:staff:accounts"  # set of usernames


def around(key: Callable[[str], str]) -> tuple[str, str]:
    """A key's text before and after its id, for a Lua script that learns the id itself (from
    a hash it reads), so that the keys modules stay the one place that names keys."""
    before, _, after = key("\x00").partition("\x00")
    return before, after


def account(username: str) -> str:
    return f"cjg:staff:account:{username}"


def session(token_hash: str) -> str:
    return f"cjg:staff:session:{token_hash}"


def sessions_of(username: str) -> str:
    """Set: the session keys of one account, so a new password or a removal ends them all."""
    return f"cjg:staff:sessions:{username}"
