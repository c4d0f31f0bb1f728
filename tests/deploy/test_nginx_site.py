"""deploy/nginx/cjg-chat.conf, run for real: Debian's nginx with the production site (only its
addresses, certificate and paths changed to loopback and this test's temp dir, by
cluster/nginx.py) and a self-signed certificate made with openssl, in front of the real service
(its own process, trusting only the proxy) with the session's Redis and Rasa. Everything is
checked over HTTPS.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis
import socketio

from bot.web_chat import MAX_WAIT
from bot.web_widget import WIDGET_FILES
from cluster import nginx
from staff.accounts import Accounts
from tests.conftest import RasaStack, RedisServer, free_port, wait_until
from tests.redis_db import fresh_db
from tests.servers import Service, service_on

SITE = nginx.SITE
TEST_DB = 24  # see docs/DEVELOPMENT.md
PASSWORD = "een-lang-wachtwoord-123"
RATE_PER_ADDRESS = 3
# The headers the service sets on its own responses (bot/web_security.py, bot/web_widget.py);
# nginx must send the same ones for the widget files it serves itself, and never a second copy.
SECURITY_HEADERS = (
    "X-Content-Type-Options",
    "Referrer-Policy",
    "X-Frame-Options",
    "Content-Security-Policy",
    "Cross-Origin-Opener-Policy",
    "Cross-Origin-Resource-Policy",
    "Strict-Transport-Security",
)


@dataclass
class Proxy:
    directory: Path
    port: int
    http_port: int
    ca: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def user(self, source: str) -> aiohttp.ClientSession:
        """A user whose connections leave from ``source`` and who checks the certificate."""
        connector = aiohttp.TCPConnector(ssl=self.context(), local_addr=(source, 0))
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True))

    def access_log(self) -> str:
        return (self.directory / "cjg-access.log").read_text()

    async def logged(self, pattern: str) -> bool:
        """nginx writes a websocket's line when it closes: wait a little for it."""
        for _ in range(50):
            if re.search(pattern, self.access_log(), re.M):
                return True
            await asyncio.sleep(0.1)
        return False


@pytest.fixture(scope="module")
def ports() -> tuple[int, int]:
    return free_port(), free_port()


@pytest.fixture(scope="module")
def service(
    redis_server: RedisServer,
    rasa_stack: RasaStack,
    ports: tuple[int, int],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Service]:
    """The service as production runs it behind the site: trusting only the proxy (nginx
    connects from 127.0.0.1; the users here from 127.0.0.3 and up), secure cookies, its public
    URL the proxy's."""
    redis.Redis.from_url(redis_server.url(TEST_DB)).flushdb()
    settings = {
        "CJG_TRUSTED_PROXIES": "127.0.0.1,::1",
        "CJG_SECURE_COOKIES": "true",
        "CJG_PUBLIC_URL": f"https://127.0.0.1:{ports[0]}",
        "CJG_RATE_PER_ADDRESS": str(RATE_PER_ADDRESS),
        "CJG_RATE_PER_SENDER": "100",
    }
    directory = tmp_path_factory.mktemp("service")
    with service_on(rasa_stack, redis_server, directory, TEST_DB, settings) as running:
        yield running


