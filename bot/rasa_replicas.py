"""Several Rasa replicas: which one a conversation talks to, and which ones are down just now.

Each conversation is pinned to one replica by rendezvous (highest random weight) hashing of its
pseudonym: every replica gets a score for the conversation and the highest wins; the others, in
falling score, are the conversation's fallbacks. Every service instance computes the same order
without talking to the others, and adding or removing one of n replicas moves only about 1/n of
the conversations (Thaler and Ravishankar, "Using name-based mappings to increase hit rates",
IEEE/ACM ToN 1998).

Why pinned at all when every replica reads the same tracker from Redis: Rasa's open-source
``RedisLockStore`` does not take its ticket atomically, so two replicas handling the same
conversation at the same time can both believe they hold the lock and overwrite each other's
tracker (RasaHQ/rasa#9213; the fix, ``ConcurrentRedisLockStore`` in RasaHQ/rasa#11256, was
reverted in #11428 and is only in Rasa Pro). With one replica per conversation, and the
service's own per-conversation turn lock (bot/turns.py) on top, no two replicas race.

The health marks are process memory on purpose: they are a cache that saves a message the wait
for a replica known to be down, not state that must survive a restart or be shared.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

DOWN_SECONDS = 10.0  # how long a failed replica is tried only after the healthy ones


def score(replica: str, key: str) -> int:
    """The replica's weight for ``key``: a stable hash (not Python's salted ``hash``), so that
    every process and every restart agrees."""
    digest = hashlib.blake2b(f"{replica}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def rendezvous_order(key: str, replicas: Sequence[str]) -> list[int]:
    """Indices of ``replicas`` for ``key``, its pinned replica first, then its fallbacks."""
    return sorted(range(len(replicas)), key=lambda i: (score(replicas[i], key), i), reverse=True)


def replica_identity(url: str) -> str:
    """What a replica is hashed by: scheme, host and port, so that a trailing slash, a path or
    a password in the URL does not move conversations. Every service instance must therefore
    name the replicas by the same host (docs/DEPLOY.md, "Several Rasa replicas")."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{parts.port or ''}"


@dataclass
class Mark:
    down_until: float = 0.0
    error: str = ""  # the kind of the last failure: an exception's name or "HTTP 5xx"


class ReplicaHealth:
    """Which replicas failed in the last ``down_seconds``: those are asked last, until the time
    is up or one of them answers again (a message or ``/health``)."""

    def __init__(
        self,
        names: Sequence[str],
        down_seconds: float = DOWN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.names = tuple(names)
        self._down_seconds = down_seconds
        self._clock = clock
        self._marks = [Mark() for _ in self.names]

    def is_down(self, index: int) -> bool:
        return self._marks[index].down_until > self._clock()

    def error(self, index: int) -> str:
        return self._marks[index].error if self.is_down(index) else ""

    def mark_down(self, index: int, error: str) -> None:
        if not self.is_down(index):
            log.warning("Rasa replica %s is down (%s)", self.names[index], error)
        self._marks[index] = Mark(self._clock() + self._down_seconds, error)

    def mark_up(self, index: int) -> None:
        if self._marks[index].error:
            log.info("Rasa replica %s answers again", self.names[index])
        self._marks[index] = Mark()

    def attempt_order(self, order: Sequence[int]) -> list[int]:
        """``order`` (a conversation's rendezvous order) with the replicas marked down moved to
        the end, each group keeping its order: the pinned replica comes back first as soon as
        its mark is gone."""
        return [i for i in order if not self.is_down(i)] + [i for i in order if self.is_down(i)]
