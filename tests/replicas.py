"""A Redis master with one replica (connected at run time, as Sentinel's set-up would), for the
tests of what waits for replicas (delivery/durability.py, delivery/durability.py)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from redis.asyncio import Redis

from tests.servers import RedisServer


@asynccontextmanager
async def master_and_replica(directory: Path) -> AsyncIterator[tuple[RedisServer, RedisServer]]:
    """Both servers running and the replica in sync; ``replica.process`` may be frozen with
    SIGSTOP in the test (it is thawed before both stop)."""
    servers = [RedisServer(directory / name) for name in ("master", "replica")]
    for server in servers:
        server.directory.mkdir()
        server.start()
    master_server, replica_server = servers
    master = Redis.from_url(master_server.url(0), decode_responses=True)
    replica = Redis.from_url(replica_server.url(0), decode_responses=True)
    try:
        await master.config_set("repl-diskless-sync-delay", 0)  # the first sync at once
        await replica.config_set("masterauth", master_server.password)
        await replica.replicaof("127.0.0.1", master_server.port)
        for _ in range(100):
            seen = await master.info("replication")
            # "online" on the master's side too: a replica still syncing is not in ROLE's
            # list, and a wait for replicas would then count none (delivery/durability.py).
            if (
                seen["connected_slaves"] == 1
                and "online" in str(seen.get("slave0"))
                and (await replica.info("replication"))["master_link_status"] == "up"
            ):
                break
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError("the replica did not connect to the master within 10 s")
        yield master_server, replica_server
    finally:
        if replica_server.process is not None:
            replica_server.process.send_signal(signal.SIGCONT)
        await master.aclose()
        await replica.aclose()
        for server in servers:
            server.stop()
