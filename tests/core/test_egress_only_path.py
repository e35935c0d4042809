"""One egress path (docs/architecture.md): outside core/egress.py no server-side module opens a
connection of its own, and every endpoint target the server builds gets the egress transport.

Exempt: the CLI (`cli/`, requests an operator makes from their own machine to URLs they typed)
and the pure verification engine (it builds its httpx client on whatever transport its caller
passes; the server's callers are checked below).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "modelcvd"
EGRESS = "core/egress.py"
EXEMPT = ("cli/", "verification/engine/")

NETWORK_MODULES = {
    "socket",
    "http.client",
    "urllib.request",
    "urllib3",
    "requests",
    "aiohttp",
    "httpcore",
}
# httpx may be imported for its exception classes; opening a client or a request is egress's.
HTTPX_REQUESTING = {
    "Client",
    "AsyncClient",
    "HTTPTransport",
    "AsyncHTTPTransport",
    "request",
    "stream",
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "head",
    "options",
}
ENDPOINT_BUILDERS = {"target_from_uri", "OpenAICompatibleTarget"}


def _server_modules() -> list[tuple[str, ast.Module]]:
    modules = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if "migrations" in path.parts or relative == EGRESS or relative.startswith(EXEMPT):
            continue
        modules.append((relative, ast.parse(path.read_text(encoding="utf-8"))))
    return modules


def test_no_server_module_opens_connections_outside_egress() -> None:
    found = []
    for relative, tree in _server_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
                if node.module == "httpx":
                    names += [f"httpx.{a.name}" for a in node.names if a.name in HTTPX_REQUESTING]
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "httpx"
                and node.attr in HTTPX_REQUESTING
            ):
                names = [f"httpx.{node.attr}"]
            else:
                continue
            for name in names:
                if name in NETWORK_MODULES or name.startswith("httpx."):
                    found.append(f"{relative}:{node.lineno} {name}")
    assert found == [], "outbound requests go through modelcvd.core.egress"


def test_every_endpoint_target_the_server_builds_gets_a_transport() -> None:
    calls, missing = 0, []
    for relative, tree in _server_modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in ENDPOINT_BUILDERS:
                calls += 1
                if not any(k.arg == "transport" for k in node.keywords):
                    missing.append(f"{relative}:{node.lineno}")
    assert calls >= 1
    assert missing == []
