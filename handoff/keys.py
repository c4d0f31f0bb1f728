"""Every Redis key the handoff uses, in one place, so operators can find and purge them (the
staff accounts, logins and console events are in staff/keys.py; those the handoff reads are
named here too).

A conversation is known by its pseudonym (``cid``); one handoff episode by a random id (``hid``).
Staff only ever see ``hid``s, never the pseudonym.
"""

from __future__ import annotations

import hashlib

# The staff keys the handoff reads too (staff/keys.py has them all).
from staff.keys import EVENTS as EVENTS
from staff.keys import account as account
from staff.keys import around as around

QUEUE = "cjg:handoff:queue"  # zset: hid -> priority score (urgent first, then oldest)
SEQUENCE = "cjg:handoff:seq"  # counter: arrival order in the queue
CLAIMS = "cjg:handoff:claims"  # zset: hid -> last staff activity (ms)
CLOSED = "cjg:handoff:closed"  # zset: hid -> closed at (ms), the history
LEFT = "cjg:handoff:left"  # zset: hid -> left at (ms), messages left outside opening hours
STATS = "cjg:handoff:stats"  # hash: running averages for the wait estimate
ROUTED = "cjg:handoff:routed"  # zset: hid -> end of its head start for matching staff (ms)
OUTBOX_NEWS = "cjg:outbox:news"  # pub/sub channel: the cid of an outbox that got a message
USER_SIGNALS = "cjg:user:signals"  # pub/sub channel: passing news for a user (staff typing)
PRESENCE = "cjg:staff:presence"  # zset: username -> last heartbeat (ms)
STATUS = "cjg:staff:status"  # hash: username -> online | away


def conversation(cid: str) -> str:
    """Hash: the conversation's state (bot, waiting, with_staff, leaving_message) and hid."""
    return f"cjg:conv:{cid}"


# Fields of the conversation hash that "je" or "u" keeps (bot/address.py).
ADDRESS_FIELD = "address"  # "je" or "u": what the parent chose
YOUTH_FIELD = "address_youth"  # "1": a youth writes; always "je"


def outbox(cid: str) -> str:
    """Stream: messages for the user that did not come as a direct reply (staff, queue news)."""
    return f"cjg:conv:{cid}:out"


def handoffs_of(cid: str) -> str:
    """Set: every hid of this conversation, so "wis mijn gesprek" can find them all."""
    return f"cjg:conv:{cid}:handoffs"


def client_message(cid: str, mid: str) -> str:
    """String "pending" or "kept": a widget message's own id (``cjg_mid``), so the same message
    sent again (after a lost acknowledgement, on another instance) is handled once."""
    return f"cjg:conv:{cid}:mid:{mid}"


def turn_lock(cid: str) -> str:
    """Lock: one user turn (or an erase) of this conversation at a time, on every instance."""
    return f"cjg:conv:{cid}:turn"


def erased(cid: str) -> str:
    """Counter: raised by every erase, so a turn still in flight finds its conversation erased.

    Keyed by a hash of the pseudonym, so what is left after "Gesprek wissen" does not name the
    conversation; it expires a few minutes later.
    """
    return "cjg:erased:" + hashlib.sha256(cid.encode()).hexdigest()[:32]


def requests_of(cid: str) -> str:
    """Set: the conversation's entries in the handoff request stream, so an erase finds them."""
    return f"cjg:conv:{cid}:requests"


def staff_typing(cid: str) -> str:
    return f"cjg:conv:{cid}:staff_typing"


def staff_reply(hid: str, staff: str, reply_id: str) -> str:
    """String: the transcript entry id of a staff reply the console sent with its own id, so
    the same reply sent again (its answer was lost) is kept once (handoff/store.py ``reply``)."""
    return f"cjg:handoff:{hid}:reply:{staff}:{reply_id}"


def record(hid: str) -> str:
    """Hash: one handoff episode: summary, times, staff member, registration, rating."""
    return f"cjg:handoff:{hid}"


def transcript(hid: str) -> str:
    """Stream: what the user, the bot and staff said during one handoff."""
    return f"cjg:handoff:{hid}:log"


# Flood limits for urgent handoffs (handoff/urgent.py). Sorted sets of times (ms), one per
# hashed conversation or client address and one for the service; they expire with the window.
URGENT_SERVICE = "cjg:urgent:service"


def urgent_window(kind: str, digest: str) -> str:
    """Zset: when this conversation (``kind`` sender) or address opened urgent handoffs."""
    return f"cjg:urgent:{kind}:{digest}"


def urgent_limited(window: int) -> str:
    """Counter: crisis messages not put in as urgent in this window (for the staff notice)."""
    return f"cjg:urgent:limited:{window}"


def api_conversation(token_hash: str) -> str:
    """String: the pseudonym (cid) of the JSON API conversation whose token hashes to this.

    Only the SHA-256 of the token is stored; it lives as long as the conversation's data
    (the retention time, renewed on each use). See bot/credentials.py.
    """
    return f"cjg:api:conversation:{token_hash}"


def widget_session(id_hash: str) -> str:
    """String: the pseudonym (cid) of a widget session id the server issued (its SHA-256)."""
    return f"cjg:widget:session:{id_hash}"


# Redis Sentinel (handoff/replication.py): the small write that acknowledged requests wait on
# until the replicas have it (WAIT counts only its own connection's writes). No personal data.
REPLICATION_MARK = "cjg:replication:mark"


# Callback requests (handoff/callbacks.py). The phone number lives only in ``callback_number``,
# encrypted, and expires after CJG_CALLBACK_NUMBER_SECONDS; it is deleted when the call is
# registered.
CALLBACK_QUEUE = "cjg:callback:queue"  # zset: callback id -> requested at (ms), not yet claimed
CALLBACK_CLAIMS = "cjg:callback:claims"  # zset: callback id -> claimed at (ms)


def callback(cbid: str) -> str:
    """Hash: one callback request: part of the day, summary, staff member; never the number."""
    return f"cjg:callback:{cbid}"


def callback_number(cbid: str) -> str:
    """String: the encrypted phone number of one callback request (AES-GCM, with a TTL)."""
    return f"cjg:callback:{cbid}:number"


def callback_pending(cid: str) -> str:
    """Hash: a callback request being asked for (step, encrypted number); short-lived."""
    return f"cjg:conv:{cid}:callback"


def callbacks_of(cid: str) -> str:
    """Set: the callback ids of this conversation, so "wis mijn gesprek" can find them."""
    return f"cjg:conv:{cid}:callbacks"
