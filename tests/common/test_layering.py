"""The import layering the README's architecture section states, checked on the source (AST, so
nothing is imported). From the top down, each package may import only those below it:

    bot/        the application: wiring, channels, conversation core
    handoff/    the handoff, the staff console's API and the service's questions
    insight/    the figures and their pages (reads what the registrar counted)
                handoff/ and insight/ are siblings: neither imports the other
    staff/      staff accounts, logins, sessions and the auth both staff APIs use
    base/       the service's ground floor: Redis client factory, web helpers, the registrar
                (the counting handoff/ and insight/ share), redaction
    common/     both environments: the standard library and PyYAML only

    assistant/  the Rasa side: common/ only; the service never imports it
    cluster/    a tool (make cluster, the cluster tests, bench/): starts the processes the way
                tests/servers.py does and imports no package of ours; nothing imports it but
                tests and benchmarks

And the handoff service stays thin: callers use its intent methods, never its parts.
"""

from __future__ import annotations

import ast
import functools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS: dict[str, set[str]] = {  # package -> the packages of ours it may import
    "common": set(),
    "assistant": {"common"},
    "base": {"common"},
    "staff": {"base", "common"},
    "handoff": {"staff", "base", "common"},
    "insight": {"staff", "base", "common"},  # a sibling of handoff/: neither imports the other
    "bot": {"insight", "handoff", "staff", "base", "common"},
    "cluster": set(),
}
OURS = set(LAYERS)
COMMON_MAY_USE = set(sys.stdlib_module_names) | {"yaml"}  # both environments have these


@functools.cache
def _tree(path: Path) -> ast.Module:
    """Each file is parsed once for all the checks below."""
    return ast.parse(path.read_text(), str(path))


def imported(path: Path) -> set[str]:
    """The top-level names of every module ``path`` imports (at any depth of the file)."""
    found: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            found.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.partition(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.add(path.relative_to(ROOT).parts[0])  # relative: its own package
    return found


def violations(root: Path) -> list[str]:
    """``file: imports package`` for every import that runs up (or sideways) the layering."""
    found = []
    for package, allowed in LAYERS.items():
        for path in sorted((root / package).rglob("*.py")):
            for name in sorted(imported(path)):
                if name in OURS and name != package and name not in allowed:
                    found.append(f"{path.relative_to(root)}: imports {name}")
                elif package == "common" and name not in OURS and name not in COMMON_MAY_USE:
                    found.append(f"{path.relative_to(root)}: imports {name} (not stdlib/PyYAML)")
    return found


def test_no_import_runs_up_the_layering() -> None:
    assert violations(ROOT) == []


def test_every_package_of_ours_is_in_the_layering() -> None:
    """A new top-level package must be given its place, or the check above would skip it."""
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages == OURS


def test_the_check_sees_an_import_that_runs_up(tmp_path: Path) -> None:
    for package in LAYERS:
        (tmp_path / package).mkdir()
    (tmp_path / "handoff" / "web.py").write_text("from bot.app_keys import SETTINGS\n")
    (tmp_path / "insight" / "ok.py").write_text("from staff import auth\n")
    (tmp_path / "insight" / "sideways.py").write_text("from handoff import keys\n")
    (tmp_path / "common" / "x.py").write_text("def f():\n    import aiohttp\n")
    assert violations(tmp_path) == [
        "common/x.py: imports aiohttp (not stdlib/PyYAML)",
        "handoff/web.py: imports bot",
        "insight/sideways.py: imports handoff",
    ]


# --- the thin handoff service (handoff/service.py) ------------------------------------------

INSIDE = {"store", "outbox", "registrar", "redis", "presence", "router", "durability", "enough"}
SERVICE_MODULES = {
    f"handoff/{name}.py"
    for name in ("service", "service_parts", "user_side", "staff_side", "queue_news", "upkeep")
}


def _is_service(node: ast.expr) -> bool:
    """``handoff``, ``service`` (also as ``x.handoff``, ``self.service``) or ``app[HANDOFF]``:
    how callers name it."""
    if isinstance(node, ast.Attribute):
        return node.attr in ("handoff", "service")
    if isinstance(node, ast.Name):
        return node.id in ("handoff", "service")
    return (
        isinstance(node, ast.Subscript)
        and isinstance(node.slice, ast.Name)
        and node.slice.id == "HANDOFF"
    )


def reaches_inside(root: Path) -> list[str]:
    """``file:line: .store`` for every use of one of the service's parts outside the service
    (the staff API in handoff/ included)."""
    found = []
    for package in sorted(LAYERS):
        for path in sorted((root / package).rglob("*.py")):
            if path.relative_to(root).as_posix() in SERVICE_MODULES:
                continue
            for node in ast.walk(_tree(path)):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr in INSIDE
                    and _is_service(node.value)
                ):
                    found.append(f"{path.relative_to(root)}:{node.lineno}: .{node.attr}")
    return found


def _is_self(node: ast.Attribute) -> bool:
    """``self.x`` (an assignment target)."""
    return isinstance(node.value, ast.Name) and node.value.id == "self"


def public_parts(service: Path) -> set[str]:
    """The names of ``INSIDE`` that ``HandoffService`` makes public (attribute, method or
    property)."""
    tree = ast.parse(service.read_text(), str(service))
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "HandoffService"]
    names = {n.name for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    for node in ast.walk(cls):
        targets = node.targets if isinstance(node, ast.Assign) else []
        for target in targets:
            for name in target.elts if isinstance(target, ast.Tuple) else [target]:
                if isinstance(name, ast.Attribute) and _is_self(name):
                    names.add(name.attr)
    return names & INSIDE


def test_no_caller_reaches_into_the_handoff_service() -> None:
    assert reaches_inside(ROOT) == []
    assert public_parts(ROOT / "handoff" / "service.py") == set()


def test_the_check_sees_a_caller_reaching_in(tmp_path: Path) -> None:
    for package in LAYERS:
        (tmp_path / package).mkdir()
    (tmp_path / "bot" / "chat.py").write_text(
        "async def f(core, app):\n"
        "    await core.handoff.outbox.push('c', {})\n"
        "    await app[HANDOFF].store.get('h')\n"
        "    await core.handoff.status('c')\n"
    )
    (tmp_path / "handoff" / "service.py").write_text(
        "class HandoffService:\n"
        "    def __init__(self, redis):\n"
        "        self.store, self._outbox = redis, redis\n"
        "    @property\n"
        "    def redis(self):\n"
        "        return None\n"
    )
    assert reaches_inside(tmp_path) == ["bot/chat.py:2: .outbox", "bot/chat.py:3: .store"]
    assert public_parts(tmp_path / "handoff" / "service.py") == {"store", "redis"}
