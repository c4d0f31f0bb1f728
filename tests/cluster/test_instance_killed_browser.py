"""The service instance holding a parent's widget socket is killed (SIGKILL) while the parent
chats, a message in flight; the widget reconnects through nginx to the other instance. Real
processes throughout (cluster/layout.py): nginx with the production site over TLS, two service
instances, Redis with a replica and three sentinels, the session's Rasa with the trained model,
and Debian's Chromium on /demo.

Which instance holds the socket is not visible from outside (nginx keeps idle upstream
connections too), so the instances are killed in turn: after web1 was killed and restarted, the
socket is surely on web2, whose kill then moves it back to web1.

What must hold: every message the parent sent is shown once and got exactly one answer, no
answer is shown twice, Rasa has every message, and nothing is left undelivered in the
conversation's outbox.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, expect
from redis import Redis

from bot.pseudonym import pseudonymise
from bot.widget.channel import CHANNEL
from cluster import Layout
from handoff import keys
from tests.bot.widget.test_widget_browser import Widget
from tests.conftest import RasaStack, RedisServer

pytestmark = [pytest.mark.cluster, pytest.mark.rasa]

# Questions the model answers without asking anything back, so each gets one answer.
QUESTIONS = [
    "mijn peuter van 3 wil niet slapen",
    "mijn dochter van 8 wordt gepest op school",
    "hoe praat ik met mijn puber over alcohol",
    "mijn zoon van 5 heeft veel driftbuien",
    "wij gaan scheiden, hoe vertel ik het de kinderen",
]
ANSWER_SECONDS = 90  # an answer after a kill: the reconnect, and the retry on the other instance


@pytest.fixture(scope="module")
def layout(
    tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer, rasa_stack: RasaStack
) -> Iterator[Layout]:
    """Two instances, with the session's Rasa stack (its trackers in the session Redis's
    database 0), which saves the slowest start; the Rasa replicas have their own failover
    test (tests/bot/test_rasa_failover.py)."""
    settings = {"CJG_RASA_TRACKER_REDIS_URL": redis_server.url(0)}
    layout = Layout(tmp_path_factory.mktemp("layout"), instances=2, rasa=rasa_stack,
                    settings=settings)  # fmt: skip
    try:
        layout.start(progress=lambda _: None)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield layout
    finally:
        layout.stop()


async def test_the_instance_holding_the_socket_is_killed_nothing_lost_nothing_twice(
    layout: Layout, browser: Browser, redis_server: RedisServer
) -> None:
    page = await (await browser.new_context(ignore_https_errors=True)).new_page()
    widget = Widget(page)
    await widget.open(layout.url)
    bots = widget('.cjg-msg[data-from="bot"]')

    async def ask(question: str, kill: str | None = None) -> None:
        """One question, answered; with ``kill``, that instance dies while the question is in
        flight: sent, and (when it holds the socket) being answered, which the bot's typing
        dots show, before any answer is there."""
        before = await bots.count()
        await widget.send(question)
        if kill:
            if kill == "web2":  # surely the socket's instance: wait until it is answering
                await expect(widget("#cjg-typing")).to_be_visible(timeout=10000)
            assert await bots.count() == before, "answered before the kill"
            layout.kill(kill)
        await widget.answered(before, ANSWER_SECONDS if kill else 30)

    await ask(QUESTIONS[0])
    await ask(QUESTIONS[1], kill="web1")  # perhaps the socket's instance, perhaps not
    layout.restart("web1")
    await ask(QUESTIONS[2], kill="web2")  # surely the socket's instance now
    await ask(QUESTIONS[3])  # on web1, the only one left
    layout.restart("web2")
    await ask(QUESTIONS[4])
    await expect(widget("#cjg-send")).to_be_enabled()

    # On the page: each question once, each followed by its answer (one or more bubbles), and
    # no bubble of an answer twice.
    entries = await widget.messages.evaluate_all(
        "nodes => nodes.map(n => [n.dataset.from, n.querySelector('.cjg-text')?.innerText])"
    )
    users = [text for who, text in entries if who == "user"]
    assert users == QUESTIONS
    answers: list[list[str]] = []
    for who, text in entries:
        if who == "user":
            answers.append([])
        elif answers:  # not the welcome
            answers[-1].append(text)
    for question, answer in zip(QUESTIONS, answers, strict=True):
        assert answer, f"no answer to {question!r}"
        assert len(answer) == len(set(answer)), f"an answer shown twice: {answer}"
    assert len({tuple(a) for a in answers[1:4]}) == 3, answers  # each its own answer

    # In Redis: nothing is left in the outbox that the widget has not acknowledged, and Rasa
    # has every question; a question in flight when its instance died may be there twice (the
    # dead instance had passed it to Rasa, the retry did again; the parent sees one answer).
    secret = layout.env["CJG_PSEUDONYM_SECRET"]
    cid = pseudonymise(secret, CHANNEL, await widget.session_id())
    redis = layout.redis(0)
    try:
        assert redis.xlen(keys.outbox(cid)) == 0
    finally:
        redis.close()
    trackers = Redis.from_url(redis_server.url(0), decode_responses=True)
    try:
        stored = trackers.get(f"rasa:tracker:{cid}")
    finally:
        trackers.close()
    assert isinstance(stored, str), "Rasa kept no tracker for the conversation"
    said = Counter(e.get("text") for e in json.loads(stored)["events"] if e["event"] == "user")
    for question in QUESTIONS:
        assert 1 <= said[question] <= (2 if question in QUESTIONS[1:3] else 1), said
    # The widget's socket closed at each kill of its instance and was opened again: through
    # nginx, which logs a websocket when it ends.
    log = (layout.directory / "nginx" / "cjg-access.log").read_text()
    assert len(re.findall(r"GET /socket\.io/ 101 ", log)) >= 1
