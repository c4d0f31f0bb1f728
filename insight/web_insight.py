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
from insight.texts import ENOUGH_AFTER, LISTS, insight_texts
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
    file_name = insight_texts().csv["file_name"]
    name = file_name.format(start=query.start.isoformat(), end=query.end.isoformat())
    return web.Response(
        body=to_csv(found).encode("utf-8-sig"),  # with a BOM, so Excel reads the accents
        content_type="text/csv",
        charset="utf-8",
        headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
    )


def to_csv(found: dict[str, Any]) -> str:
    """One row per figure: section; code; label; count (semicolons, as Dutch Excel expects).
    The words are content/insight_texts.yml's."""
    texts = insight_texts()
    csv_text, sections = texts.csv, texts.sections
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(texts.csv_header)
    period = found["period"]
    writer.writerow([csv_text["period"], "van", csv_text["period_from"], period["from"]])
    writer.writerow([csv_text["period"], "tot", csv_text["period_to"], period["to"]])
    for name, value in found["totals"].items():
        writer.writerow([csv_text["total"], name, texts.totals.get(name, name), _number(value)])
    per = csv_text["per"].format(by=period["by"])
    for row in found["series"]:
        for name in ("conversations", "answered_by_bot", "handoffs", "abandoned"):
            writer.writerow([per, f"{row['period']}:{name}", row["label"], row[name]])
    for section in LISTS:
        for item in found[section]:
            writer.writerow([sections[section], item["id"], item["label"], item["count"]])
    for section in ("waiting", "handling"):
        times = found[section]
        writer.writerow([sections[section], "count", csv_text["count"], times["count"]])
        for p in ("p50_seconds", "p90_seconds", "p99_seconds"):
            writer.writerow([sections[section], p, p.split("_")[0], _number(times[p])])
        for item in times["histogram"]:
            writer.writerow([sections[section], "bucket", item["label"], item["count"]])
    ratings = found["ratings"]
    writer.writerow(
        [csv_text["ratings"], "average", csv_text["rating_average"], _number(ratings["average"])]
    )
    for item in ratings["distribution"]:
        score = csv_text["score"].format(score=item["score"])
        writer.writerow([csv_text["ratings"], str(item["score"]), score, item["count"]])
    for after in ENOUGH_AFTER:
        for item in found["enough"][after]["distribution"]:
            writer.writerow([sections[f"enough_{after}"], item["id"], item["label"], item["count"]])
    return out.getvalue()


def _number(value: Any) -> str:
    if value is None:
        return ""
    return str(value).replace(".", ",") if isinstance(value, float) else str(value)


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
    title = insight_texts().report["title"].format(quarter=name)
    return web.Response(
        text=render_report(title, found), content_type="text/html", headers=SECURITY_HEADERS
    )


def _quarter_name(query: Query) -> str:
    return f"{query.start.year}-Q{(query.start.month - 1) // 3 + 1}"


def render_report(title: str, found: dict[str, Any]) -> str:
    """The CJG's indicators for one quarter, as a printable page (escaped, no script). The words
    are content/insight_texts.yml's."""
    t = found["totals"]
    share = t["answered_by_bot_share"]
    ratings = found["ratings"]
    say = insight_texts().report

    def table(caption: str, rows: list[tuple[str, Any]]) -> str:
        body = (
            "".join(
                f"<tr><th scope='row'>{escape(str(k))}</th><td>{escape(_number(v))}</td></tr>"
                for k, v in rows
            )
            or f"<tr><td colspan='2'>{escape(say['no_data'])}</td></tr>"
        )
        return f"<table><caption>{escape(caption)}</caption>{body}</table>"

    def listed(section: str) -> str:
        return table(say[section], [(item["label"], item["count"]) for item in found[section]])

    def totals(*names: str) -> list[tuple[str, Any]]:
        return [(say[name], t[name]) for name in names]

    def heading(key: str) -> str:
        return f"<h2>{escape(say[key])}</h2>"

    months = [(row["label"], row["conversations"]) for row in found["series"]]
    sections = [
        heading("questions"),
        table(say["conversations"], [(say["conversations_total"], t["conversations"]), *months]),
        *[listed(s) for s in ("themes", "user_types", "channels", "municipalities", "age_bands")],
        heading("answered_heading"),
        table(
            say["answered"],
            [
                *totals("answered_by_bot"),
                (say["answered_by_bot_share"], "" if share is None else f"{round(share * 100)}%"),
                *totals("handoffs", "left_messages", "abandoned", "anonymous", "referred"),
                *totals("crisis"),
            ],
        ),
        *[listed(s) for s in ("staff_outcomes", "referrals", "signals")],
        table(
            say["waiting"],
            [(k, found["waiting"][f"{k}_seconds"]) for k in ("p50", "p90", "p99")],
        ),
        heading("offers_heading"),
        table(say["offers"], totals("offers_shown", "offer_clicks", "divorce_info")),
        heading("satisfaction_heading"),
        table(
            say["ratings"],
            [
                (say["rating_count"], ratings["count"]),
                (say["rating_average"], ratings["average"]),
                *[
                    (say["score"].format(score=d["score"]), d["count"])
                    for d in ratings["distribution"]
                ],
            ],
        ),
        *[
            table(
                say[f"enough_{after}"],
                [
                    (say["enough_count"], found["enough"][after]["count"]),
                    *[(d["label"], d["count"]) for d in found["enough"][after]["distribution"]],
                ],
            )
            for after in ENOUGH_AFTER
        ],
    ]
    period = say["period"].format(start=found["period"]["from"], end=found["period"]["to"])
    return (
        "<!doctype html><html lang='nl'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title>"
        "<link rel='stylesheet' href='/staff/static/report.css'></head><body>"
        f"<h1>{escape(title)}</h1>"
        f"<p class='period'>{escape(period)}</p>" + "".join(sections) + "</body></html>"
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
        {"id": f"opvoedvraag/{t.id}", "label": insight_texts().topic_choice.format(title=t.title)}
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
