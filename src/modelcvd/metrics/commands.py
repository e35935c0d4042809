"""`modelcvd metrics`: the response metrics as CSV or JSON on stdout."""

from __future__ import annotations

import argparse
import sys


def cmd_metrics(args: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modelcvd.settings")
    import django

    django.setup()
    from modelcvd.core.errors import NotFound
    from modelcvd.metrics.export import metrics_csv, metrics_json
    from modelcvd.metrics.selectors import metrics_compute
    from modelcvd.metrics.services import metrics_rebuild

    if args.rebuild:
        print(f"rebuilt the facts of {metrics_rebuild()} cases", file=sys.stderr)
    try:
        m = metrics_compute(program_slug=args.program)
    except NotFound:
        print(f"modelcvd metrics: no program {args.program!r}", file=sys.stderr)
        return 1
    sys.stdout.write(metrics_csv(m) if args.format == "csv" else metrics_json(m) + "\n")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "metrics",
        help="response metrics (per program and overall) as CSV or JSON",
        description="Print the response metrics computed from the case timelines.",
    )
    parser.add_argument("--format", choices=["csv", "json"], default="json")
    parser.add_argument("--program", help="a program's slug (default: every program)")
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="first rebuild every case's facts from the timelines (after a bulk import)",
    )
    parser.set_defaults(func=cmd_metrics)
