"""Channel ids (a Telegram user id, a widget session) never leave the adapter as they are.

Rasa, Redis and the logs only see a keyed hash of them. Without the secret the hash cannot be
turned back into the id, and the same user on two channels gets two unrelated pseudonyms.
"""

from __future__ import annotations

import hashlib
import hmac


def pseudonymise(secret: str, channel: str, raw_id: str) -> str:
    digest = hmac.new(secret.encode(), f"{channel}:{raw_id}".encode(), hashlib.sha256)
    return f"{channel}-{digest.hexdigest()[:32]}"
