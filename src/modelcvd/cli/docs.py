"""docs/cli.md, generated from the parser: `python -m modelcvd.cli.docs > docs/cli.md`
(`make cli-docs`). tests/cli/test_docs.py fails when the file is stale."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass

from modelcvd.cli.app import build_parser
from modelcvd.cli.base import HelpFormatter
from modelcvd.cli.errors import EXIT_MEANINGS


@dataclass(frozen=True)
class Node:
    """One parser of the tree: the top, a group (`keys`) or a command (`keys rotate`)."""

    path: str  # "" for the top
    parser: argparse.ArgumentParser
    help: str
    is_command: bool


def parser_tree(parser: argparse.ArgumentParser, path: str = "", help: str = "") -> Iterator[Node]:
    """Every parser under `parser`, depth first, in the order of `--help`."""
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    yield Node(path, parser, help or (parser.description or ""), is_command=not subparsers)
    for action in subparsers:
        helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
        for name, child in action.choices.items():
            yield from parser_tree(child, f"{path} {name}".strip(), helps.get(name, ""))


def arguments(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    """The arguments a user types: every action but -h and the subcommand slot."""
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        yield action


def _name(action: argparse.Action) -> str:
    if not action.option_strings:
        return str(action.metavar or action.dest).upper()
    takes_value = action.nargs != 0
    if not takes_value:
        return ", ".join(action.option_strings)
    metavar = action.metavar or (
        "{" + ",".join(map(str, action.choices)) + "}" if action.choices else action.dest.upper()
    )
    if isinstance(metavar, tuple):
        metavar = " ".join(metavar)
    return ", ".join(f"{option} {metavar}" for option in action.option_strings)


def _help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    text = HelpFormatter(parser.prog)._expand_help(action) if action.help else ""
    if action.required and action.option_strings:
        text += " (required)"
    return text.replace("|", "\\|").replace("\n", " ")


def cli_markdown() -> str:
    """The whole of docs/cli.md."""
    parser = build_parser()
    nodes = list(parser_tree(parser))
    commands = [n for n in nodes if n.is_command]
    lines = [
        "# The `modelcvd` command",
        "",
        "<!-- Generated from the parser by `make cli-docs` "
        "(python -m modelcvd.cli.docs > docs/cli.md); edit the commands, not this file. -->",
        "",
        f"{parser.description} `modelcvd --version` prints the version; "
        "`modelcvd COMMAND --help` prints what is below for one command.",
        "",
        "## Conventions",
        "",
        "- **Errors** are one line on stderr: `modelcvd COMMAND: error: WHAT: WHAT TO DO`. "
        "Set `MODELCVD_DEBUG=1` to see the traceback of an unexpected error.",
        "- **`--json`**: every command that prints data takes it and prints one JSON document "
        "on stdout instead of text.",
        "- **Progress** of long commands goes to stderr, never stdout, so `--json` output stays "
        "clean: a live bar when stderr is a terminal; when it is not (logs, CI), plain lines "
        "about twenty times per run for work of known size and nothing otherwise. "
        "`--progress` draws the bar anyway; `--no-progress` shows nothing.",
        "- Commands that need torch (a local `hf:` target, a classifier judge, weight forensics) "
        "say so and exit 1 when it is missing: `pip install torch==2.13.0 'modelcvd[ml]'`.",
        "",
        "## Exit codes",
        "",
        "| code | meaning |",
        "|---|---|",
        *(f"| {int(code)} | {meaning} |" for code, meaning in EXIT_MEANINGS.items()),
        "",
        "## Commands",
        "",
        *(
            f"- [`modelcvd {n.path}`](#modelcvd-{n.path.replace(' ', '-')}): {n.help}"
            for n in commands
        ),
    ]
    for node in commands:
        lines += [
            "",
            f"### modelcvd {node.path}",
            "",
            (node.parser.description or node.help).rstrip(),
            "",
            "```",
            node.parser.format_usage().strip(),
            "```",
        ]
        rows = [
            f"| `{_name(action)}` | {_help(node.parser, action)} |"
            for action in arguments(node.parser)
        ]
        if rows:
            lines += ["", "| argument | meaning |", "|---|---|", *rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(cli_markdown(), end="")
