"""The client's address behind a reverse proxy (bot/client_address.py): the rules, the service
through aiohttp's test client, and the real thing through Debian's nginx on loopback.

No Rasa is needed: the message limits are checked before Rasa, which is left unreachable here
(a message within the limits gets the friendly "not reachable" reply, status 200).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp.test_utils import TestServer

from bot import Settings, create_app
from bot.app_keys import REDIS
from bot.client_address import counted_as, resolve
from bot.config import ConfigError
from staff.web_keys import ACCOUNTS
from tests.bot.conftest import ClientFactory
from tests.conftest import RedisServer, free_port
from tests.nginx import UPSTREAM_SOURCE, Nginx

PROXY = (ip_network("10.0.0.0/24"), ip_network("2001:db8:ffff::1"))
TEST_DB = 14  # flushed by each test here; see docs/DEVELOPMENT.md
PASSWORD = "een-lang-wachtwoord-123"


def test_a_forwarding_header_counts_only_from_a_trusted_proxy() -> None:
    chain = ["198.51.100.7"]
    assert str(resolve("203.0.113.5", chain, PROXY)) == "203.0.113.5"  # a stranger's header
    assert str(resolve("203.0.113.5", chain, ())) == "203.0.113.5"  # nothing trusted (default)
    assert str(resolve("10.0.0.9", chain, PROXY)) == "198.51.100.7"
    assert str(resolve("2001:db8:ffff::1", chain, PROXY)) == "198.51.100.7"


def test_the_chain_is_walked_from_the_right_skipping_trusted_hops() -> None:
    # The client made up the two leftmost entries; our proxies appended the last two.
    chain = ["1.1.1.1", "8.8.8.8", "198.51.100.7", "10.0.0.4"]
    assert str(resolve("10.0.0.9", chain, PROXY)) == "198.51.100.7"
    every_hop_trusted = ["10.0.0.3", "10.0.0.4"]
    assert str(resolve("10.0.0.9", every_hop_trusted, PROXY)) == "10.0.0.3"
    # An unreadable hop: nothing left of it is believed; the last proxy is the client.
    assert str(resolve("10.0.0.9", ["198.51.100.7", "unknown"], PROXY)) == "10.0.0.9"
    # RFC 7239 forms: ports, brackets, quotes.
    assert str(resolve("10.0.0.9", ['"[2001:db8:1::5]:4711"'], PROXY)) == "2001:db8:1::5"
    assert str(resolve("10.0.0.9", ["198.51.100.7:4711"], PROXY)) == "198.51.100.7"
    assert resolve(None, chain, PROXY) is None  # a Unix socket


def test_ipv6_clients_count_per_64() -> None:
    one = resolve("2001:db8:1:2::a", [], ())
    same_64 = resolve("2001:db8:1:2:ffff::b", [], ())
    other = resolve("2001:db8:1:3::a", [], ())
    assert one is not None and same_64 is not None and other is not None
    assert counted_as(one) == counted_as(same_64) == "2001:db8:1:2::/64"
    assert counted_as(other) != counted_as(one)
    mapped = resolve("::ffff:192.0.2.1", [], ())
    assert mapped is not None and counted_as(mapped) == "192.0.2.1"


def test_trusted_proxies_are_read_and_checked() -> None:
    env = {"RASA_TOKEN": "t" * 32, "CJG_PSEUDONYM_SECRET": "s" * 32}
    assert Settings.from_env(env).trusted_proxies == ()
    read = Settings.from_env({**env, "CJG_TRUSTED_PROXIES": "10.0.0.5, 2001:db8::/48"})
    assert read.trusted_proxies == (ip_network("10.0.0.5"), ip_network("2001:db8::/48"))
    with pytest.raises(ConfigError, match="CJG_TRUSTED_PROXIES"):
        Settings.from_env({**env, "CJG_TRUSTED_PROXIES": "proxy.cjg.nl"})
    with pytest.raises(ConfigError, match="CJG_FORWARDED_HEADER"):
        Settings.from_env({**env, "CJG_FORWARDED_HEADER": "X-Real-IP"})


# --- the service -------------------------------------------------------------------------


def _settings(redis_server: RedisServer, **changes: Any) -> Settings:
    base = Settings(
        redis_url=redis_server.url(TEST_DB),
        rasa_url=f"http://127.0.0.1:{free_port()}",  # not needed: the limit comes first
        rasa_token="t" * 32,
        pseudonym_secret="s" * 32,
        rate_per_sender=100,
        rate_per_address=3,
    )
    return Settings(**{**base.__dict__, **changes})


async def _chat(
    http: aiohttp.ClientSession, base: str, sender: str, headers: dict[str, str] | None = None
) -> int:
    """One message on the JSON API, in a new conversation (``sender`` only names the call);
    the status (200, or 429 over the limit). A service button: answered without Rasa."""
    async with http.post(
        f"{base}/api/chat", json={"message": "/cjg_cancel"}, headers=headers or {}
    ) as response:
        await response.read()
        return response.status


async def _statuses(
    http: aiohttp.ClientSession, base: str, who: str, n: int, headers: dict[str, str] | None = None
) -> list[int]:
    return [await _chat(http, base, f"{who}-{i}", headers) for i in range(n)]


async def test_users_behind_a_trusted_proxy_get_their_own_limits(
    aiohttp_client: ClientFactory, redis_server: RedisServer
) -> None:
    client = await aiohttp_client(
        create_app(_settings(redis_server, trusted_proxies=(ip_network("127.0.0.1"),)))
    )
    await client.app[REDIS].flushdb()
    base = str(client.make_url("")).rstrip("/")
    http = client.session

    def via(address: str) -> dict[str, str]:
        return {"X-Forwarded-For": address}

    assert await _statuses(http, base, "a", 4, via("198.51.100.1")) == [200, 200, 200, 429]
    assert await _statuses(http, base, "b", 1, via("198.51.100.2")) == [200]  # a separate limit
    # One IPv6 /64 is one client, whatever address in it it picks.
    six = [via(f"2001:db8:5:6::{n}") for n in range(1, 5)]
    assert [await _chat(http, base, f"c-{i}", h) for i, h in enumerate(six)] == [200] * 3 + [429]
    assert await _statuses(http, base, "d", 1, via("2001:db8:5:7::1")) == [200]


async def test_a_proxy_that_sets_forwarded_is_read_through_aiohttp(
    aiohttp_client: ClientFactory, redis_server: RedisServer
) -> None:
    trusted = (ip_network("127.0.0.1"),)
    app = create_app(_settings(redis_server, trusted_proxies=trusted, forwarded_header="Forwarded"))
    client = await aiohttp_client(app)
    await client.app[REDIS].flushdb()
    base, http = str(client.make_url("")).rstrip("/"), client.session
    one = {"Forwarded": 'for="[2001:db8:9::1]:4711";proto=https'}
    assert await _statuses(http, base, "f", 4, one) == [200, 200, 200, 429]
    # X-Forwarded-For is not what this proxy sets: a client's copy of it changes nothing.
    spoofed = {**one, "X-Forwarded-For": "198.51.100.1"}
    assert await _statuses(http, base, "g", 1, spoofed) == [429]
    assert await _statuses(http, base, "h", 1, {"Forwarded": "for=198.51.100.2"}) == [200]


async def test_an_untrusted_peer_cannot_choose_its_address(
    aiohttp_client: ClientFactory, redis_server: RedisServer
) -> None:
    client = await aiohttp_client(create_app(_settings(redis_server)))  # no trusted proxies
    await client.app[REDIS].flushdb()
    base = str(client.make_url("")).rstrip("/")
    made_up = [
        await _chat(client.session, base, f"e-{n}", {"X-Forwarded-For": f"198.51.100.{n}"})
        for n in range(4)
    ]
    assert made_up == [200, 200, 200, 429]  # every made-up address is the same client


# --- through a real reverse proxy --------------------------------------------------------


@pytest.fixture
async def service(redis_server: RedisServer) -> AsyncIterator[TestServer]:
    """The real service on a real loopback port, trusting only nginx's upstream address."""
    settings = _settings(redis_server, trusted_proxies=(ip_network(UPSTREAM_SOURCE),))
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    await server.app[REDIS].flushdb()
    await server.app[ACCOUNTS].add("anne", "Anne", PASSWORD)
    yield server
    await server.close()