@pytest.fixture(scope="module")
def proxy(
    service: Service, ports: tuple[int, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Proxy]:
    directory = tmp_path_factory.mktemp("nginx")
    port, http_port = ports
    conf = nginx.write_config(directory, [service.url.removeprefix("http://")], port, http_port)
    warnings = nginx.check(conf)
    assert "warn" not in warnings, warnings  # e.g. a duplicate or deprecated directive
    process = subprocess.Popen(
        nginx.argv(conf), stdout=subprocess.DEVNULL, stderr=(directory / "stderr.log").open("wb")
    )
    running = Proxy(directory, port, http_port, directory / "chat.crt")

    def answers() -> bool:
        import urllib.request

        with urllib.request.urlopen(running.url + "/health", context=running.context()) as r:
            return bool(r.status == 200)

    try:
        wait_until(answers, 20, "nginx", process)
        yield running
    finally:
        process.terminate()
        process.wait(10)


async def test_health_over_https_and_plain_http_redirects(proxy: Proxy) -> None:
    async with proxy.user("127.0.0.3") as http:
        async with http.get(f"{proxy.url}/health") as response:
            assert response.status == 200
            assert (await response.json())["status"] == "ok"
            for name in ("X-Frame-Options", "Content-Security-Policy", "Strict-Transport-Security"):
                assert len(response.headers.getall(name)) == 1, name  # the service's, once
            assert "nginx/" not in response.headers.get("Server", "")  # no version shown
        async with http.get(
            f"http://127.0.0.1:{proxy.http_port}/api/chat?x=1", allow_redirects=False
        ) as response:
            assert response.status == 301
            assert response.headers["Location"].startswith("https://127.0.0.1")
            assert response.headers["Location"].endswith("/api/chat?x=1")


async def _chat(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> int:
    """One message in a new conversation (a service button: answered without Rasa)."""
    async with http.post(f"{url}/api/chat", json={"message": "/cjg_cancel"}, headers=headers) as r:
        await r.read()
        return r.status


async def test_the_client_address_reaches_the_service_through_the_site(proxy: Proxy) -> None:
    """Each user has their own message limit: the address nginx saw, appended to
    X-Forwarded-For, is the one the service counts; a made-up header changes nothing."""
    made_up = {"X-Forwarded-For": "198.51.100.7"}
    async with proxy.user("127.0.0.3") as a, proxy.user("127.0.0.4") as b:
        over = RATE_PER_ADDRESS + 1
        assert [await _chat(a, proxy.url, made_up) for _ in range(over)] == [200] * 3 + [429]
        assert [await _chat(b, proxy.url, {}) for _ in range(RATE_PER_ADDRESS)] == [200] * 3
        assert await _chat(a, proxy.url, {"X-Forwarded-For": "198.51.100.8"}) == 429
    log = proxy.access_log()
    assert "POST /api/chat 429" in log
    assert "127.0.0.3" not in log and "198.51.100" not in log  # no addresses in the log


async def test_a_body_the_service_refuses_gets_the_services_own_answer(proxy: Proxy) -> None:
    """nginx's limit is the outer wall: up to it, the service's JSON error comes through."""
    async with proxy.user("127.0.0.5") as http:
        body = {"message": "x" * 300_000}
        async with http.post(f"{proxy.url}/api/chat", json=body) as response:
            assert response.status == 413
            assert (await response.json())["error"] == "body_too_large"


async def test_the_widget_socket_upgrades_through_the_site(proxy: Proxy) -> None:
    async with proxy.user("127.0.0.6") as http:
        sio = socketio.AsyncClient(reconnection=False, http_session=http)
        confirmed: asyncio.Queue[Any] = asyncio.Queue()
        replies: asyncio.Queue[Any] = asyncio.Queue()
        sio.on("session_confirm", confirmed.put)
        sio.on("bot_uttered", replies.put)
        await sio.connect(
            proxy.url,
            socketio_path="socket.io",
            transports=["websocket"],
            headers={"Origin": proxy.url},  # the service's own page (CJG_PUBLIC_URL)
        )
        try:
            assert sio.transport() == "websocket"
            await sio.emit("session_request", {"session_id": None})
            session_id = await asyncio.wait_for(confirmed.get(), 20)
            await sio.emit("user_uttered", {"message": "hallo", "session_id": session_id})
            reply = await asyncio.wait_for(replies.get(), 30)  # the real Rasa answers
            assert reply.get("text")
        finally:
            await sio.disconnect()
    assert await proxy.logged(r"GET /socket\.io/ 101 ")


async def test_the_staff_console_socket_upgrades_through_the_site(
    proxy: Proxy, redis_server: RedisServer
) -> None:
    async with fresh_db(redis_server, TEST_DB) as client:
        await Accounts(client).add("anne", "Anne", PASSWORD)
    async with proxy.user("127.0.0.7") as http:
        login = {"username": "anne", "password": PASSWORD}
        async with http.post(f"{proxy.url}/staff/api/login", json=login) as response:
            assert response.status == 200
            cookie = response.headers["Set-Cookie"]
            assert "Secure" in cookie and "HttpOnly" in cookie  # CJG_SECURE_COOKIES behind TLS
        async with http.ws_connect(
            f"{proxy.url.replace('https', 'wss')}/staff/api/ws", headers={"Origin": proxy.url}
        ) as ws:
            await ws.send_json({"type": "ping"})
            first = await ws.receive_json(timeout=10)  # the feed: at least her own arrival
            assert isinstance(first, dict) and first.get("type")
    assert await proxy.logged(r"GET /staff/api/ws 101 ")


async def test_widget_files_come_from_disk_with_cache_headers(
    proxy: Proxy, service: Service
) -> None:
    async with proxy.user("127.0.0.8") as http, aiohttp.ClientSession() as direct:
        for name, (path, _) in WIDGET_FILES.items():
            async with http.get(f"{proxy.url}/widget/{name}") as response:
                assert response.status == 200, name
                assert await response.read() == path.read_bytes()
                assert response.headers["Cache-Control"] == "public, max-age=600"
                etag = response.headers["ETag"]
                proxied = response.headers
            async with direct.get(f"{service.url}/widget/{name}") as own:
                # The same content type and security headers as the service's own copy.
                assert proxied["Content-Type"] == own.headers["Content-Type"], name
                for header in SECURITY_HEADERS:
                    assert proxied.getall(header) == own.headers.getall(header), (name, header)
            await _cached_and_zipped(http, f"{proxy.url}/widget/{name}", etag)
        async with http.get(f"{proxy.url}/widget/vendor/package.json") as response:
            assert response.status == 404  # only the widget's files
    # Served by nginx, not the service: no upstream time in the log for them.
    assert re.search(r"GET /widget/widget\.css 200 \d+ [\d.]+ -$", proxy.access_log(), re.M)


async def test_widget_js_comes_from_the_service_with_its_texts(
    proxy: Proxy, service: Service
) -> None:
    """The service fills in the widget's texts (content/widget_texts.yml): nginx passes its
    body, ETag and headers on, and only compresses it."""
    async with proxy.user("127.0.0.8") as http, aiohttp.ClientSession() as direct:
        async with direct.get(f"{service.url}/widget/widget.js") as own:
            body, headers = await own.read(), own.headers
        assert b'"send": "Verstuur"' in body
        async with http.get(f"{proxy.url}/widget/widget.js") as response:
            assert response.status == 200 and await response.read() == body
            etag = response.headers["ETag"]  # weak when nginx compressed it
            assert etag.removeprefix("W/") == headers["ETag"]
            assert response.headers["Cache-Control"] == "no-cache"
            for header in (*SECURITY_HEADERS, "Content-Type"):
                assert response.headers.getall(header) == headers.getall(header), header
        await _cached_and_zipped(http, f"{proxy.url}/widget/widget.js", etag)
    assert re.search(r"GET /widget/widget\.js 200 \d+ [\d.]+ [\d.]+$", proxy.access_log(), re.M)


async def _cached_and_zipped(http: aiohttp.ClientSession, url: str, etag: str) -> None:
    async with http.get(url, headers={"If-None-Match": etag}) as again:
        assert again.status == 304, url
    async with http.get(url, headers={"Accept-Encoding": "gzip"}) as zipped:
        assert zipped.headers.get("Content-Encoding") == "gzip", url


def test_the_sites_timeouts_outlast_what_the_service_holds_open() -> None:
    """A long poll, a quiet widget socket, a console heartbeat or a slow Rasa answer must not
    be cut by the proxy."""
    site = SITE.read_text()
    read = int(re.search(r"proxy_read_timeout (\d+)s;", site)[1])  # type: ignore[index]
    engineio_ping_interval, engineio_ping_timeout = 25, 20  # python-engineio's defaults
    staff_heartbeat = 20  # handoff/web_staff_ws.py
    slow_rasa = 2 * 10 + 10  # turn_seconds at the default CJG_RASA_TIMEOUT
    assert read > max(MAX_WAIT + 5, engineio_ping_interval + engineio_ping_timeout)
    assert read > max(staff_heartbeat * 2, slow_rasa)
