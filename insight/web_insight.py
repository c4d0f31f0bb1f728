"""The insight pages and their API: /staff/insight (dashboard), its JSON and CSV, the quarterly
report, the improvement loop, and /go/<offer> (the counted offer link).

Readable by the ``insight`` role and by admins; staff members see the console, not the figures.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from html import escape
from typing import Any

from aiohttp import web

from base.registrar import CHANNELS, outcome
from base.web import (
    SECURITY_HEADERS,
    api_text,
    json_error,
    json_exception,
    read_json,
    static_response,
)
from base.web_keys import REDIS
from common.content import intent_labels, topics
from common.names import READER_ROLES
from common.offers import catalogue
from insight.figures import Query, QueryError, figures, parse_query
from insight.unclear import parse_mark
from insight.web_keys import REGISTRAR, UNCLEAR
from staff.accounts import Account
from staff.auth import authenticate, for_roles

routes = web.RouteTableDef()
READERS = READER_ROLES

# The figures: the insight role and admins (a staff member sees the console, not the figures).
readers_only = for_roles(READERS, api_text("figures_forbidden"))


def _query(request: web.Request) -> Query:
    try:
        return parse_query(request.query)
    except QueryError as exc:
        raise json_exception(web.HTTPBadRequest, "invalid_query", str(exc)) from None


@routes.get("/staff/insight")
async def insight_page(request: web.Request) -> web.StreamResponse:
    return static_response("insight.html", "text/html")


@routes.get("/staff/api/insight")
@readers_only
async def insight_figures(request: web.Request, account: Account) -> web.Response:
    return web.json_response(await figures(request.app[REDIS], _query(request)))


@routes.get("/staff/api/insight.csv")
@readers_only
async def insight_csv(request: web.Request, account: Account) -> web.Response:
    query = _query(request)
    found = await figures(request.app[REDIS], query)
    name = f"cjg-cijfers-{query.start.isoformat()}-{query.end.isoformat()}.csv"
    return web.Response(
        body=to_csv(found).encode("utf-8-sig"),  # with a BOM, so Excel reads the accents
        content_type="text/csv",
        charset="utf-8",
        headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
    )


def to_csv(found: dict[str, Any]) -> str:
    """One row per figure: section; code; label; count (semicolons, as Dutch Excel expects)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["onderdeel", "code", "omschrijving", "waarde"])
    period = found["period"]
    writer.writerow(["periode", "van", "Van", period["from"]])
    writer.writerow(["periode", "tot", "Tot en met", period["to"]])
    for name, value in found["totals"].items():
        writer.writerow(["totaal", name, TOTAL_LABELS.get(name, name), _number(value)])
    for row in found["series"]:
        for name in ("conversations", "answered_by_bot", "handoffs", "abandoned"):
            writer.writerow(
                [f"per {period['by']}", f"{row['period']}:{name}", row["label"], row[name]]
            )
    for section in (
        "themes",
        "topics",
        "user_types",
        "outcomes",
        "staff_outcomes",
        "callbacks",
        "channels",
        "municipalities",
        "age_bands",
        "referrals",
        "signals",
    ):
        for item in found[section]:
            writer.writerow([SECTION_LABELS[section], item["id"], item["label"], item["count"]])
    for section in ("waiting", "handling"):
        times = found[section]
        writer.writerow([SECTION_LABELS[section], "count", "Aantal", times["count"]])
        for p in ("p50_seconds", "p90_seconds", "p99_seconds"):
            writer.writerow([SECTION_LABELS[section], p, p.split("_")[0], _number(times[p])])
        for item in times["histogram"]:
            writer.writerow([SECTION_LABELS[section], "bucket", item["label"], item["count"]])
    ratings = found["ratings"]
    writer.writerow(
        ["tevredenheid", "average", "Gemiddeld cijfer (1-5)", _number(ratings["average"])]
    )
    for item in ratings["distribution"]:
        writer.writerow(
            ["tevredenheid", str(item["score"]), f"Score {item['score']}", item["count"]]
        )
    for after, section in ENOUGH_SECTIONS.items():
        for item in found["enough"][after]["distribution"]:
            writer.writerow([section, item["id"], item["label"], item["count"]])
    return out.getvalue()


def _number(value: Any) -> str:
    if value is None:
        return ""
    return str(value).replace(".", ",") if isinstance(value, float) else str(value)


