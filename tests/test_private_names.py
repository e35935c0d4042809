"""A `_private` name belongs to its app: no module imports one from another app, or reaches
one through an imported module (`views._helper`). What apps share has a real name."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src"
PACKAGE = ROOT / "modelcvd"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _app(module: str) -> str:
    """`modelcvd.cases.services.x` -> `cases`; a top-level module (`modelcvd.urls`) is its own."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _uses(source: str, importer: str, *, is_package: bool) -> Iterator[tuple[int, str]]:
    tree = ast.parse(source)
    modules: dict[str, str] = {}  # local name -> the modelcvd module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            origin = _absolute(node, importer, is_package)
            if not origin.startswith("modelcvd"):
                continue
            for alias in node.names:
                if _is_private(alias.name) and _app(origin) != _app(importer):
                    yield node.lineno, f"from {origin} import {alias.name}"
                if _is_module(f"{origin}.{alias.name}"):
                    modules[alias.asname or alias.name] = f"{origin}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("modelcvd."):
                    if alias.asname:
                        modules[alias.asname] = alias.name
                    else:
                        modules.setdefault("modelcvd", "modelcvd")
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _is_private(node.attr)):
            continue
        chain, value = [], node.value
        while isinstance(value, ast.Attribute):
            chain.append(value.attr)
            value = value.value
        if not isinstance(value, ast.Name) or value.id not in modules:
            continue
        owner = ".".join([modules[value.id], *reversed(chain)])
        if _app(owner) != _app(importer):
            yield node.lineno, f"{owner}.{node.attr}"


def private_uses(source: str, importer: str, *, is_package: bool = False) -> list[str]:
    """Each use in module `importer` (its `source`) of another app's private name, as
    `line: what`, in line order."""
    return [
        f"{line}: {what}" for line, what in sorted(_uses(source, importer, is_package=is_package))
    ]


def test_the_check_sees_a_private_import() -> None:
    probe = (
        "from modelcvd.cases import views\n"
        "from modelcvd.cases.page import _helper\n"
        "import modelcvd.reports.views as rv\n"
        "views._x()\nrv._y\nfrom . import _mine\n"
    )
    assert list(private_uses(probe, "modelcvd.web.probe")) == [
        "2: from modelcvd.cases.page import _helper",
        "4: modelcvd.cases.views._x",
        "5: modelcvd.reports.views._y",
    ]
    assert list(private_uses(probe, "modelcvd.cases.probe")) == ["5: modelcvd.reports.views._y"]


def test_no_module_uses_another_apps_private_names() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{hit}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for hit in private_uses(
            path.read_text(), _module_name(path), is_package=path.name == "__init__.py"
        )
    ]
    assert found == [], "\n".join(found)
