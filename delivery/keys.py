"""The Redis keys of delivery; handoff/keys.py names them too, so operators find every key there."""

from __future__ import annotations

OUTBOX_NEWS = "cjg:outbox:news"  # pub/sub channel: the cid of an outbox that got a message
USER_SIGNALS = "cjg:user:signals"  # pub/sub channel: passing news for a user (staff typing)
# Redis Sentinel (delivery/durability.py): the small write that acknowledged requests wait on
# until the replicas have it (WAIT counts only its own connection's writes). No personal data.
REPLICATION_MARK = "cjg:replication:mark"


def outbox(cid: str) -> str:
    """Stream: every reply that waits for the user's channel (bot, service, staff, queue news)."""
    return f"cjg:conv:{cid}:out"
