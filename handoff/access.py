"""Who may read a conversation's text: one rule for the staff API and the live feed.

A chat in progress is read by the staff member who has it and by admins (supervision); a colleague
sees that it exists and with whom, not what is said. Waiting chats, left messages and finished
ones are the team's: every staff member may read them (to pick one up, or to follow up).
"""

from __future__ import annotations

from common.names import CONSOLE_ROLES, StaffRole, State
from handoff.store import Handoff
from staff.accounts import Account


def may_read(account: Account, handoff: Handoff) -> bool:
    return may_read_chat(account, handoff.state, handoff.staff)


def may_read_chat(account: Account, state: str | None, staff: str | None) -> bool:
    """The same rule from a handoff's state and staff member (the live feed's events carry
    both, so each console decides without asking Redis)."""
    if account.role not in CONSOLE_ROLES or state is None:
        return False
    if account.role == StaffRole.ADMIN or state != State.WITH_STAFF:
        return True
    return staff == account.username
