"""The `modelcvd` command: one module per command group, all on one base (modelcvd.cli.base).

`modelcvd.cli:main` is the console script; exit codes and error lines are in
modelcvd.cli.errors; docs/cli.md is generated from the parser (`make cli-docs`).
"""

from modelcvd.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
