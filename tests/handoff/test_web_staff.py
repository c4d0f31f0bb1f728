"""The staff API and websocket, and the user's update feed, through aiohttp's test client.

No Rasa is needed: handoffs are started through the service, as the conversation core does.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from ipaddress import ip_network
from typing import Any

import aiohttp
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request
from hypothesis import given
from hypothesis import strategies as st

from base import redact
from bot import Settings, create_app
from bot.app_keys import REDIS, SETTINGS
from common.handoff_payload import HandoffRequest
from common.names import Reason
from handoff.web_keys import CALLBACKS, HANDOFF
from staff.web_keys import ACCOUNTS, LOGIN_GUARD
from tests.bot.conftest import ClientFactory
from tests.bot.test_fuzz import EXAMPLES, json_values
from tests.bot.test_web_chat import as_user, cid_of, issue
from tests.conftest import RedisServer, free_port
from tests.handoff.conftest import ROOT, TEST_DB, StaffService
from tests.handoff.test_callbacks import request_one

Client = TestClient[Request, Application]
PASSWORD = "een-lang-wachtwoord-123"


@pytest.fixture
async def client(staff_service: StaffService) -> AsyncIterator[Client]:
    client = await staff_service(TEST_DB)
    for username, name in (("anne", "Anne"), ("bram", "Bram")):
        await client.app[ACCOUNTS].add(username, name, PASSWORD)
    yield client


async def login(client: Client, username: str = "anne") -> str:
    response = await client.post(
        "/staff/api/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status == 200
    return str((await response.json())["csrf"])


async def close_chat(client: Client, hid: str, csrf: str, **registration: str) -> ClientResponse:
    """The close form: topic, outcome and the optional referral and asker."""
    return await client.post(
        f"/staff/api/handoffs/{hid}/close", json=registration, headers={"X-CSRF-Token": csrf}
    )


async def start_handoff(client: Client, sender: str, urgent: bool = False) -> str:
    """What the conversation core does when Rasa's reply carries a handoff request."""
    service = client.app[HANDOFF]
    await issue(client, sender)
    cid = cid_of(client, sender)
    await service.heartbeat("anne")
    await service.begin(cid, "api", HandoffRequest(Reason.ASK_HUMAN, urgent=urgent), [])
    conv = await service.conversation(cid)
    assert conv.hid is not None
    return conv.hid


async def test_login_sets_a_strict_http_only_cookie(client: Client) -> None:
    bad = await client.post("/staff/api/login", json={"username": "anne", "password": "fout"})
    assert bad.status == 401 and (await bad.json())["error"] == "login_failed"
    unknown = await client.post("/staff/api/login", json={"username": "admin", "password": "admin"})
    assert unknown.status == 401  # there is no default account

    response = await client.post(
        "/staff/api/login", json={"username": "anne", "password": PASSWORD}
    )
    assert response.status == 200
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/staff" in cookie
    me = await (await client.get("/staff/api/me")).json()
    assert me["name"] == "Anne" and me["role"] == "staff"


async def test_changes_need_the_csrf_token(client: Client) -> None:
    csrf = await login(client)
    hid = await start_handoff(client, "p1")
    without = await client.post(f"/staff/api/handoffs/{hid}/claim")
    assert without.status == 403 and (await without.json())["error"] == "csrf"
    with_token = await client.post(
        f"/staff/api/handoffs/{hid}/claim", headers={"X-CSRF-Token": csrf}
    )
    assert with_token.status == 200


async def test_not_logged_in_gets_401_json(client: Client) -> None:
    response = await client.get("/staff/api/queue")
    assert response.status == 401
    assert (await response.json())["error"] == "not_logged_in"


async def test_the_console_page_has_a_strict_content_security_policy(client: Client) -> None:
    response = await client.get("/staff")
    assert response.status == 200
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert (await client.get("/staff/static/../../bot/config.py")).status == 404


