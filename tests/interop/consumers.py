"""The real consumers of modelcvd's exports, run on exported files (tests/interop/test_real_consumers.py).

Each consumer is the tool a defender would use, run as its own users run it, never a copy of
its rules: the BSI `@secvisogram/csaf-validator-lib` (node) for CSAF, `avidtools`' pydantic
models for AVID and `cvelib`'s schema validation for CVE JSON 5 (both in a Python 3.12 venv),
and the `cvss` library (a dependency of modelcvd) re-parsing every CVSS vector of every file
and recomputing every score the file states. `make consumers` installs the first three into
.consumers/, pinned (tools/consumers/); `consumer_missing` says which are not there.

Every check answers {file: [problem, ...]}, one entry per file, an empty list when the consumer
accepted it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError
from jsonschema.protocols import Validator

from tests.interop.samples import (
    avid_report_validator,
    cna_container_validator,
    csaf_validator,
    cve_record_validator,
    errors,
    osv_validator,
)

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools" / "consumers"
CONSUMERS = ROOT / ".consumers"
PY312 = CONSUMERS / "py312" / "bin" / "python"
CSAF_LIB = CONSUMERS / "node" / "node_modules" / "@secvisogram" / "csaf-validator-lib"
# The `csaf` package (its own venv): the CSAF trusted provider's consumer.
CSAF_CLI = CONSUMERS / "csaf" / "bin" / "csaf"
TIMEOUT_S = 300

FORMATS = ("cve5", "osv", "csaf", "avid")
# Which consumers read each export format (the cvss check reads every format).
CONSUMERS_OF = {
    "cve5": ("cvelib", "cvss"),
    "osv": ("cvss",),
    "csaf": ("csaf-validator-lib", "cvss"),
    "avid": ("avidtools", "cvss"),
}

Problems = dict[str, list[str]]


def consumer_missing(consumer: str) -> str | None:
    """Why `consumer` cannot run here, or None when it can."""
    if consumer == "csaf-validator-lib":
        if shutil.which("node") is None:
            return "node is not on PATH (Node.js 20 is a prerequisite of `make consumers`)"
        if not (CSAF_LIB / "package.json").is_file():
            return f"@secvisogram/csaf-validator-lib is not installed under {CSAF_LIB}"
    elif consumer in ("avidtools", "cvelib") and not PY312.is_file():
        return f"the consumers' Python 3.12 venv is not installed at {PY312.parent.parent}"
    elif consumer == "csaf" and not CSAF_CLI.is_file():
        return f"the `csaf` package is not installed at {CSAF_CLI.parent.parent}"
    elif consumer == "gpg" and shutil.which("gpg") is None:
        return "gpg is not on PATH (GnuPG)"
    return None


def _run(command: list[str], files: list[Path]) -> tuple[str, Problems]:
    """Run a consumer script on `files`; (the consumer's name and version, its verdicts)."""
    if not files:
        return "", {}
    done = subprocess.run(
        [*command, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{command[-1]} exited {done.returncode}: {done.stderr[-2000:]}")
    answer = json.loads(done.stdout)
    verdicts = {name: list(v["errors"]) for name, v in answer["files"].items()}
    if set(verdicts) != {str(f) for f in files}:
        raise RuntimeError(f"{command[-1]} answered for other files: {sorted(verdicts)}")
    if (done.returncode == 0) != all(not v for v in verdicts.values()):
        raise RuntimeError(f"{command[-1]}: exit {done.returncode} disagrees with {verdicts}")
    consumer: str = answer["consumer"]
    return consumer, verdicts


def csaf_validator_lib(files: list[Path]) -> Problems:
    """The BSI validator's basic preset: strict CSAF 2.0 schema + every mandatory test."""
    node = shutil.which("node") or "node"
    return _run([node, str(TOOLS / "csaf_validator.mjs")], files)[1]


def avidtools(files: list[Path]) -> Problems:
    """avidtools' Report (and Vulnerability.ingest) models load each file, dropping nothing."""
    return _run([str(PY312), str(TOOLS / "py_consumers.py"), "avid"], files)[1]


def cvelib(files: list[Path]) -> Problems:
    """cvelib's CveRecord.validate: the full record and its CNA container (or the container)."""
    return _run([str(PY312), str(TOOLS / "py_consumers.py"), "cve"], files)[1]


# -- the cvss library: every vector re-parsed, every stated score recomputed --------------

# A vector in prose, optionally followed by the score and severity the text states for it, as
# modelcvd's CSAF notes write it: "CVSS:4.0/AV:N/... (score 6.3, MEDIUM)".
_TEXT_VECTOR = re.compile(
    r"(CVSS:[0-9]\.[0-9](?:/[A-Za-z]+:[A-Za-z]+)+)(?: \(score ([0-9]+(?:\.[0-9])?), ([A-Za-z]+)\))?"
)
_OSV_TYPES = {"CVSS_V2": "2", "CVSS_V3": "3", "CVSS_V4": "4"}
_LEVELS = ("base", "temporal", "environmental")


def _parse(vector: str) -> CVSS2 | CVSS3 | CVSS4:
    """The cvss library's reading of a vector (CVSS 2 vectors carry no prefix)."""
    if vector.startswith("CVSS:4."):
        return CVSS4(vector)
    if vector.startswith("CVSS:3."):
        return CVSS3(vector)
    if vector.startswith("CVSS:"):
        raise CVSSError(f"unknown CVSS version in {vector!r}")
    return CVSS2(vector)


def _same(stated: Any, computed: Any) -> bool:
    if isinstance(stated, str):
        return str(computed).lower() == stated.lower()
    if isinstance(stated, int | float) and not isinstance(stated, bool):
        return computed is not None and Decimal(str(stated)) == Decimal(str(computed))
    return False


def _expected(parsed: CVSS2 | CVSS3 | CVSS4) -> dict[str, Any]:
    """Every score and severity the library computes, under the names of FIRST's JSON schemas."""
    if isinstance(parsed, CVSS4):
        return {"baseScore": parsed.base_score, "baseSeverity": parsed.severity}
    expected: dict[str, Any] = dict(
        zip((f"{k}Score" for k in _LEVELS), parsed.scores(), strict=True)
    )
    if isinstance(parsed, CVSS3):
        severities = parsed.severities()
        expected |= dict(zip((f"{k}Severity" for k in _LEVELS), severities, strict=True))
        # Also every metric spelled out beside the vector (FIRST's 3.x names, as the library's).
        # (The vector itself is checked by parsing it: the library's spelling of it may differ.)
        expected |= {
            k: v for k, v in parsed.as_json().items() if k not in ("version", "vectorString")
        }
    return expected


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path or "/", node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}/{index}")


def cvss_problems(document: Any) -> tuple[int, list[str]]:
    """(how many vectors the document holds, what the cvss library disagrees with)."""
    found = 0
    problems: list[str] = []
    structured: set[str] = set()  # the strings read as a field below, not again as prose
    for path, node in _walk(document):
        if isinstance(node, dict) and isinstance(node.get("vectorString"), str):
            found += 1
            structured.add(f"{path.rstrip('/')}/vectorString")
            vector = node["vectorString"]
            try:
                parsed = _parse(vector)
            except CVSSError as error:
                problems.append(f"{path}: cvss cannot parse {vector!r}: {error}")
                continue
            version = str(node.get("version", ""))
            if version and version != (vector[5:8] if vector.startswith("CVSS:") else "2.0"):
                problems.append(f"{path}/version: states {version!r} for {vector}")
            expected = _expected(parsed)
            for key, stated in node.items():
                unchecked = key.endswith(("Score", "Severity")) and key not in expected
                if unchecked:
                    problems.append(f"{path}/{key}: the cvss library computes no {key}")
                elif key in expected and not _same(stated, expected[key]):
                    problems.append(
                        f"{path}/{key}: states {stated!r}, the cvss library computes "
                        f"{expected[key]!r} for {vector}"
                    )
        elif isinstance(node, dict) and str(node.get("type")) in _OSV_TYPES and "score" in node:
            found += 1
            structured.add(f"{path.rstrip('/')}/score")
            vector = str(node["score"])
            try:
                parsed = _parse(vector)
            except CVSSError as error:
                problems.append(f"{path}: cvss cannot parse {vector!r}: {error}")
                continue
            major = _OSV_TYPES[node["type"]]
            if type(parsed).__name__ != f"CVSS{major}":
                problems.append(f"{path}: type {node['type']} but the vector is {vector!r}")
        elif isinstance(node, str) and "CVSS:" in node and path not in structured:
            for match in _TEXT_VECTOR.finditer(node):
                found += 1
                vector, score, severity = match.groups()
                try:
                    parsed = _parse(vector)
                except CVSSError as error:
                    problems.append(f"{path}: cvss cannot parse {vector!r}: {error}")
                    continue
                expected = _expected(parsed)
                for stated, key in ((score, "baseScore"), (severity, "baseSeverity")):
                    value = float(stated) if key == "baseScore" and stated else stated
                    if stated and not _same(value, expected[key]):
                        problems.append(
                            f"{path}: states {key} {stated}, the cvss library computes "
                            f"{expected[key]} for {vector}"
                        )
    return found, problems


def cvss_library(files: list[Path]) -> Problems:
    return {str(f): cvss_problems(_load(f))[1] for f in files}


def vectors_in(files: Iterable[Path]) -> int:
    """How many CVSS vectors the files hold (so a check that found none says so)."""
    return sum(cvss_problems(_load(f))[0] for f in files)


# -- the official schemas in ../shared/schemas --------------------------------------------


def _schema_for(fmt: str, document: Any) -> Validator:
    if fmt == "cve5":
        full = isinstance(document, dict) and document.get("dataType") == "CVE_RECORD"
        return cve_record_validator() if full else cna_container_validator()
    return {"osv": osv_validator, "csaf": csaf_validator, "avid": avid_report_validator}[fmt]()


def schema_problems(fmt: str, files: list[Path]) -> Problems:
    found: Problems = {}
    for file in files:
        document = _load(file)
        found[str(file)] = [
            f"schema: {line}" for line in errors(_schema_for(fmt, document), document)
        ]
    return found


def _load(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


CHECKS: dict[str, Callable[[list[Path]], Problems]] = {
    "csaf-validator-lib": csaf_validator_lib,
    "avidtools": avidtools,
    "cvelib": cvelib,
    "cvss": cvss_library,
}
