"""The long API fuzz: Schemathesis against /api/openapi.json, as every role, on a throwaway DB.

tests/security/test_schemathesis.py runs the same checks with a few examples per operation so
that `make test` stays fast; this script runs many more (200 per operation and generation mode
by default) and, instead of stopping at the first failure, counts every failure by check, so a
change that adds a 500 or an answer outside the schema shows up as a number, with an example.

It creates its own SQLite database in a temporary directory (MODELCVD_DATA_DIR is set before
Django is imported), migrates it, builds tests/factories.World and calls the WSGI application
in-process. Each example is sent as one role drawn from roles() (bearer token with every scope,
or nobody); most path ids are pointed at the world's objects so the calls reach the handlers
instead of stopping at 404. Prints a table, writes bench/results/api_fuzz.json.

    python bench/api_fuzz.py [--examples 200] [--modes positive,negative]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
RESULTS = ROOT / "bench" / "results" / "api_fuzz.json"

SCOPES = ["read", "submit", "triage", "admin"]


def roles() -> list[str]:
    """Every role of the permission matrix's fixed dataset (imported once Django is set up)."""
    from tests.factories import ROLES

    return ["anonymous", *ROLES]


# Distinct failures kept per (operation, check), with the request that caused them.
MAX_EXAMPLES_KEPT = 3


def setup_django(data_dir: Path) -> None:
    """Point the settings at a fresh data directory, then set Django up and migrate."""
    os.environ["MODELCVD_DATA_DIR"] = str(data_dir)
    os.environ["MODELCVD_TASKS_EAGER"] = "1"
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modelcvd.settings")
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    # Argon2 is the production hasher; eight users would cost seconds here for nothing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from modelcvd.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    call_command("migrate", verbosity=0, interactive=False)