async def test_full_handoff_through_the_api(client: Client) -> None:
    csrf = await login(client)
    headers = {"X-CSRF-Token": csrf}
    hid = await start_handoff(client, "p1")

    queue = await (await client.get("/staff/api/queue")).json()
    assert [w["hid"] for w in queue["waiting"]] == [hid]
    assert queue["waiting"][0]["position"] == 1

    start = await (await client.get("/api/chat/updates", headers=as_user(client, "p1"))).json()
    assert start["handoff"]["state"] == "waiting" and start["handoff"]["position"] == 1

    assert (await client.post(f"/staff/api/handoffs/{hid}/claim", headers=headers)).status == 200
    sent = await client.post(
        f"/staff/api/handoffs/{hid}/messages", json={"text": "<b>Hoi</b>"}, headers=headers
    )
    assert sent.status == 200
    note = await client.post(
        f"/staff/api/handoffs/{hid}/notes", json={"text": "intern"}, headers=headers
    )
    assert note.status == 200

    feed = await (
        await client.get(
            "/api/chat/updates", params={"after": start["next"]}, headers=as_user(client, "p1")
        )
    ).json()
    texts = [m["text"] for m in feed["messages"]]
    assert texts[-1] == "<b>Hoi</b>"  # plain text: the client renders it as text
    assert "intern" not in texts  # internal notes never reach the user
    assert feed["handoff"]["state"] == "with_staff"
    again = await (
        await client.get(
            "/api/chat/updates", params={"after": feed["next"]}, headers=as_user(client, "p1")
        )
    ).json()
    assert again["messages"] == []  # nothing repeated

    detail = await (await client.get(f"/staff/api/handoffs/{hid}")).json()
    assert [e["role"] for e in detail["transcript"]][-2:] == ["staff", "note"]

    bad_close = await close_chat(client, hid, csrf, topic="bestaat-niet", outcome="advies")
    assert bad_close.status == 400
    referral_missing = await close_chat(
        client, hid, csrf, topic="school_leren", outcome="doorverwezen"
    )
    assert (await referral_missing.json())["error"] == "invalid_referral"
    unknown_asker = await close_chat(
        client, hid, csrf, topic="school_leren", outcome="advies", asker="unknown"
    )
    assert (await unknown_asker.json())["error"] == "invalid_asker"
    closed = await close_chat(
        client,
        hid,
        csrf,
        topic="school_leren",
        outcome="doorverwezen",
        referred_to="poh_jeugd",
        asker="professional",
    )
    assert closed.status == 200
    history = await (await client.get("/staff/api/history")).json()
    registration = history["closed"][0]["registration"]
    assert registration["referred_to"] == "poh_jeugd" and registration["asker"] == "professional"


async def test_two_staff_members_claim_at_once(client: Client) -> None:
    csrf_anne = await login(client, "anne")
    hid = await start_handoff(client, "p1")
    # a second browser: its own cookie jar, the same server
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as bram:
        url = str(client.make_url("/staff/api/login"))
        login_bram = await bram.post(url, json={"username": "bram", "password": PASSWORD})
        csrf_bram = (await login_bram.json())["csrf"]
        claim = f"/staff/api/handoffs/{hid}/claim"
        results = await asyncio.gather(
            client.post(claim, headers={"X-CSRF-Token": csrf_anne}),
            bram.post(str(client.make_url(claim)), headers={"X-CSRF-Token": csrf_bram}),
        )
        assert sorted(r.status for r in results) == [200, 409]


async def test_the_websocket_brings_queue_news_and_user_typing(client: Client) -> None:
    await login(client)
    async with client.ws_connect("/staff/api/ws") as ws:
        hid = await start_handoff(client, "p1")
        kinds: list[dict[str, Any]] = []
        while not any(k["type"] == "queue" for k in kinds):
            kinds.append(json.loads((await ws.receive(timeout=5)).data))
        typing = await client.post("/api/chat/typing", headers=as_user(client, "p1"))
        assert typing.status == 200
        while True:
            event = json.loads((await ws.receive(timeout=5)).data)
            if event["type"] == "typing":
                assert event == {"type": "typing", "hid": hid, "who": "user"}
                break


async def test_the_websocket_refuses_strangers(client: Client) -> None:
    response = await client.get("/staff/api/ws")
    assert response.status == 401


async def test_update_feed_rejects_bad_input(client: Client) -> None:
    assert (await client.get("/api/chat/updates")).status == 401  # no conversation token
    await issue(client, "p1")
    headers = as_user(client, "p1")
    bad = await client.get("/api/chat/updates", params={"after": "x; DROP"}, headers=headers)
    assert (await bad.json())["error"] == "invalid_after"
    # typing needs no body; a stranger's typing is refused
    assert (await client.post("/api/chat/typing", data=b"\xff\xfe", headers=headers)).status == 200
    assert (await client.post("/api/chat/typing", data=b"\xff\xfe")).status == 401


