"""`modelcvd metrics`: the response metrics as CSV or JSON on stdout."""

from __future__ import annotations

import argparse
import sys

from modelcvd.cli.base import Command, Output
from modelcvd.cli.errors import CliError, Exit


class Metrics(Command):
    name = "metrics"
    help = "Response metrics (per program and overall) as CSV or JSON."
    description = "Print the response metrics computed from the case timelines."
    prints_data = True
    takes_long = True  # with --rebuild
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--format",
            choices=["csv", "json"],
            default="json",
            help="output format (default: %(default)s; --json is the same as --format json)",
        )
        parser.add_argument("--program", help="a program's slug (default: every program)")
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="first rebuild every case's facts from the timelines (after a bulk import)",
        )

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.core.errors import NotFound
        from modelcvd.metrics.export import metrics_csv, metrics_json
        from modelcvd.metrics.selectors import metrics_compute
        from modelcvd.metrics.services import metrics_rebuild

        if args.rebuild:
            with out.progress("metrics rebuild"):
                rebuilt = metrics_rebuild()
            out.note(f"rebuilt the facts of {rebuilt} cases")
        try:
            m = metrics_compute(program_slug=args.program)
        except NotFound:
            raise CliError(
                Exit.NOT_FOUND, f"no program {args.program!r}", "check the program's slug"
            ) from None
        as_json = args.json or args.format == "json"
        sys.stdout.write(metrics_json(m) + "\n" if as_json else metrics_csv(m))


COMMANDS: list[type[Command]] = [Metrics]