TOTAL_LABELS = {
    "conversations": "Gesprekken",
    "answered_by_bot": "Beantwoord zonder medewerker",
    "answered_by_bot_share": "Aandeel beantwoord zonder medewerker",
    "anonymous": "Anoniem gebleven",
    "handoffs": "Doorgezet naar een medewerker",
    "abandoned": "Afgehaakt tijdens het wachten",
    "left_messages": "Bericht achtergelaten",
    "crisis": "Crisiskaart getoond",
    "offers_shown": "Groepsaanbod getoond",
    "offer_clicks": "Groepsaanbod aangeklikt",
    "divorce_info": "Scheidingsinformatie gegeven",
    "referred": "Doorverwezen",
    "not_understood": "Vraag niet begrepen",
    "callback_requests": "Terugbelverzoek gedaan",
    "callbacks": "Teruggebeld (bereikt of niet bereikt)",
}
SECTION_LABELS = {
    "themes": "thema",
    "topics": "onderwerp",
    "user_types": "vrager",
    "outcomes": "uitkomst",
    "staff_outcomes": "afsluiting medewerker",
    "callbacks": "terugbellen",
    "channels": "kanaal",
    "municipalities": "gemeente",
    "age_bands": "leeftijd kind",
    "referrals": "doorverwezen naar",
    "signals": "signaal (veiligheid)",
    "waiting": "wachttijd (s)",
    "handling": "gespreksduur (s)",
}

# "Heb je hier genoeg aan om zelf verder te kunnen?", after the bot and after a staff chat
ENOUGH_SECTIONS = {"bot": "genoeg na chatbot", "staff": "genoeg na medewerker"}
ENOUGH_CAPTIONS = {
    "bot": "Genoeg om zelf verder te kunnen, na een antwoord van de chatbot",
    "staff": "Genoeg om zelf verder te kunnen, na een gesprek met een medewerker",
}


# --- the quarterly report ------------------------------------------------------------------


def quarter_query(raw: str | None, today: date | None = None) -> Query:
    """``2026-Q4`` (default: the current quarter) as a query grouped per month."""
    today = today or datetime.now(UTC).date()
    raw = raw or f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    try:
        year, quarter = raw.split("-Q")
        first_month = 3 * (int(quarter) - 1) + 1
        start = date(int(year), first_month, 1)
    except ValueError:
        raise web.HTTPBadRequest(text=api_text("quarter_format")) from None
    if not 1 <= int(quarter) <= 4:
        raise web.HTTPBadRequest(text=api_text("quarter_format"))
    after = date(start.year + (first_month + 3 > 12), (first_month + 2) % 12 + 1, 1)
    return Query(start, date.fromordinal(after.toordinal() - 1), by="month")


@routes.get("/staff/insight/report")
async def report(request: web.Request) -> web.StreamResponse:
    found_account = await authenticate(request)
    if found_account is None:
        raise web.HTTPFound("/staff")
    if found_account[0].role not in READERS:
        raise web.HTTPForbidden(text=api_text("figures_forbidden"))
    query = quarter_query(request.query.get("quarter"))
    found = await figures(request.app[REDIS], query)
    name = request.query.get("quarter") or _quarter_name(query)
    title = f"Kwartaalrapportage Informatie & Advies, {name}"
    return web.Response(
        text=render_report(title, found), content_type="text/html", headers=SECURITY_HEADERS
    )


def _quarter_name(query: Query) -> str:
    return f"{query.start.year}-Q{(query.start.month - 1) // 3 + 1}"