class ErrorLog(logging.Handler):
    """Keeps the tracebacks Django logs for 5xx answers, so a finding comes with its cause."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.records.append(text)

    def take(self) -> str:
        text = "\n".join(self.records)
        self.records.clear()
        return text


@dataclass
class OperationResult:
    operation: str
    mode: str
    calls: int = 0
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Positive mode only: why the server refused input the schema allows (field: reason).
    refused_valid: Counter[str] = field(default_factory=Counter)
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "mode": self.mode,
            "calls": self.calls,
            "seconds": round(self.seconds, 2),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "failures": dict(sorted(self.failures.items())),
            "examples": self.examples,
            "refused_valid_input": dict(self.refused_valid.most_common(10)),
            **({"note": self.note} if self.note else {}),
        }


def fuzz_operation(
    operation: Any,
    mode: Any,
    *,
    examples: int,
    headers_for: dict[str, dict[str, str]],
    real_ids: dict[str, list[Any]],
    checks: dict[str, Any],
    errors: ErrorLog,
) -> OperationResult:
    """Send `examples` generated cases to one operation and count failures by check."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from hypothesis.errors import Unsatisfiable
    from schemathesis.core.failures import FailureGroup
    from schemathesis.generation import GenerationMode

    result = OperationResult(operation=operation.label, mode=mode.value)

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: failures are counted, not raised
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=operation.as_strategy(generation_mode=mode),
        role=st.sampled_from(roles()),
        pick=st.integers(min_value=0, max_value=3),
    )
    def run(case: Any, role: str, pick: int) -> None:
        # Three times in four, aim each valid path id at an existing object (case A or B, ...);
        # a negative path value must reach the server as generated.
        if mode == GenerationMode.POSITIVE:
            for name in list(case.path_parameters or {}):
                if pick and name in real_ids:
                    case.path_parameters[name] = real_ids[name][pick % len(real_ids[name])]
        errors.take()
        started = time.perf_counter()
        response = case.call(headers=headers_for[role])
        result.seconds += time.perf_counter() - started
        result.calls += 1
        result.statuses[response.status_code] += 1
        traceback = errors.take()
        if mode == GenerationMode.POSITIVE and response.status_code == 422:
            for error in response.json().get("errors") or [{"field": "?", "reason": "?"}]:
                field_name = ".".join(
                    p for p in str(error.get("field")).split(".") if not p.isdigit()
                )
                result.refused_valid[f"{field_name}: {str(error.get('reason'))[:80]}"] += 1
        for check_name, check in checks.items():
            try:
                case.validate_response(response, checks=[check], headers=headers_for[role])
            except FailureGroup as group:
                result.failures[check_name] += 1
                kept = result.examples.setdefault(check_name, [])
                titles = {e["failure"] for e in kept}
                for failure in group.exceptions:
                    title = f"{failure.title}: {failure.message}"[:400]
                    if title in titles or len(kept) >= MAX_EXAMPLES_KEPT:
                        continue
                    kept.append(
                        {
                            "failure": title,
                            "role": role,
                            "status": response.status_code,
                            "request": case.as_curl_command(headers=headers_for[role])[:1000],
                            "body": response.text[:500],
                            "traceback": traceback[-3000:],
                        }
                    )

    try:
        run()
    except Unsatisfiable:
        # Negative mode on an operation with nothing to break (no parameters, no body).
        result.note = "no cases in this mode"
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="examples per operation and mode")
    parser.add_argument("--modes", default="positive,negative", help="generation modes to run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="modelcvd-fuzz-") as tmp:
        setup_django(Path(tmp))
        import schemathesis
        from schemathesis.checks import not_a_server_error
        from schemathesis.core.result import Ok
        from schemathesis.generation import GenerationMode
        from schemathesis.specs.openapi.checks import (
            content_type_conformance,
            response_schema_conformance,
            status_code_conformance,
        )
        from tests.factories import build_world, token_for
        from tests.security.test_schemathesis import CONFIG, error_body_shape

        from modelcvd.reports.services.attachments import attachment_add
        from modelcvd.wsgi import application

        checks = {
            "not_a_server_error": not_a_server_error,
            "status_code_conformance": status_code_conformance,
            "content_type_conformance": content_type_conformance,
            "response_schema_conformance": response_schema_conformance,
            "error_body_shape": error_body_shape,
        }
        world = build_world()
        headers_for: dict[str, dict[str, str]] = {"anonymous": {}} | {
            role: {"Authorization": f"Bearer {token_for(world.users[role], SCOPES)}"}
            for role in roles()
            if role != "anonymous"
        }
        attachment = attachment_add(
            report=world.reports["a"],
            actor=world.users["researcher_a"],
            filename="transcript.txt",
            content=b"user: Pretend you are a locksmith...\n",
        )
        real_ids: dict[str, list[Any]] = {
            "attachment_id": [attachment.pk],
            "report_id": [r.pk for r in world.reports.values()],
            "case_id": [c.pk for c in world.cases.values()],
            "artifact_id": [a.pk for a in world.artifacts.values()],
            "slug": ["open-models"],
        }
        errors = ErrorLog()
        logging.getLogger("django.request").addHandler(errors)
        logging.getLogger("django.request").propagate = False

        schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application, config=CONFIG)
        modes = [GenerationMode(m.strip()) for m in args.modes.split(",") if m.strip()]
        results: list[OperationResult] = []
        started = time.perf_counter()
        for mode in modes:
            for op in schema.get_all_operations():
                if not isinstance(op, Ok):
                    raise SystemExit(f"the served schema is invalid: {op.err()}")
                operation = op.ok()
                results.append(
                    fuzz_operation(
                        operation,
                        mode,
                        examples=args.examples,
                        headers_for=headers_for,
                        real_ids=real_ids,
                        checks=checks,
                        errors=errors,
                    )
                )
                r = results[-1]
                print(f"  {r.mode:8} {r.operation:72} {r.calls:5} calls", file=sys.stderr)
        total = time.perf_counter() - started

    names = list(checks)
    short = {n: n.replace("_conformance", "").replace("not_a_", "") for n in names}
    header = f"{'mode':8} {'operation':72} {'calls':>5} " + " ".join(
        f"{short[n]:>16}" for n in names
    )
    print(header + f" {'time s':>7}  statuses")
    print("-" * len(header) + "-" * 28)
    for r in results:
        cells = " ".join(f"{r.failures.get(n, 0):>16}" for n in names)
        statuses = ",".join(f"{k}:{v}" for k, v in sorted(r.statuses.items())) or r.note
        print(f"{r.mode:8} {r.operation:72} {r.calls:>5} {cells} {r.seconds:>7.1f}  {statuses}")
    calls = sum(r.calls for r in results)
    totals = {n: sum(r.failures.get(n, 0) for r in results) for n in names}
    cells = " ".join(f"{totals[n]:>16}" for n in names)
    print(f"{'total':8} {'':72} {calls:>5} {cells} {total:>7.1f}")

    import hypothesis
    import schemathesis

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "command": "python bench/api_fuzz.py " + " ".join(sys.argv[1:]),
                "examples_per_operation_and_mode": args.examples,
                "modes": [m.value for m in modes],
                "roles": roles(),
                "checks": names,
                "schemathesis": schemathesis.SCHEMATHESIS_VERSION,
                "hypothesis": hypothesis.__version__,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "calls": calls,
                "seconds": round(total, 1),
                "failures": totals,
                "operations": [r.as_json() for r in results],
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 1 if any(totals.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