async def test_a_long_poll_wakes_up_as_soon_as_staff_write(client: Client) -> None:
    csrf = await login(client)
    hid = await start_handoff(client, "p1")
    await client.post(f"/staff/api/handoffs/{hid}/claim", headers={"X-CSRF-Token": csrf})
    start = await (await client.get("/api/chat/updates", headers=as_user(client, "p1"))).json()

    async def staff_writes_later() -> None:
        await asyncio.sleep(0.3)
        await client.post(
            f"/staff/api/handoffs/{hid}/messages",
            json={"text": "Hallo!"},
            headers={"X-CSRF-Token": csrf},
        )

    writer = asyncio.create_task(staff_writes_later())
    began = asyncio.get_running_loop().time()
    feed = await (
        await client.get(
            "/api/chat/updates",
            params={"after": start["next"], "wait": "10"},
            headers=as_user(client, "p1"),
        )
    ).json()
    waited = asyncio.get_running_loop().time() - began
    await writer
    assert [m["text"] for m in feed["messages"]] == ["Hallo!"]
    assert waited < 3  # woken by the message, not by the 10 s timeout


async def test_repeated_failures_lock_the_login_until_unlocked(client: Client) -> None:
    guard = client.app[LOGIN_GUARD]
    for _ in range(guard.limits.user_failures):
        wrong = await client.post("/staff/api/login", json={"username": "anne", "password": "x"})
        assert wrong.status == 401
    right = await client.post("/staff/api/login", json={"username": "anne", "password": PASSWORD})
    assert right.status == 429 and (await right.json())["error"] == "locked"
    assert "Te veel mislukte pogingen" in (await right.json())["message"]
    assert (await client.get("/staff/api/me")).status == 401  # no session was made
    await login(client, "bram")  # a colleague is not affected

    assert await guard.unlock("anne")  # what `scripts/staff-account unlock anne` does
    await login(client, "anne")


async def test_many_failures_from_one_address_lock_every_username(client: Client) -> None:
    guard = client.app[LOGIN_GUARD]
    for batch in range(0, guard.limits.address_failures, 5):
        wrong = await asyncio.gather(
            *(
                client.post("/staff/api/login", json={"username": f"guess{n}", "password": "x"})
                for n in range(batch, batch + 5)
            )
        )
        assert [r.status for r in wrong] == [401] * 5
    response = await client.post(
        "/staff/api/login", json={"username": "bram", "password": PASSWORD}
    )
    assert response.status == 429

    # `scripts/staff-account unlock bram` lifts every lock that blocks Bram, the address's too.
    unlock = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "staff.accounts_cli", "unlock", "bram"),
        env={"CJG_REDIS_URL": client.app[SETTINGS].redis_url, "PATH": ""},
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await unlock.communicate()
    assert unlock.returncode == 0 and "can log in again" in out.decode()
    await login(client, "bram")


async def test_parallel_guesses_cannot_race_past_the_lock(client: Client) -> None:
    guesses = await asyncio.gather(
        *(
            client.post("/staff/api/login", json={"username": "anne", "password": f"x{n}"})
            for n in range(30)
        )
    )
    statuses = sorted(r.status for r in guesses)
    limit = client.app[LOGIN_GUARD].limits.user_failures
    assert statuses == [401] * limit + [429] * (30 - limit)  # only 5 passwords were tried


async def test_a_login_storm_does_not_starve_the_service(
    aiohttp_client: ClientFactory, redis_server: RedisServer
) -> None:
    """200 parallel logins from 200 addresses (behind a trusted proxy, so no address lock
    stops them): the password checks queue in their own small pool, the rest get 503 at once,
    and the service keeps answering other requests meanwhile."""
    settings = Settings(
        redis_url=redis_server.url(TEST_DB),
        rasa_url=f"http://127.0.0.1:{free_port()}",  # not needed here
        rasa_token="t" * 32,
        pseudonym_secret="s" * 32,
        trusted_proxies=(ip_network("127.0.0.1"),),
    )
    client = await aiohttp_client(create_app(settings))
    redis = client.app[REDIS]
    await redis.flushdb()
    url = str(client.make_url("/staff/api/login"))

    done, half = 0, asyncio.Event()

    async def guess(http: aiohttp.ClientSession, n: int) -> tuple[int, str | None]:
        async with http.post(
            url,
            json={"username": f"guess{n}", "password": "fout-wachtwoord"},
            headers={"X-Forwarded-For": f"198.51.{n // 250}.{n % 250}"},
        ) as response:
            await response.read()
            nonlocal done
            done += 1
            if done == 100:
                half.set()
            return response.status, response.headers.get("Retry-After")

    async def probe(http: aiohttp.ClientSession, path: str) -> float:
        started = asyncio.get_running_loop().time()
        async with http.get(client.make_url(path)) as response:
            await response.read()
        return asyncio.get_running_loop().time() - started

    unlimited = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=unlimited) as http, aiohttp.ClientSession() as other:
        storm = asyncio.gather(*(guess(http, n) for n in range(200)))
        await half.wait()  # half of them answered: the rest wait while the checks run
        waits = [await probe(other, path) for path in ("/health", "/staff", "/health")]
        meanwhile = done < 200
        results = await storm
    # The page (read from disk in a thread) and health still answer while the checks run. With
    # asyncio's default executor doing the hashing, the page waited behind ~100 checks (>30 s).
    assert max(waits) < 3 and meanwhile, waits
    statuses = [status for status, _ in results]
    assert set(statuses) <= {401, 503} and statuses.count(503) >= 100
    assert all(retry for status, retry in results if status == 503)
    # Every checked guess is counted (once); a guess refused as busy was not tried.
    counted = [int(v or 0) async for v in _failure_counts(redis, "user:guess*")]
    assert sum(counted) == statuses.count(401)


