from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import pytest
import yaml
from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request
from redis.asyncio import Redis

from bot import Settings, create_app
from bot.app_keys import REDIS
from common.content import service_messages
from common.handoff_payload import HandoffRequest
from common.names import Reason
from delivery.outbox import Outbox
from delivery.write import Delivery
from handoff.hours import OpeningHours, OpeningHoursFile
from handoff.presence import Presence
from handoff.service import HandoffService, Timing
from handoff.store import HandoffStore
from staff.accounts import Account
from tests.bot.conftest import ClientFactory
from tests.chromium import browser as browser  # the browser tests' Chromium
from tests.conftest import RedisServer, free_port
from tests.redis_db import fresh_db

ROOT = Path(__file__).resolve().parents[2]
TEST_DB = 3  # apart from the Rasa stack's database 0; flushed before each test

ANNE = Account("anne", "Anne", "staff")
BRAM = Account("bram", "Bram", "staff")


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    async with fresh_db(redis_server, TEST_DB) as client:
        yield client


@pytest.fixture
def store(redis: Redis) -> HandoffStore:
    return HandoffStore(redis, retention_seconds=3600)


def hours_from(weekly: dict[str, list[str]]) -> OpeningHours:
    spec = yaml.safe_load((ROOT / "content" / "opening_hours.yml").read_text())
    spec["weekly"] = weekly
    return OpeningHours(OpeningHoursFile(**spec))


DAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
ALWAYS = {d: ["00:00", "23:59:59"] for d in DAYS}
NEVER: dict[str, list[str]] = {}


def make_service(
    redis: Redis,
    *,
    open_hours: bool = True,
    silent_seconds: float = 600,
    presence_s: float = 45,
    outbox: Outbox | None = None,
) -> HandoffService:
    hours = hours_from(ALWAYS if open_hours else NEVER)
    return HandoffService(
        redis,
        service_messages(),
        Presence(redis, presence_s),
        lambda: hours,
        Timing(silent_seconds=silent_seconds, retention_seconds=3600),
        delivery=Delivery(redis, outbox) if outbox else None,
    )


# A chat before the handoff, and the request that starts it (the service tests share them).
HISTORY: list[Any] = [
    ("user", "mijn dochter van 9 wil niet naar school"),
    ("bot", "Wat lastig."),
    ("user", "ik wil een medewerker"),
    ("bot", "Ik geef je vraag door aan een medewerker."),
]
REQUEST = HandoffRequest(
    Reason.ASK_HUMAN,
    context={"child_age": "9", "municipality": "haarlem", "topic": "schoolweigering"},
)


async def online(service: HandoffService, *names: str) -> None:
    for name in names:
        await service.heartbeat(name)


async def texts(redis: Redis, cid: str) -> list[str]:
    """What the user's outbox holds (the channels read it; the service only writes it)."""
    return [m["text"] for _, m in await Outbox(redis, 3600).read(cid)]


@pytest.fixture
def service(redis: Redis) -> HandoffService:
    return make_service(redis)


def content_copy(directory: Path, weekly: dict[str, list[str]]) -> Path:
    """A copy of content/ with other opening hours, for CJG_CONTENT_DIR."""
    import shutil

    target = directory / "content"
    shutil.copytree(ROOT / "content", target)
    path = target / "opening_hours.yml"
    spec = yaml.safe_load(path.read_text())
    spec["weekly"] = weekly
    path.write_text(yaml.safe_dump(spec, allow_unicode=True))
    return target


StaffClient = TestClient[Request, Application]


async def service_client(
    aiohttp_client: ClientFactory,
    redis_server: RedisServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    db: int,
    **settings: Any,
) -> StaffClient:
    """The whole service in-process on Redis database ``db`` (flushed), open all week. No Rasa:
    the handoffs these tests need start in the service itself."""
    monkeypatch.setenv("CJG_CONTENT_DIR", str(content_copy(tmp_path, ALWAYS)))
    client = await aiohttp_client(
        create_app(
            Settings(
                redis_url=redis_server.url(db),
                rasa_url=f"http://127.0.0.1:{free_port()}",  # not needed here
                rasa_token="t" * 32,
                pseudonym_secret="s" * 32,
                **settings,
            )
        )
    )
    await client.app[REDIS].flushdb()
    return client


class StaffService(Protocol):
    async def __call__(self, db: int, **settings: Any) -> StaffClient: ...


@pytest.fixture
def staff_service(
    aiohttp_client: ClientFactory,
    redis_server: RedisServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> StaffService:
    """``service_client`` for a test module's own fixture: ``await staff_service(DB, ...)``
    (the module adds its accounts)."""

    async def start(db: int, **settings: Any) -> StaffClient:
        return await service_client(
            aiohttp_client, redis_server, tmp_path, monkeypatch, db, **settings
        )

    return start