@pytest.fixture
def nginx(service: TestServer, tmp_path: Path) -> Iterator[Nginx]:
    assert service.port is not None
    proxy = Nginx(tmp_path, service.port)
    proxy.start()
    yield proxy
    proxy.stop()


def _from(source: str) -> aiohttp.ClientSession:
    """A user: an HTTP client whose connections leave from ``source``."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(source, 0)))


async def test_users_behind_nginx_get_their_own_limits(nginx: Nginx, service: TestServer) -> None:
    direct = str(service.make_url("")).rstrip("/")
    users = _from("127.0.0.3"), _from("127.0.0.4"), _from("::1"), _from("127.0.0.5")
    async with users[0] as a, users[1] as b, users[2] as c, users[3] as d:
        assert await _statuses(a, nginx.url, "a", 4) == [200, 200, 200, 429]
        assert await _statuses(b, nginx.url, "b", 3) == [200, 200, 200]  # their own limit
        assert await _statuses(c, nginx.url6, "c", 3) == [200, 200, 200]  # IPv6: its own /64
        # A header the user made up is passed on by nginx, left of the address nginx saw:
        # it is not believed, so user a is still over its limit.
        spoofed = {"X-Forwarded-For": "198.51.100.99"}
        assert await _statuses(a, nginx.url, "a-spoof", 2, spoofed) == [429, 429]
        # Straight to the service (not through the trusted proxy) the header is ignored too.
        made_up = [
            await _chat(d, direct, f"d-direct-{n}", {"X-Forwarded-For": f"198.51.100.{n}"})
            for n in range(4)
        ]
        assert made_up == [200, 200, 200, 429]


async def test_failed_logins_behind_nginx_lock_out_only_their_own_address(
    nginx: Nginx, service: TestServer
) -> None:
    async def login(http: aiohttp.ClientSession, username: str, password: str) -> int:
        async with http.post(
            f"{nginx.url}/staff/api/login", json={"username": username, "password": password}
        ) as response:
            await response.read()
            return response.status

    async with _from("127.0.0.3") as guesser, _from("127.0.0.4") as anne:
        for batch in range(4):  # 20 failures from one address, a few at a time
            statuses = await asyncio.gather(
                *(login(guesser, f"guess{batch}-{n}", "fout-wachtwoord") for n in range(5))
            )
            assert statuses == [401] * 5
        assert await login(guesser, "anne", PASSWORD) == 429  # this address is locked ...
        assert await login(anne, "anne", PASSWORD) == 200  # ... Anne's is not


async def _widget_replies(source: str, url: str, n: int) -> list[str]:
    """A widget user on ``source``: ``n`` messages over Socket.IO, the text of each reply."""
    async with _from(source) as http:
        sio = socketio.AsyncClient(reconnection=False, http_session=http)
        replies: asyncio.Queue[Any] = asyncio.Queue()
        confirmed: asyncio.Queue[Any] = asyncio.Queue()
        sio.on("bot_uttered", replies.put)
        sio.on("session_confirm", confirmed.put)
        await sio.connect(url, socketio_path="socket.io", transports=["websocket"])
        try:
            await sio.emit("session_request", {"session_id": None})
            session_id = await asyncio.wait_for(confirmed.get(), 20)
            texts = []
            for _ in range(n):
                await sio.emit("user_uttered", {"message": "hallo", "session_id": session_id})
                texts.append(str((await asyncio.wait_for(replies.get(), 20)).get("text", "")))
            return texts
        finally:
            await sio.disconnect()


async def test_widget_users_behind_nginx_get_their_own_limits(nginx: Nginx) -> None:
    """The widget's socket is counted by the same client address as the API."""
    first = await _widget_replies("127.0.0.3", nginx.url, 4)
    assert ["veel berichten" in text for text in first] == [False, False, False, True]
    second = await _widget_replies("127.0.0.4", nginx.url, 1)  # another user: not limited
    assert "veel berichten" not in second[0]