async def _failure_counts(redis: Any, pattern: str) -> AsyncIterator[str | None]:
    async for key in redis.scan_iter(match=f"cjg:staff:login_failures:{pattern}"):
        yield await redis.get(key)


async def test_a_new_password_or_removal_ends_the_sessions(client: Client) -> None:
    accounts = client.app[ACCOUNTS]
    await login(client, "anne")
    assert (await client.get("/staff/api/me")).status == 200
    await accounts.set_password("anne", "een-nieuw-wachtwoord-456")
    assert (await client.get("/staff/api/me")).status == 401  # the old session has ended

    await login(client, "bram")
    assert await accounts.remove("bram")
    await accounts.add("bram", "Bram", PASSWORD)  # a new account under the same name
    assert (await client.get("/staff/api/me")).status == 401  # is not the old one's session


async def test_the_audit_log_shows_who_opened_what_to_admins_only(client: Client) -> None:
    await client.app[ACCOUNTS].add("ines", "Ines", PASSWORD, "admin")
    hid = await start_handoff(client, "audit-parent")
    csrf = await login(client)
    assert (await client.get(f"/staff/api/handoffs/{hid}")).status == 200
    claimed = await client.post(f"/staff/api/handoffs/{hid}/claim", headers={"X-CSRF-Token": csrf})
    assert claimed.status == 200
    denied = await client.get("/staff/api/audit")
    assert denied.status == 403  # a staff member cannot read the log

    await login(client, "ines")
    entries = (await (await client.get("/staff/api/audit")).json())["entries"]
    mine = [(e["staff"], e["action"], e["hid"]) for e in entries if e["staff"] == "anne"]
    assert ("anne", "opened", hid) in mine and ("anne", "claimed", hid) in mine
    assert all(set(e) == {"at", "staff", "action", "hid"} for e in entries)  # never any text


async def test_staff_data_is_out_of_reach_for_everyone_else(client: Client) -> None:
    hid = await start_handoff(client, "reach-parent")
    paths = ("/staff/api/queue", f"/staff/api/handoffs/{hid}", "/staff/api/history")
    for path in paths:  # anonymous, e.g. a parent of the chat
        assert (await client.get(path)).status == 401
    client.session.cookie_jar.update_cookies({"cjg_staff": "forged-or-old-token"})
    for path in paths:
        assert (await client.get(path)).status == 401
    await client.app[ACCOUNTS].add("ida", "Ida", PASSWORD, "insight")
    insight = await client.post("/staff/api/login", json={"username": "ida", "password": PASSWORD})
    assert insight.status == 200  # the insight role logs in for the figures ...
    for path in paths:  # ... and still cannot reach a conversation
        assert (await client.get(path)).status == 403


# --- strict bodies (issue #13): a wrong type is a clear 400, never a 500 --------------------


