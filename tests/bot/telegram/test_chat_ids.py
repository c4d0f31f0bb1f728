"""Where to push a Telegram message (bot/telegram/chat_ids.py) over a real redis-server: the
chat id kept encrypted under the conversation's pseudonym, readable only with the secret."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.telegram.chat_ids import CHAT_KEY_PREFIX, ChatIds

DB = 45  # this module's own database
CHAT = 987654321


async def test_the_chat_id_is_kept_encrypted_and_only_the_secret_reads_it(
    module_db: Redis,
) -> None:
    chat_ids = ChatIds(module_db, "test-secret", 3600)
    await chat_ids.remember("c1", CHAT)
    assert await chat_ids.lookup("c1") == CHAT
    stored = str(await module_db.get(CHAT_KEY_PREFIX + "c1"))
    assert str(CHAT) not in stored
    assert 0 < await module_db.ttl(CHAT_KEY_PREFIX + "c1") <= 3600  # the retention time
    assert await ChatIds(module_db, "another-secret", 3600).lookup("c1") is None
    assert await chat_ids.lookup("c2") is None


async def test_what_was_delivered_is_remembered_and_forgetting_removes_everything(
    module_db: Redis,
) -> None:
    chat_ids = ChatIds(module_db, "test-secret", 3600)
    await chat_ids.remember("c1", CHAT)
    marker = chat_ids.marker("c1")
    assert await marker.get() == "0-0"  # nothing yet: from the start
    await marker.set("1700000000000-3")
    assert await chat_ids.marker("c1").get() == "1700000000000-3"  # kept in Redis
    await chat_ids.forget("c1")
    assert await module_db.keys("*") == []
    assert await chat_ids.lookup("c1") is None
