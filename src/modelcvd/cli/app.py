"""`modelcvd`: the parser tree built from every command module, and `main`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator

from modelcvd import __version__
from modelcvd.cli import (
    accounts,
    advisories,
    artifacts,
    attest,
    audit,
    backup,
    forensics,
    keys,
    log,
    metrics,
    mirror,
    reports,
    server,
    twofactor,
    verify,
)
from modelcvd.cli.base import (
    ArgumentParser,
    Command,
    Group,
    HelpFormatter,
    Output,
    setup_django,
)
from modelcvd.cli.errors import CliError, Exit, error_line, failure

# The order of `modelcvd --help`.
MODULES = (
    server,
    accounts,
    twofactor,
    reports,
    audit,
    keys,
    backup,
    verify,
    attest,
    artifacts,
    forensics,
    metrics,
    advisories,
    log,
    mirror,
)

DESCRIPTION = "Coordinated disclosure of AI model vulnerabilities."
EPILOG = (
    "exit codes: 0 done, 1 failed, 2 usage, 3 not found or not allowed, 4 refused by policy "
    "(docs/cli.md)"
)


def commands() -> Iterator[Command]:
    """Every command, in the order of `modelcvd --help`."""
    for module in MODULES:
        for command_class in module.COMMANDS:
            yield command_class()


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="modelcvd", description=DESCRIPTION, epilog=EPILOG, formatter_class=HelpFormatter
    )
    parser.add_argument(
        "--version", action="version", version=f"modelcvd {__version__}", help="print the version"
    )
    top = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    groups: dict[str, tuple[Group, argparse._SubParsersAction]] = {}
    seen: set[str] = set()
    for command in commands():
        if command.path in seen:
            raise RuntimeError(f"`modelcvd {command.path}` is declared twice")
        seen.add(command.path)
        where = top
        if command.group is not None:
            name = command.group.name
            if name not in groups:
                group_parser = top.add_parser(
                    name,
                    help=command.group.help,
                    description=command.group.help,
                    formatter_class=HelpFormatter,
                )
                groups[name] = (
                    command.group,
                    group_parser.add_subparsers(
                        dest=f"{name}_command", required=True, metavar="ACTION"
                    ),
                )
            elif groups[name][0] is not command.group:
                raise RuntimeError(f"the group `modelcvd {name}` is declared twice")
            where = groups[name][1]
        sub = where.add_parser(
            command.name,
            help=command.help,
            description=command.description or command.help,
            formatter_class=HelpFormatter,
        )
        command.arguments(sub)
        if command.prints_data:
            sub.add_argument(
                "--json", action="store_true", help="print the result as JSON on stdout"
            )
        if command.takes_long:
            shown = sub.add_mutually_exclusive_group()
            shown.add_argument(
                "--progress",
                action="store_const",
                const=True,
                default=None,
                help="draw the progress bar on stderr even when stderr is not a terminal",
            )
            shown.add_argument(
                "--no-progress",
                dest="progress",
                action="store_const",
                const=False,
                help="show no progress at all",
            )
        sub.set_defaults(cli_command=command)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one `modelcvd` command; returns its exit code (docs/cli.md)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help, --version, and usage errors (one line already)
        return int(stop.code or 0)
    command: Command = args.cli_command
    try:
        if command.uses_database:
            setup_django()
        return int(command.run(args, Output(args, command)) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        known = failure(error)
        if known is None:
            if os.environ.get("MODELCVD_DEBUG"):
                raise
            # The one-line promise holds for surprises too; MODELCVD_DEBUG=1 shows the trace.
            known = CliError(Exit.FAILED, f"{type(error).__name__}: {error}")
        print(error_line(command.path, known), file=sys.stderr)
        return int(known.code)