@pytest.mark.parametrize(
    ("action", "body", "code"),
    [
        ("close", {"topic": [], "outcome": "informatie"}, "invalid_field"),
        ("close", {"topic": {"a": 1}}, "invalid_field"),
        ("close", {"topic": "slapen", "outcome": "informatie", "asker": [1]}, "invalid_field"),
        ("close", {"topic": "slapen", "extra": "x"}, "unknown_field"),
        ("messages", {"text": ["hallo"]}, "invalid_field"),
        ("notes", {"text": 5}, "invalid_field"),
        ("transfer", {"to": {"username": "bram"}}, "invalid_field"),
        ("answer", {"text": True}, "invalid_field"),
    ],
)
async def test_a_wrong_type_in_a_staff_body_is_a_clear_400(
    client: Client, action: str, body: dict[str, Any], code: str
) -> None:
    csrf = await login(client)
    hid = await start_handoff(client, "strict-1")
    response = await client.post(
        f"/staff/api/handoffs/{hid}/{action}", json=body, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 400, await response.text()
    answer = await response.json()
    assert answer["error"] == code and answer["message"]


@pytest.mark.parametrize(
    "raw", [b"[" * 100_000, b"1" * 5000, b'{"text": ' + b"9" * 5000 + b"}", b"\xff\xfe"]
)
async def test_json_that_python_cannot_read_is_a_clear_400(client: Client, raw: bytes) -> None:
    csrf = await login(client)
    for path in ("/staff/api/presence", "/staff/api/login"):
        response = await client.post(path, data=raw, headers={"X-CSRF-Token": csrf})
        assert response.status == 400, await response.text()
        assert (await response.json())["error"] == "invalid_json"


async def test_a_wrong_type_in_an_unclear_question_mark_is_a_clear_400(client: Client) -> None:
    await client.app[ACCOUNTS].add("ida", "Ida", PASSWORD, "insight")
    csrf = await login(client, "ida")
    for body in ({"as": "example", "intent": []}, {"as": ["ignore"]}, {"as": "topic", "x": 1}):
        response = await client.post(
            "/staff/api/insight/unclear/1-0", json=body, headers={"X-CSRF-Token": csrf}
        )
        assert response.status == 400, await response.text()


STAFF_POSTS = ("messages", "notes", "transfer", "close", "answer", "claim", "release")
FIELDS = ["text", "to", "topic", "outcome", "referred_to", "asker", "status", "as", "intent"]


@pytest.fixture
async def admin_session(client: Client) -> tuple[str, str]:
    """A logged-in admin (the console and the dashboard) and a waiting handoff: the CSRF token
    and the handoff id, once for all the examples hypothesis draws."""
    await redact.preload()  # see tests/bot/test_fuzz.py: numpy must be imported before drawing
    await client.app[ACCOUNTS].add("ines", "Ines", PASSWORD, "admin")
    return await login(client, "ines"), await start_handoff(client, "fuzz-staff")


@EXAMPLES
@given(body=json_values, fields=st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=4))
async def test_no_staff_json_body_gives_a_500(
    client: Client, admin_session: tuple[str, str], body: Any, fields: dict[str, Any]
) -> None:
    """Whatever JSON a logged-in staff member's browser sends, the staff API answers with JSON
    and a 2xx/4xx, never a 500 (issue #13)."""
    csrf, hid = admin_session
    headers = {"X-CSRF-Token": csrf}
    paths = [f"/staff/api/handoffs/{hid}/{a}" for a in STAFF_POSTS]
    paths += ["/staff/api/presence", "/staff/api/insight/unclear/1-0"]
    for path in paths:
        for payload in (body, fields):
            response = await client.post(path, json=payload, headers=headers)
            assert response.status < 500, f"{path}: {response.status}"
            assert response.content_type == "application/json", path
    response = await client.post("/staff/api/login", json=body)  # the one body before a login
    assert response.status < 500 and response.content_type == "application/json"


async def test_logging_out_puts_the_callbacks_one_claimed_back_in_the_queue(
    staff_service: StaffService,
) -> None:
    """Otherwise a request waits, unseen, for a colleague who went home: only its claimer may
    read the number."""
    client = await staff_service(TEST_DB, callback_key="ab" * 32)
    await client.app[ACCOUNTS].add("anne", "Anne", PASSWORD)
    desk = client.app[CALLBACKS]
    cbid = await request_one(desk)
    csrf = await login(client)
    headers = {"X-CSRF-Token": csrf}
    assert (await client.post(f"/staff/api/callbacks/{cbid}/claim", headers=headers)).status == 200
    assert (await desk.get(cbid)).state == "claimed"  # type: ignore[union-attr]
    assert (await client.post("/staff/api/logout", headers=headers)).status == 200
    (queued,) = await desk.listed()
    assert (queued.id, queued.state, queued.staff, queued.attempts) == (cbid, "waiting", None, 0)
