"""Routing units: which team and profile a handoff asks for, who matches, the content file's
checks, the honest wait estimate, and the team and profiles of accounts (and their command
line). Redis database 19."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from common.content import ContentError
from common.handoff_payload import HandoffRequest
from common.names import Reason
from common.routing_content import routing_content, team_labels
from handoff import keys
from handoff.presence import Presence
from handoff.routing import Route, Router, honest_estimate, label, matches, route_for
from handoff.store import HandoffStore
from staff.accounts import Account, AccountError, Accounts
from tests.conftest import RedisServer
from tests.handoff.conftest import ROOT, make_service
from tests.redis_db import fresh_db

DB = 19
TEAMS = ("haarlem", "zandvoort", "bloemendaal")


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    async with fresh_db(redis_server, DB) as client:
        yield client


def route(reason: str = "ask_human", **context: str) -> Route:
    request = HandoffRequest(reason, context=context)  # type: ignore[arg-type]
    return route_for(request, routing_content(), TEAMS)


def test_a_divorce_chat_from_bloemendaal_asks_for_the_bloemendaal_divorce_profile() -> None:
    assert route(municipality="bloemendaal", topic="scheiding_vertellen") == Route(
        "bloemendaal", "scheiding"
    )
    assert route(municipality="bloemendaal", offer_theme="scheiden") == Route(
        "bloemendaal", "scheiding"
    )
    assert route("conflict_divorce") == Route(None, "scheiding")


def test_safety_and_youth_come_first_and_unknown_places_are_no_team() -> None:
    assert route("safety", municipality="haarlem", topic="scheiding_vertellen") == Route(
        "haarlem", "veiligheid"
    )
    assert route(user_type="youth", topic="scheiding_vertellen").profile == "jongeren"
    assert route(municipality="anders", topic="slapen") == Route(None, None)
    assert not route(topic="slapen").targeted  # no profile for sleep: no route at all


def test_matching_needs_the_team_and_the_profile_that_the_route_names() -> None:
    bea = Account("bea", "Bea", "staff", "bloemendaal", ("scheiding", "jongeren"))
    hans = Account("hans", "Hans", "staff", "haarlem", ("scheiding",))
    ida = Account("ida", "Ida", "insight", "bloemendaal", ("scheiding",))
    divorce_bloemendaal = Route("bloemendaal", "scheiding")
    assert matches(bea, divorce_bloemendaal)
    assert not matches(hans, divorce_bloemendaal)  # the profile, but another team
    assert not matches(ida, divorce_bloemendaal)  # figures only: never offered chats
    assert matches(hans, Route(None, "scheiding"))  # no municipality known: the profile
    assert matches(bea, Route("bloemendaal", None))  # no profile: the team
    assert not matches(bea, Route(None, None))


def test_the_label_is_the_team_and_profile_as_staff_read_them() -> None:
    assert label(Route("bloemendaal", "scheiding"), routing_content(), team_labels()) == (
        "Bloemendaal · Scheiding"
    )
    assert label(Route(None, "jongeren"), routing_content(), team_labels()) == (
        "Jongeren (16-23 jaar)"
    )


def test_the_estimate_counts_only_the_matching_colleagues_until_the_wait_ends() -> None:
    minute = 60000.0
    # 4 online, 1 matches: 3 chats ahead of you take 3 handling times for that one colleague...
    assert honest_estimate(3, 10 * minute, online=4, matching=1, wait_left_ms=60 * 60000) == 30
    # ... but never longer than the rest of the head start plus the wait with everyone
    assert honest_estimate(3, 10 * minute, online=4, matching=1, wait_left_ms=2 * 60000) == 12
    assert honest_estimate(1, 10 * minute, online=4, matching=0, wait_left_ms=0) == 10


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (("youth: jongeren", "youth: jeugd"), "rules.youth: 'jeugd' is not one of the profiles"),
        (("conflict_divorce:", "ruzie:"), "rules.reasons: 'ruzie' is not a handoff reason"),
        (("scheiden: scheiding", "scheiding: scheiding"), "'scheiding' is not an offer theme"),
        (("[adhd_vragen,", "[adhd,"), "no file content/topics/adhd.yml"),
        (("[adhd_vragen,", "[omgangsregeling, adhd_vragen,"), "'omgangsregeling' is named twice"),
    ],
)
def test_a_wrong_routing_file_is_refused_with_the_field(
    tmp_path: Path, change: tuple[str, str], reason: str
) -> None:
    shutil.copytree(ROOT / "content", tmp_path / "content")
    path = tmp_path / "content" / "routing.yml"
    text = path.read_text()
    assert change[0] in text
    path.write_text(text.replace(change[0], change[1], 1))
    with pytest.raises(ContentError, match=reason.replace("(", r"\(")):
        routing_content(tmp_path / "content")


async def test_accounts_keep_their_team_and_profiles(redis: Redis) -> None:
    accounts = Accounts(redis)
    await accounts.add("bea", "Bea", "een-lang-wachtwoord")
    assert (await accounts.get("bea")) == Account("bea", "Bea", "staff")
    changed = await accounts.set_routing("bea", "bloemendaal", ("scheiding", "jongeren"))
    assert changed.team == "bloemendaal" and changed.profiles == ("scheiding", "jongeren")
    assert await accounts.get("bea") == changed
    assert (await accounts.set_routing("bea", None, None)).profiles == ("scheiding", "jongeren")
    assert (await accounts.get("bea")) == Account("bea", "Bea", "staff", None, changed.profiles)
    with pytest.raises(AccountError, match="team: one of haarlem, zandvoort, bloemendaal"):
        await accounts.set_routing("bea", "amsterdam", None)
    with pytest.raises(AccountError, match="profile 'vechtscheiding'"):
        await accounts.set_routing("bea", None, ("vechtscheiding",))
    with pytest.raises(AccountError, match="no account"):
        await accounts.set_routing("niemand", "haarlem", None)


async def test_a_chat_is_for_everyone_at_once_when_nobody_who_matches_is_online(
    redis: Redis,
) -> None:
    service = make_service(redis)
    # as the service's own
    router = Router(redis, HandoffStore(redis, 3600), Presence(redis, 45), 180.0)
    accounts = Accounts(redis)
    for name, team in (("bea", "bloemendaal"), ("hans", "haarlem")):
        await accounts.add(name, name.title(), "een-lang-wachtwoord")
        await accounts.set_routing(name, team, ("scheiding",))
    request = HandoffRequest(Reason.ASK_HUMAN, context={"municipality": "bloemendaal"})
    await service.heartbeat("hans")
    fields = await router.fields(request)
    assert fields["route_open"] == "nobody" and "route_until" not in fields
    await service.set_status("bea", "away")  # away is not online
    assert (await router.fields(request))["route_open"] == "nobody"
    await service.set_status("bea", "online")
    fields = await router.fields(request)
    assert "route_open" not in fields and int(fields["route_until"]) > 0
    urgent = HandoffRequest(Reason.ASK_HUMAN, urgent=True, context={"municipality": "bloemendaal"})
    assert (await router.fields(urgent))["route_open"] == "urgent"


async def test_the_sweeper_opens_a_chat_when_its_matching_colleague_leaves(redis: Redis) -> None:
    service = make_service(redis)
    # as the service's own
    router = Router(redis, HandoffStore(redis, 3600), Presence(redis, 45), 180.0)
    accounts = Accounts(redis)
    await accounts.add("bea", "Bea", "een-lang-wachtwoord")
    await accounts.set_routing("bea", "bloemendaal", ("scheiding",))
    await service.heartbeat("bea")
    request = HandoffRequest(Reason.ASK_HUMAN, context={"municipality": "bloemendaal"})
    await service.begin("cid-1", "api", request, [])
    hid = str((await service.conversation("cid-1")).hid)
    assert await redis.zscore(keys.ROUTED, hid) is not None
    assert await router.open_due() == 0  # Bea is there: it stays hers for now
    await service.leave("bea")
    assert await router.open_due() == 1
    assert await redis.hget(keys.record(hid), "route_open") == "nobody"
    assert await redis.zscore(keys.ROUTED, hid) is None
    assert await router.open_due() == 0  # opened once


async def test_the_command_line_sets_and_shows_team_and_profiles(
    redis: Redis, redis_server: RedisServer
) -> None:
    env = {**redis_server.env(DB), "PATH": ""}  # the fixture emptied the database

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "staff.accounts_cli", *args],
            input=stdin,
            env={**env, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )

    added = cli(
        "add", "bea", "--name", "Bea", "--team", "bloemendaal", "--profiles", "scheiding",
        "--password-stdin", stdin="een-lang-wachtwoord\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    shown = cli("set", "bea", "--profiles", "scheiding,jongeren")
    assert shown.returncode == 0, shown.stderr
    assert "team: Bloemendaal" in shown.stdout
    assert "profielen: Scheiding, Jongeren (16-23 jaar)" in shown.stdout
    listed = cli("list")
    assert "bea\tstaff\tBea\tteam: Bloemendaal" in listed.stdout
    cleared = cli("set", "bea", "--team", "none")
    assert "team: -" in cleared.stdout and "Scheiding" in cleared.stdout
    wrong = cli("add", "kees", "--name", "Kees", "--team", "urk", "--password-stdin", stdin="x\n")
    assert wrong.returncode == 2 and "team: one of" in wrong.stderr
    assert "kees" not in cli("list").stdout  # nothing stored on a wrong team
    choices = cli("choices")
    assert "bloemendaal\tBloemendaal" in choices.stdout and "lvb\t" in choices.stdout
