"""Runs avidtools and cvelib on exported files, as a consumer of modelcvd's exports would.

    .consumers/py312/bin/python tools/consumers/py_consumers.py avid FILE...
    .consumers/py312/bin/python tools/consumers/py_consumers.py cve FILE...

Runs in its own Python 3.12 virtual environment (`make consumers`; avidtools declares Python
>= 3.12), never in modelcvd's, so the consumers' pydantic and jsonschema are their own.

avid: each file is loaded into avidtools' `Report` model, then turned into a `Vulnerability`
  with AVID's own `Vulnerability.ingest`, and both are dumped and loaded again. The models
  ignore unknown keys silently, so every key of the file that the model dropped is an error
  too: a consumer would lose it.
cve: each file goes through cvelib's schema validation, `CveRecord.validate`: a full record
  (dataType CVE_RECORD) against the bundled CVE JSON 5 schema and its CNA container against
  the published-CNA-container schema (what `cve publish` checks before it sends anything);
  a bare CNA container against the latter only.

Prints one JSON object: {"consumer", "files": {FILE: {"ok", "errors": [...]}}}. Exit 0 when
every file passed, 1 when any failed, 2 on a usage error.
"""

from __future__ import annotations

import json
import sys
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

# avidtools' models still carry a pydantic v1 `Config.fields`, which v2 ignores with a warning.
warnings.filterwarnings("ignore", message="Valid config keys have changed in V2")

from avidtools.datamodels.report import Report  # noqa: E402
from avidtools.datamodels.vulnerability import Vulnerability  # noqa: E402
from cvelib.cve_api import CveRecord, CveRecordValidationError  # noqa: E402
from pydantic import ValidationError  # noqa: E402


def _dropped(given: Any, kept: Any, path: str = "") -> list[str]:
    """Paths present in `given` (the file) but missing from `kept` (the model's dump)."""
    if isinstance(given, dict):
        if not isinstance(kept, dict):
            return [path or "/"]
        lost = []
        for key, value in given.items():
            if key not in kept:
                lost.append(f"{path}/{key}")
            else:
                lost += _dropped(value, kept[key], f"{path}/{key}")
        return lost
    if isinstance(given, list):
        if not isinstance(kept, list) or len(kept) != len(given):
            return [path or "/"]
        return [p for i, v in enumerate(given) for p in _dropped(v, kept[i], f"{path}/{i}")]
    return []


def check_avid(document: Any) -> list[str]:
    try:
        report = Report.model_validate(document)
        Report.model_validate_json(report.model_dump_json(exclude_none=True))
        vulnerability = Vulnerability()
        vulnerability.ingest(report)
        Vulnerability.model_validate_json(vulnerability.model_dump_json(exclude_none=True))
    except ValidationError as error:
        return [
            f"avidtools: /{'/'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        ]
    return [
        f"avidtools ignores {path} (unknown to the model: a consumer loses it)"
        for path in _dropped(document, report.model_dump(mode="json"))
    ]


def check_cve(document: Any) -> list[str]:
    if not isinstance(document, dict):
        return ["cvelib: not a JSON object"]
    checks: list[tuple[str, Any, Any]] = []
    if document.get("dataType") == "CVE_RECORD":
        checks.append(("full record", document, CveRecord.Schemas.V5_SCHEMA))
        cna = document.get("containers", {}).get("cna")
        checks.append(("CNA container", cna, CveRecord.Schemas.CNA_PUBLISHED))
    else:
        checks.append(("CNA container", document, CveRecord.Schemas.CNA_PUBLISHED))
    errors = []
    for what, part, schema in checks:
        try:
            CveRecord.validate(part, schema_path=schema)
        except CveRecordValidationError as error:
            errors += [
                f"cvelib ({what}): /{'/'.join(str(p) for p in e.absolute_path)}: {e.message[:300]}"
                for e in error.errors or []
            ] or [f"cvelib ({what}): {error}"]
    return errors


CHECKS = {
    "avid": (check_avid, "avidtools"),
    "cve": (check_cve, "cvelib"),
}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in CHECKS:
        sys.stderr.write(f"usage: py_consumers.py {{{','.join(CHECKS)}}} FILE...\n")
        return 2
    check, package = CHECKS[argv[0]]
    files: dict[str, dict[str, Any]] = {}
    for name in argv[1:]:
        try:
            document = json.loads(Path(name).read_text("utf-8"))
        except (OSError, ValueError) as error:
            files[name] = {"ok": False, "errors": [f"not readable JSON: {error}"]}
            continue
        errors = check(document)
        files[name] = {"ok": not errors, "errors": errors}
    consumer = f"{package} {version(package)} (Python {sys.version.split()[0]})"
    print(json.dumps({"consumer": consumer, "files": files}))
    return 0 if all(f["ok"] for f in files.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
