"""The metrics as plain data, JSON and CSV: what the API, the CLI and the dashboard share."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from modelcvd.metrics.selectors import Metrics, ProgramMetrics

CSV_COLUMNS = [
    "program",
    "section",
    "key",
    "tier",
    "value",
    "count",
    "median_hours",
    "p90_hours",
    "met",
    "missed",
    "pending",
    "rate",
]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def program_data(pm: ProgramMetrics) -> dict[str, Any]:
    e = pm.exploit
    return {
        "slug": pm.slug,
        "name": pm.name,
        "received": pm.received,
        "triaged": pm.triaged,
        "valid": pm.valid,
        "duplicate": pm.duplicate,
        "valid_rate": _round(pm.valid_rate),
        "duplicate_rate": _round(pm.duplicate_rate),
        "times": {
            t.metric: {
                "count": t.count,
                "median_hours": _round(t.median_hours),
                "p90_hours": _round(t.p90_hours),
            }
            for t in pm.times
        },
        "compliance": [
            {
                "tier": r.tier,
                "deadline": r.deadline,
                "met": r.met,
                "missed": r.missed,
                "pending": r.pending,
                "rate": _round(r.rate),
            }
            for r in pm.compliance
        ],
        "open_by_age": dict(pm.open_by_age),
        "monthly": [{"month": month, "received": count} for month, count in pm.monthly],
        "exploit": {
            "cases": e.cases,
            "before_successes": e.before_successes,
            "before_trials": e.before_trials,
            "after_successes": e.after_successes,
            "after_trials": e.after_trials,
            "before_rate": _round(e.before_rate),
            "after_rate": _round(e.after_rate),
            "reduction": _round(e.reduction),
        },
    }


def metrics_data(m: Metrics) -> dict[str, Any]:
    return {
        "as_of": m.as_of.isoformat(),
        "overall": program_data(m.overall),
        "programs": [program_data(p) for p in m.programs],
    }


def metrics_json(m: Metrics) -> str:
    return json.dumps(metrics_data(m), indent=2)


def _rows(pm: ProgramMetrics) -> list[dict[str, Any]]:
    slug = pm.slug or ""
    data = program_data(pm)
    rows: list[dict[str, Any]] = []
    for key in ("received", "triaged", "valid", "duplicate", "valid_rate", "duplicate_rate"):
        rows.append({"program": slug, "section": "summary", "key": key, "value": data[key]})
    for metric, t in data["times"].items():
        rows.append({"program": slug, "section": "time", "key": metric, **t})
    for r in data["compliance"]:
        rows.append(
            {
                "program": slug,
                "section": "compliance",
                "key": r["deadline"],
                **{k: v for k, v in r.items() if k != "deadline"},
            }
        )
    for bucket, count in data["open_by_age"].items():
        rows.append({"program": slug, "section": "open_by_age", "key": bucket, "value": count})
    for row in data["monthly"]:
        rows.append(
            {"program": slug, "section": "monthly", "key": row["month"], "value": row["received"]}
        )
    for key, value in data["exploit"].items():
        rows.append({"program": slug, "section": "exploit", "key": key, "value": value})
    return rows


def metrics_csv(m: Metrics) -> str:
    """One row per number; `program` is empty for the overall figures."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    for pm in (m.overall, *m.programs):
        for row in _rows(pm):
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()
