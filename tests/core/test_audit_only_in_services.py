"""The audit chain is written only by services.

A *services module* is a module named `services.py`, or any module inside a package named
`services/` (an app whose writes outgrew one file, e.g. `cases/services/embargo.py`). Every
write lives in such a module, in one transaction with its audit event, so `audit_record` is
called (or imported, or reached through its module) nowhere else under src/modelcvd; the one
exception is core/audit.py, which defines it. Code elsewhere that needs an event on the chain
calls a service of the app that owns the change (e.g. a form's clean() calls
accounts.services.sign_in_refused_audit).
"""

from __future__ import annotations

import ast
from pathlib import Path

import modelcvd

SRC = Path(modelcvd.__file__).resolve().parent
DEFINED_IN = SRC / "core" / "audit.py"


def is_services_module(path: Path) -> bool:
    relative = path.relative_to(SRC)
    return relative.name == "services.py" or "services" in relative.parts[:-1]


def audit_uses(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) for every import, name or attribute that reaches audit_record (reading the
    chain, `audit_verify`, is anyone's business)."""
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(
            a.name in ("audit_record", "*") for a in node.names
        ):
            uses.append((node.lineno, f"from {node.module} import audit_record"))
        elif isinstance(node, ast.Name) and node.id == "audit_record":
            uses.append((node.lineno, "audit_record"))
        elif isinstance(node, ast.Attribute) and node.attr == "audit_record":
            uses.append((node.lineno, "<module>.audit_record"))
    return uses


def test_audit_record_is_used_only_in_services_modules() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path == DEFINED_IN or is_services_module(path):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        offenders += [f"{path.relative_to(SRC)}:{line}: {what}" for line, what in audit_uses(tree)]
    assert offenders == [], "audit_record outside a services module:\n" + "\n".join(offenders)


def test_the_check_sees_calls_imports_and_module_access() -> None:
    source = (
        "from modelcvd.core.audit import audit_record\n"
        "from modelcvd.core.audit import audit_verify\n"
        "from modelcvd.core import audit\n"
        "audit.audit_record(actor=None, action='x')\n"
        "record = audit_record\n"
    )
    lines = sorted({line for line, _ in audit_uses(ast.parse(source))})
    assert lines == [1, 4, 5]
    assert is_services_module(SRC / "cases" / "services" / "embargo.py")
    assert is_services_module(SRC / "accounts" / "services.py")
    assert not is_services_module(SRC / "accounts" / "forms.py")
