"""Layers are checked by a tool (issue #14, point 4): the import-linter contracts in
pyproject.toml hold, and an import inside a function is only for an optional heavy dependency
(the ml extra), with a comment on the line above saying why.

An import inside a function hides a dependency from the reader and, when it dodges a cycle,
the cycle itself; import-linter sees it all the same.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "modelcvd"

# The ml extra, and the modules of ours that import it at their top.
HEAVY = {"torch", "transformers", "safetensors", "gguf", "accelerate", "tokenizers"}
HEAVY_OURS = {
    "modelcvd.forensics.weights",
    "modelcvd.forensics.base_finder",
    "modelcvd.verification.engine.targets.huggingface",
    "modelcvd.verification.engine.judges.classifier",
}

# The CLI imports every command module to build its parser, before Django is set up (and
# `modelcvd --version` or `--help` must work with no settings or database at all), so each
# command imports the Django-backed modules it uses inside `run()`, after `django.setup()`.
SETUP_FIRST = "cli/"


def _function_imports(tree: ast.AST) -> Iterator[tuple[ast.stmt, list[str], str]]:
    """(import statement, modules it imports, name of the function it is in)."""
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import):
                yield node, [alias.name for alias in node.names], function.name
            elif isinstance(node, ast.ImportFrom) and node.module:
                yield node, [node.module], function.name


def _heavy(module: str) -> bool:
    return module.split(".")[0] in HEAVY or module in HEAVY_OURS


def _explained(lines: list[str], lineno: int) -> bool:
    """A comment on the import's line, or on the line above its block of imports."""
    index = lineno - 1
    if "#" in lines[index]:
        return True
    while index > 0 and lines[index - 1].strip().startswith(("import ", "from ")):
        index -= 1
    return index > 0 and lines[index - 1].strip().startswith("#")


def test_imports_inside_functions_are_for_heavy_optional_dependencies_only() -> None:
    wrong, unexplained = [], []
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        relative = path.relative_to(SRC).as_posix()
        lines = path.read_text(encoding="utf-8").splitlines()
        for node, modules, function in _function_imports(ast.parse("\n".join(lines))):
            # Django loads apps.py before models may be imported: ready() is the place.
            if function == "ready" and relative.endswith("apps.py"):
                continue
            if relative.startswith(SETUP_FIRST):
                continue
            if all(_heavy(module) for module in modules):
                if not _explained(lines, node.lineno):
                    unexplained.append(f"{relative}:{node.lineno}")
                continue
            for module in modules:
                wrong.append(f"{relative}:{node.lineno} imports {module} inside {function}()")
    assert not wrong, "import at the top of the module instead:\n" + "\n".join(wrong)
    assert not unexplained, "say why on the line above:\n" + "\n".join(unexplained)


def test_import_contracts_hold() -> None:
    lint_imports = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run(
        [lint_imports, str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
