"""The API description: docs/openapi.yaml as JSON at /api/openapi.json and as a page at /api/docs.

The page is made here from the document, on the server: every text escaped, no script, one
inline style allowed by its hash. So it needs no UI framework, and it shows exactly the document
that tests/bot/test_openapi.py checks against the service.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import json
import re
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

SPEC = Path(__file__).resolve().parents[1] / "docs" / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

STYLE = """
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
color:#1f1f1f;background:#fbfaf7}
main{max-width:60rem;margin:0 auto;padding:1rem 1.25rem 3rem}
h1{color:#00606b}h2{margin-top:2.5rem;border-bottom:2px solid #00606b}
h3{margin:2rem 0 .25rem;font-size:1.1rem}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}
pre{background:#f0eee8;padding:.75rem;overflow-x:auto}
.method{display:inline-block;min-width:4.5rem;color:#fff;background:#00606b;padding:0 .4rem;
text-align:center;border-radius:3px}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #d8d4ca;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#efece4}ul.schema{margin:.25rem 0;padding-left:1.25rem}
.muted{color:#555}a{color:#00606b}
""".strip()
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
# Nothing runs, nothing loads, nothing frames it: only its own inline style, by hash.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

routes = web.RouteTableDef()


@functools.cache
def spec() -> dict[str, Any]:
    """The document as the repository holds it (read once)."""
    found = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    if not isinstance(found, dict):
        raise ValueError(f"{SPEC} is not an OpenAPI document")
    return found


@functools.cache
def _json_text() -> str:
    return json.dumps(spec(), ensure_ascii=False)


@routes.get("/api/openapi.json")
async def openapi_document(request: web.Request) -> web.Response:
    return web.Response(text=_json_text(), content_type="application/json", charset="utf-8")


@routes.get("/api/docs")
async def openapi_page(request: web.Request) -> web.Response:
    return web.Response(
        text=page(), content_type="text/html", charset="utf-8", headers=PAGE_HEADERS
    )


# --- the page ------------------------------------------------------------------------------


def _inline(text: str) -> str:
    """Escaped text with the document's Markdown `code` and **bold** as HTML."""
    escaped = html.escape(text, quote=False)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)


def _prose(text: str | None) -> str:
    """Paragraphs and ``-`` lists of a description (the little Markdown the document uses)."""
    if not text:
        return ""
    parts = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        if lines and lines[0].lstrip().startswith("- "):
            items, current = [], ""
            for line in lines:
                if line.lstrip().startswith("- "):
                    if current:
                        items.append(current)
                    current = line.lstrip()[2:]
                else:
                    current += " " + line.strip()
            items.append(current)
            parts.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
        else:
            parts.append(f"<p>{_inline(' '.join(line.strip() for line in lines))}</p>")
    return "".join(parts)


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _resolve(item: dict[str, Any]) -> dict[str, Any]:
    """A parameter, response, header or request body, with its ``$ref`` followed."""
    while "$ref" in item:
        target: Any = spec()
        for part in item["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        item = target
    return item


def _json(value: Any) -> str:
    return html.escape(json.dumps(value, ensure_ascii=False))


_LIMITS = (
    ("minimum", "≥ {}"),
    ("maximum", "≤ {}"),
    ("minLength", "at least {} characters"),
    ("maxLength", "at most {} characters"),
    ("minItems", "at least {} items"),
    ("maxItems", "at most {} items"),
    ("pattern", "matches {}"),
    ("format", "format {}"),
    ("default", "default {}"),
)


def _schema(schema: Any) -> str:
    """A schema as a short type with its limits; objects as a nested list of their fields."""
    if not isinstance(schema, dict):
        return ""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f'<a href="#schema-{html.escape(name)}">{html.escape(name)}</a>'
    parts: list[str] = []
    for key, word in (("allOf", "all of"), ("oneOf", "one of"), ("anyOf", "any of")):
        if key in schema:
            parts.append(f"{word}: " + " + ".join(_schema(s) for s in schema[key]))
    if "const" in schema:
        parts.append(f"<code>{_json(schema['const'])}</code>")
    if "enum" in schema:
        parts.append("one of " + ", ".join(f"<code>{_json(v)}</code>" for v in schema["enum"]))
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind else []
    if kinds:
        parts.insert(
            0,
            " or ".join(
                f"array of {_schema(schema.get('items'))}" if k == "array" else html.escape(k)
                for k in kinds
            ),
        )
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        parts.append(f"map of string to {_schema(extra) or 'any'}")
    for key, text in _LIMITS:
        if key in schema:
            value = schema[key]
            code = key in ("pattern", "default")
            parts.append(text.format(f"<code>{_json(value)}</code>" if code else _json(value)))
    if schema.get("description"):
        parts.append(f'<span class="muted">{_inline(schema["description"])}</span>')
    summary = "; ".join(p for p in parts if p)
    properties = schema.get("properties")
    if isinstance(properties, dict) and properties:
        required = set(schema.get("required", []))
        rows = "".join(
            f"<li><code>{html.escape(name)}</code>"
            f"{'' if name in required else ' (optional)'}: {_schema(sub)}</li>"
            for name, sub in properties.items()
        )
        closed = "; no other fields" if schema.get("additionalProperties") is False else ""
        summary = f'{summary or "object"}{closed}<ul class="schema">{rows}</ul>'
    return summary


def _examples(holder: dict[str, Any]) -> str:
    found = []
    if "example" in holder:
        found.append(("", holder["example"]))
    for name, example in holder.get("examples", {}).items():
        label = example.get("summary") or name
        found.append((label, example.get("value")))
    return "".join(
        (f"<p class='muted'>{_inline(label)}</p>" if label else "")
        + f"<pre>{html.escape(json.dumps(value, ensure_ascii=False, indent=2))}</pre>"
        for label, value in found
    )


def _security(operation: dict[str, Any]) -> str:
    needs = operation.get("security", spec().get("security", []))
    options = [
        " and ".join(f"<code>{html.escape(name)}</code>" for name in option) or "none"
        for option in needs
    ]
    return "<p><strong>Authentication:</strong> " + (" or ".join(options) or "none") + "</p>"


def _parameters(parameters: list[dict[str, Any]]) -> str:
    if not parameters:
        return ""
    rows = []
    for parameter in map(_resolve, parameters):
        examples = ", ".join(
            f"<code>{_json(e.get('value'))}</code>"
            + (f" ({_inline(e['summary'])})" if e.get("summary") else "")
            for e in parameter.get("examples", {}).values()
        )
        if "example" in parameter:
            examples = f"<code>{_json(parameter['example'])}</code>"
        optional = "" if parameter.get("required") else ", optional"
        rows.append(
            f"<tr><td><code>{html.escape(parameter['name'])}</code></td>"
            f"<td>{html.escape(parameter['in'])}{optional}</td>"
            f"<td>{_schema(parameter.get('schema'))}{_prose(parameter.get('description'))}"
            f"{'<br>Examples: ' + examples if examples else ''}</td></tr>"
        )
    return (
        "<table><tr><th>Parameter</th><th>In</th><th>Value</th></tr>" + "".join(rows) + "</table>"
    )


def _content(content: dict[str, Any], examples: bool) -> str:
    out = []
    for media, body in content.items():
        out.append(f"<p><code>{html.escape(media)}</code>: {_schema(body.get('schema'))}</p>")
        if examples:
            out.append(_examples(body))
    return "".join(out)


def _responses(responses: dict[str, Any]) -> str:
    rows = []
    for status, response in responses.items():
        response = _resolve(response)
        headers = "".join(
            f"<p>Header <code>{html.escape(name)}</code>"
            f"{'' if _resolve(h).get('required') else ' (optional)'}: "
            f"{_schema(_resolve(h).get('schema'))} {_prose(_resolve(h).get('description'))}</p>"
            for name, h in response.get("headers", {}).items()
        )
        rows.append(
            f"<tr><td><strong>{html.escape(status)}</strong></td><td>"
            f"{_prose(response.get('description'))}{headers}"
            f"{_content(response.get('content', {}), examples=True)}</td></tr>"
        )
    return "<table><tr><th>Status</th><th>Answer</th></tr>" + "".join(rows) + "</table>"


def _operation(path: str, method: str, item: dict[str, Any], op: dict[str, Any]) -> str:
    anchor = html.escape(op.get("operationId", f"{method}-{path}"))
    body = op.get("requestBody")
    request = ""
    if body is not None:
        body = _resolve(body)
        request = "<h4>Request body</h4>" + _content(body.get("content", {}), examples=True)
    return (
        f'<section id="{anchor}"><h3><span class="method">{method.upper()}</span> '
        f"<code>{html.escape(path)}</code></h3>"
        f"<p>{_inline(op.get('summary', ''))}</p>{_prose(op.get('description'))}"
        f"{_security(op)}"
        f"{_parameters([*item.get('parameters', []), *op.get('parameters', [])])}"
        f"{request}<h4>Answers</h4>{_responses(op.get('responses', {}))}</section>"
    )


def operations() -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(path, method, path item, operation) of every documented operation, in document order."""
    return [
        (path, method, item, item[method])
        for path, item in spec()["paths"].items()
        for method in METHODS
        if method in item
    ]


@functools.cache
def page() -> str:
    info = spec()["info"]
    tags = spec().get("tags", [])
    ops = operations()
    toc: list[str] = []
    sections: list[str] = []
    described: set[str] = set()
    for tag in tags:
        tagged = [o for o in ops if tag["name"] in o[3].get("tags", [])]
        toc.append(
            f"<li>{html.escape(tag['name'])}<ul>"
            + "".join(
                f'<li><a href="#{html.escape(op.get("operationId", ""))}">{m.upper()} '
                f"{html.escape(p)}</a></li>"
                for p, m, _, op in tagged
            )
            + "</ul></li>"
        )
        parts = [
            f'<h2 id="tag-{html.escape(tag["name"])}">{html.escape(tag["name"])}</h2>',
            _prose(tag.get("description")),
        ]
        for path, method, item, op in tagged:
            if path not in described:  # a path's own description, before its first operation
                described.add(path)
                parts.append(_prose(item.get("description")))
            parts.append(_operation(path, method, item, op))
        sections.append("".join(parts))
    components = spec().get("components", {})
    schemes = "".join(
        f"<li><code>{html.escape(name)}</code>: {html.escape(s.get('type', ''))} in "
        f"{html.escape(s.get('in', ''))} <code>{html.escape(s.get('name', ''))}</code>. "
        f"{_prose(s.get('description'))}</li>"
        for name, s in components.get("securitySchemes", {}).items()
    )
    schemas = "".join(
        f'<h3 id="schema-{html.escape(name)}">{html.escape(name)}</h3><p>{_schema(schema)}</p>'
        for name, schema in components.get("schemas", {}).items()
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(info['title'])}: HTTP API</title><style>{STYLE}</style></head>"
        f"<body><main><h1>{html.escape(info['title'])}: HTTP API</h1>"
        f"<p class='muted'>OpenAPI {html.escape(spec()['openapi'])}, version "
        f"{html.escape(str(info['version']))}. The document itself: "
        '<a href="/api/openapi.json">/api/openapi.json</a> (docs/openapi.yaml).</p>'
        f"<p>{_inline(info.get('summary', ''))}</p>{_prose(info.get('description'))}"
        f"<h2>Contents</h2><ul>{''.join(toc)}<li><a href='#schemas'>Schemas</a></li></ul>"
        + "".join(sections)
        + f"<h2>Authentication</h2><ul>{schemes}</ul>"
        f'<h2 id="schemas">Schemas</h2>{schemas}</main></body></html>'
    )