def render_report(title: str, found: dict[str, Any]) -> str:
    """The CJG's indicators for one quarter, as a printable page (escaped, no script)."""
    t = found["totals"]
    share = t["answered_by_bot_share"]
    ratings = found["ratings"]

    def table(caption: str, rows: list[tuple[str, Any]]) -> str:
        body = (
            "".join(
                f"<tr><th scope='row'>{escape(str(k))}</th><td>{escape(_number(v))}</td></tr>"
                for k, v in rows
            )
            or "<tr><td colspan='2'>Geen gegevens in deze periode.</td></tr>"
        )
        return f"<table><caption>{escape(caption)}</caption>{body}</table>"

    def listed(section: str) -> list[tuple[str, Any]]:
        return [(item["label"], item["count"]) for item in found[section]]

    months = [(row["label"], row["conversations"]) for row in found["series"]]
    sections = [
        "<h2>1. Aantal en soort vragen</h2>",
        table("Gesprekken", [("Gesprekken in totaal", t["conversations"]), *months]),
        table("Soort vraag (thema)", listed("themes")),
        table("Wie vroeg", listed("user_types")),
        table("Kanaal", listed("channels")),
        table("Gemeente", listed("municipalities")),
        table("Leeftijd van het kind", listed("age_bands")),
        "<h2>2. Aantal malen vragen (anoniem) beantwoord</h2>",
        table(
            "Beantwoord",
            [
                ("Beantwoord door de chatbot, zonder medewerker", t["answered_by_bot"]),
                ("Aandeel zonder medewerker", "" if share is None else f"{round(share * 100)}%"),
                ("Doorgezet naar een medewerker", t["handoffs"]),
                ("Bericht achtergelaten buiten openingstijden", t["left_messages"]),
                ("Afgehaakt tijdens het wachten", t["abandoned"]),
                ("Anoniem gebleven", t["anonymous"]),
                ("Doorverwezen", t["referred"]),
                ("Crisiskaart getoond", t["crisis"]),
            ],
        ),
        table("Afsluiting door de medewerker", listed("staff_outcomes")),
        table("Doorverwezen naar", listed("referrals")),
        table("Aantal en soort signalen (veiligheid)", listed("signals")),
        table(
            "Wachttijd tot een medewerker (seconden, bovengrens)",
            [(k, found["waiting"][f"{k}_seconds"]) for k in ("p50", "p90", "p99")],
        ),
        "<h2>3. Bereik van het groepsaanbod</h2>",
        table(
            "Groepsaanbod",
            [
                ("Gesprekken waarin aanbod is getoond", t["offers_shown"]),
                ("Keren dat een aanbod is aangeklikt", t["offer_clicks"]),
                ("Scheidingsinformatie gegeven", t["divorce_info"]),
            ],
        ),
        "<h2>4. Tevredenheid</h2>",
        table(
            "Tevredenheid na een gesprek met een medewerker (1-5)",
            [
                ("Aantal scores", ratings["count"]),
                ("Gemiddeld", ratings["average"]),
                *[(f"Score {d['score']}", d["count"]) for d in ratings["distribution"]],
            ],
        ),
        *[
            table(
                caption,
                [
                    ("Aantal antwoorden", found["enough"][after]["count"]),
                    *[(d["label"], d["count"]) for d in found["enough"][after]["distribution"]],
                ],
            )
            for after, caption in ENOUGH_CAPTIONS.items()
        ],
    ]
    period = found["period"]
    return (
        "<!doctype html><html lang='nl'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title>"
        "<link rel='stylesheet' href='/staff/static/report.css'></head><body>"
        f"<h1>{escape(title)}</h1>"
        f"<p class='period'>Periode {escape(period['from'])} tot en met {escape(period['to'])}. "
        "Alle cijfers zijn tellingen zonder tekst of persoonsgegevens; zie docs/INSIGHT.md "
        "voor wat elk cijfer betekent.</p>" + "".join(sections) + "</body></html>"
    )


# --- the improvement loop -------------------------------------------------------------------


def _intent_choices() -> list[dict[str, str]]:
    """Intents a question can become an example for: the labelled ones and every topic."""
    choices = [
        {"id": name, "label": label}
        for name, label in intent_labels().labels.items()
        if name not in ("out_of_scope", "affirm", "deny", "opvoedvraag")
    ]
    choices += [
        {"id": f"opvoedvraag/{t.id}", "label": f"Opvoedvraag: {t.title}"}
        for t in sorted(topics().values(), key=lambda t: t.title)
    ]
    return choices


@routes.get("/staff/api/insight/unclear")
@readers_only
async def unclear_list(request: web.Request, account: Account) -> web.Response:
    items = await request.app[UNCLEAR].items()
    return web.json_response({"items": items, "intents": _intent_choices()})


@routes.post("/staff/api/insight/unclear/{item_id}")
@readers_only
async def unclear_mark(request: web.Request, account: Account) -> web.Response:
    body = await read_json(request, ("as", "intent", "note"))
    mark = parse_mark(body, {c["id"] for c in _intent_choices()})
    if mark is None:
        return json_error(400, "invalid_mark", api_text("invalid_mark"))
    if not await request.app[UNCLEAR].mark(request.match_info["item_id"], mark):
        return json_error(404, "not_found", api_text("question_gone"))
    return web.json_response({"ok": True, "mark": mark.public()})


# --- the counted offer link ----------------------------------------------------------------


@routes.get("/go/{offer_id}")
async def offer_link(request: web.Request) -> web.StreamResponse:
    """Counts a click on an offer and sends the browser on; only to the catalogue's own links."""
    offers = {o.id: o for o in catalogue().offers}
    offer = offers.get(request.match_info["offer_id"])
    if offer is None:
        raise web.HTTPNotFound(text=api_text("offer_gone"))
    via = request.query.get("via")
    await request.app[REGISTRAR].count_now(
        via if via in CHANNELS else None, [outcome("offer_clicked")]
    )
    raise web.HTTPFound(offer.link, headers={"Referrer-Policy": "no-referrer"})
