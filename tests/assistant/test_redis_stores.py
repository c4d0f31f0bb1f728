"""Rasa's tracker and lock store follow a Redis failover (assistant/redis_stores.py), built from
endpoints.yml as Rasa builds them, against a real Sentinel cluster whose master is killed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa.core.lock_store import LockStore as RasaLockStore
from rasa.core.tracker_store import TrackerStore as RasaTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

from assistant.redis_stores import LockStore, TrackerStore
from cluster.sentinel import SentinelCluster
from tests.servers import ROOT

pytestmark = pytest.mark.cluster


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SentinelCluster]:
    cluster = SentinelCluster(tmp_path)
    try:
        cluster.start()
        # What endpoints.yml reads (REDIS_HOST/PORT name a server that is not there: with
        # sentinels they are not used) and the two Sentinel settings.
        monkeypatch.setenv("REDIS_HOST", "127.0.0.1")
        monkeypatch.setenv("REDIS_PORT", "1")
        monkeypatch.setenv("REDIS_PASSWORD", cluster.password)
        monkeypatch.setenv("TRACKER_TTL_SECONDS", "3600")
        monkeypatch.setenv("ACTION_PORT", "1")
        monkeypatch.setenv("CJG_REDIS_SENTINELS", cluster.sentinel_setting)
        monkeypatch.setenv("CJG_REDIS_MASTER", "cjg")
        yield cluster
    finally:
        cluster.stop()


def test_tracker_and_lock_store_find_the_new_master(cluster: SentinelCluster) -> None:
    endpoints = ROOT / "endpoints.yml"
    domain = Domain.empty()
    trackers = RasaTrackerStore.create(
        read_endpoint_config(str(endpoints), "tracker_store"), domain
    )
    locks = RasaLockStore.create(read_endpoint_config(str(endpoints), "lock_store"))
    store = getattr(trackers, "_tracker_store", trackers)  # Rasa wraps it (AwaitableTrackerStore)
    assert isinstance(store, TrackerStore) and isinstance(locks, LockStore)

    async def say(text: str) -> list[str | None]:
        tracker = await trackers.get_or_create_tracker("failover-1")
        tracker.update(UserUttered(text))
        async with locks.lock("failover-1", lock_lifetime=5):
            await trackers.save(tracker)
        saved = await trackers.retrieve("failover-1")
        assert isinstance(saved, DialogueStateTracker)
        return [e.text for e in saved.events if isinstance(e, UserUttered)]

    assert asyncio.run(say("voor")) == ["voor"]
    old = cluster.master_port()
    cluster.kill_master()
    new = cluster.wait_for_failover(old)
    deadline, said = time.monotonic() + 10, None
    while said is None:  # the first command after the kill may meet the dead master once
        try:
            said = asyncio.run(say("na"))
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    assert said == ["voor", "na"]  # the replica had the first turn; the second went to it
    assert store.red.connection_pool.master_address == ("127.0.0.1", new)
