"""The one base every `modelcvd` command stands on.

Why one base: the command grew as five small argparse frameworks (one per app), each with its
own error class, exit codes and output habits, so the same mistake ("no such user") exited 1
in one command and 2 in another, `--json` existed on a few commands only and the `keys` group
was declared twice. Here a command is a `Command` subclass listed in its group's module, and
the base gives every command, once for all:

- its place in the parser tree (`group` + `name`), with help on the command and, checked by
  tests/cli, on every argument; `docs/cli.md` is generated from that tree;
- `--json` when it prints data (`prints_data`): results go to stdout as one JSON document;
- `--progress` / `--no-progress` when it can take long (`takes_long`): a bar on stderr
  (modelcvd.cli.progress);
- Django set up before `run()` when it reads or writes the database (`uses_database`);
- one error path: `run()` raises a domain error or a `CliError`, and `modelcvd.cli.errors`
  turns it into one line on stderr and a code of the one exit table.

Models and services are imported inside `run()`: Django must be set up before a model is
imported, and commands such as `submit` or `verify` run on machines without a database.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from modelcvd.cli.errors import CliError, Exit, error_line
from modelcvd.cli.progress import Progress, progress_mode

if TYPE_CHECKING:
    from modelcvd.accounts.models import User


class Group:
    """A word that gathers commands (`keys`, `artifact`): declared once, in its own module."""

    def __init__(self, name: str, help: str) -> None:
        self.name = name
        self.help = help


class Command:
    """One `modelcvd` command. Subclasses set the class attributes and write `run()`."""

    group: ClassVar[Group | None] = None
    name: ClassVar[str]
    help: ClassVar[str]  # one line, shown in the list of commands
    description: ClassVar[str] = ""  # longer text for `--help` (default: `help`)
    prints_data: ClassVar[bool] = False
    takes_long: ClassVar[bool] = False
    uses_database: ClassVar[bool] = False

    @property
    def path(self) -> str:
        """The words that name the command: "keys rotate"."""
        return f"{self.group.name} {self.name}" if self.group else self.name

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the command's own arguments, each with help."""

    def run(self, args: argparse.Namespace, out: Output) -> int | None:
        """Do the work; return an exit code (None means 0) or raise."""
        raise NotImplementedError


class Output:
    """Where a command's results go: stdout for data (text or --json), stderr for the rest."""

    def __init__(self, args: argparse.Namespace, command: Command) -> None:
        self.json = bool(getattr(args, "json", False))
        self.forced_progress: bool | None = getattr(args, "progress", None)
        self.command = command

    def data(self, payload: Any, text: str | None = None) -> None:
        """`payload` as JSON with --json, else `text` (or the payload's JSON when there is none)."""
        if self.json or text is None:
            sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
            sys.stdout.write("\n")
        else:
            print(text)

    def text(self, text: str) -> None:
        """Plain text on stdout, for commands that print no data."""
        print(text, flush=True)

    def note(self, text: str) -> None:
        """A remark for the person at the terminal, on stderr."""
        print(text, file=sys.stderr, flush=True)

    @contextmanager
    def progress(
        self, label: str | None = None, *, total: int | None = None, unit: str = ""
    ) -> Iterator[Progress]:
        """Progress on stderr; see modelcvd.cli.progress for when it shows."""
        mode = progress_mode(self.forced_progress, sys.stderr)
        with Progress(label or self.command.path, total=total, unit=unit, mode=mode) as bar:
            yield bar


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the CLI's error shape: one line on stderr, exit 2."""

    def error(self, message: str) -> NoReturn:
        path = self.prog.removeprefix("modelcvd").strip()
        problem = CliError(Exit.USAGE, message, f"see `{self.prog} --help`")
        self.exit(Exit.USAGE, error_line(path, problem) + "\n")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """A fixed width, so `--help` and the generated docs/cli.md do not depend on the terminal."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30, width=100)


def setup_django() -> None:
    """Set up Django for a command that reads or writes the database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modelcvd.settings")
    import django

    django.setup()


def user_named(username: str) -> User:
    """The account called `username`; every command answers a missing one the same way."""
    from modelcvd.accounts.selectors import user_by_username

    user = user_by_username(username)
    if user is None:
        raise CliError(
            Exit.NOT_FOUND,
            f"no user {username!r}",
            "check the username (accounts are made by an administrator; "
            "`modelcvd createadmin NAME` makes one)",
        )
    return user


def read_text(path: Any, what: str = "") -> str:
    """A file the user named, as text; an unreadable one is bad input (exit 2)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as error:
        raise CliError(
            Exit.USAGE, f"cannot read {what + ' ' if what else ''}{path}: {error.strerror}"
        ) from None
