"""The one base of `modelcvd`: help on every argument, --version, --json on every data command,
progress on stderr, and the same exit code and one-line error for the same mistake anywhere."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from modelcvd import __version__
from modelcvd.cli import app, build_parser, main
from modelcvd.cli.base import Command, Group
from modelcvd.cli.docs import arguments, parser_tree
from modelcvd.cli.errors import ML_INSTALL, CliError, Exit, failure
from modelcvd.core.errors import FieldError, Forbidden, IllegalTransition, InvalidInput, NotFound
from tests.advisories.helpers import make_advisory
from tests.factories import World, build_world

COMMANDS = {command.path: command for command in app.commands()}
# The commands that print no data: they run servers or change the schema quietly.
NO_DATA = {"serve", "worker", "migrate"}
# The list of work that can take more than a few seconds, plus the weight readers.
LONG = {
    "verify",
    "export",
    "import",
    "backup",
    "restore",
    "keys rotate",
    "keys reseal",
    "forensics compare",
}
LONG |= {"metrics", "artifact digest", "forensics find-base"}
LONG |= {"mirror", "attest verify"}  # a registry's worth of documents; a model directory


@pytest.fixture
def keyed_world(db: None, settings: Any, tmp_path: Path) -> World:
    """A world sealed under a key file of its own: `keys rotate` here leaves other tests' alone."""
    settings.KEY_FILE = tmp_path / "keys" / "kek.json"
    return build_world()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, f"modelcvd {__version__}\n", "")


def test_every_command_and_every_argument_has_help() -> None:
    nodes = list(parser_tree(build_parser()))
    assert {n.path for n in nodes if n.is_command} == set(COMMANDS)
    missing = [
        f"modelcvd {node.path} {action.option_strings or action.dest}"
        for node in nodes
        for action in arguments(node.parser)
        if not action.help or action.help == argparse.SUPPRESS
    ]
    assert missing == []
    assert all(node.help for node in nodes if node.path)


def test_json_on_every_command_that_prints_data_and_progress_on_long_ones() -> None:
    nodes = {n.path: n.parser for n in parser_tree(build_parser()) if n.is_command}
    has = {
        flag: {path for path, p in nodes.items() if flag in p._option_string_actions}
        for flag in ("--json", "--progress", "--no-progress")
    }
    assert has["--json"] == set(COMMANDS) - NO_DATA
    assert has["--progress"] == has["--no-progress"] == LONG


def test_a_group_is_declared_once(monkeypatch: pytest.MonkeyPatch) -> None:
    top = build_parser()._subparsers._group_actions[0]  # type: ignore[union-attr]
    assert list(top.choices).count("keys") == 1

    class Again(Command):
        group = Group("keys", "Keys, declared a second time.")
        name = "list"
        help = "List keys."

    class Module:
        COMMANDS = [Again]

    monkeypatch.setattr(app, "MODULES", (*app.MODULES, Module))
    with pytest.raises(RuntimeError, match="group `modelcvd keys` is declared twice"):
        build_parser()


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (NotFound(), Exit.NOT_FOUND),
        (Forbidden("not yours"), Exit.NOT_FOUND),
        (InvalidInput([FieldError("scope", "unknown")]), Exit.USAGE),
        (IllegalTransition("triage", "published"), Exit.REFUSED),
        (CliError(Exit.REFUSED, "no"), Exit.REFUSED),
    ],
)
def test_domain_errors_map_to_the_table(error: Exception, code: Exit) -> None:
    known = failure(error)
    assert known is not None and known.code == code


def test_a_missing_ml_extra_names_what_to_install() -> None:
    error = ModuleNotFoundError("No module named 'torch'", name="torch")
    known = failure(error)
    assert known is not None and known.code == Exit.FAILED and ML_INSTALL in known.hint
    assert failure(KeyError("surprise")) is None


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "export", "--format", "osv")
    assert (code, out) == (2, "")
    assert err.startswith("modelcvd export: error: the following arguments are required: --out")
    assert err.count("\n") == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "argv",
    [
        ["token", "create", "ghost", "--scope", "read"],
        ["import", "avid", "x.json", "--program", "open-models", "--user", "ghost"],
        [
            "commitment",
            "reveal",
            "MCVD-2026-0001",
            "--user",
            "ghost",
            "--reason",
            "r",
            "--out",
            "o",
        ],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_no_such_user_is_the_same_everywhere(
    world: World, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = run(capsys, *argv)
    assert (code, out) == (Exit.NOT_FOUND, "")
    path = " ".join(argv[:2]) if argv[0] in ("token", "commitment") else argv[0]
    assert err.startswith(f"modelcvd {path}: error: no user 'ghost': check the username")
    assert err.count("\n") == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["metrics", "--program", "nope"], "no program 'nope'"),
        (
            ["export", "--format", "osv", "--out", "{tmp}", "--advisory", "MCVD-1999-1"],
            "no published",
        ),
        (["artifact", "supersede", "999999", "--by", "999998"], "no artifact #999999"),
        (
            [
                "commitment",
                "reveal",
                "MCVD-1999-1",
                "--user",
                "triager",
                "--reason",
                "r",
                "--out",
                "o",
            ],
            "",
        ),
    ],
    ids=lambda v: v[0] if isinstance(v, list) else "",
)
def test_not_found_is_3_everywhere(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *(a.format(tmp=tmp_path) for a in argv))
    assert (code, out) == (Exit.NOT_FOUND, "")
    assert message in err and " error: " in err and err.count("\n") == 1


def test_data_commands_print_json(
    keyed_world: World,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_advisory(keyed_world)
    monkeypatch.setenv("MODELCVD_ADMIN_PASSWORD", "a long enough password")
    runs: list[list[str]] = [
        ["status"],
        ["schema", "report"],
        ["createadmin", "root", "--email", "root@example.org"],
        ["token", "create", "researcher_a", "--scope", "read"],
        ["audit", "verify"],
        ["keys", "rotate"],
        ["metrics"],
        ["export", "--format", "osv", "--out", str(tmp_path / "osv")],
        ["backup", str(tmp_path / "site.tar")],
    ]
    for argv in runs:
        code, out, err = run(capsys, *argv, "--json")
        assert code == 0, (argv, err)
        assert isinstance(json.loads(out), dict), argv
    code, out, _ = run(capsys, "export", "--format", "osv", "--out", str(tmp_path / "o"), "--json")
    assert len(json.loads(out)["files"]) == 1


def test_progress_goes_to_stderr_and_leaves_json_alone(
    keyed_world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    make_advisory(keyed_world)
    make_advisory(keyed_world, title="Quokka second advisory", aliases=[])
    # Not a terminal (captured): plain lines on stderr for work of known size.
    code, out, err = run(capsys, "export", "--format", "osv", "--out", str(tmp_path / "a"))
    assert code == 0 and out.startswith("wrote 2 osv file(s)")
    # The first line comes at once (long work may take minutes before its first step).
    assert err == "export: 0/2 advisories\nexport: 1/2 advisories\nexport: 2/2 advisories\n"
    # --progress forces the bar, on stderr; stdout stays one JSON document.
    code, out, err = run(
        capsys, "export", "--format", "osv", "--out", str(tmp_path / "b"), "--json", "--progress"
    )
    assert code == 0 and len(json.loads(out)["files"]) == 2
    assert "export" in err and "\x1b[" in err  # the bar's terminal control codes
    code, out, err = run(capsys, "keys", "rotate", "--json", "--progress")
    assert code == 0 and json.loads(out)["remaining"] == 0 and "keys rotate" in err
    # --no-progress: nothing at all.
    code, out, err = run(
        capsys, "export", "--format", "osv", "--out", str(tmp_path / "c"), "--no-progress"
    )
    assert code == 0 and err == ""


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env or None
    )


def test_the_cli_starts_without_torch(tmp_path: Path) -> None:
    """No torch at import time; a command that needs it names the extra to install, exit 1."""
    base, derived = tmp_path / "base", tmp_path / "derived"
    base.mkdir()
    derived.mkdir()
    done = _python(
        "import sys\n"
        "sys.modules['torch'] = None  # as if torch were not installed\n"
        "from modelcvd.cli import build_parser, main\n"
        "build_parser()\n"
        "assert main(['--version']) == 0\n"
        f"sys.exit(main(['forensics', 'compare', {str(base)!r}, {str(derived)!r}]))\n"
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("modelcvd forensics compare: error: this command needs the ")
    assert ML_INSTALL in done.stderr
    done = _python(
        "import sys\n"
        "from modelcvd.cli import build_parser\n"
        "build_parser()\n"
        "assert 'torch' not in sys.modules and 'scipy' not in sys.modules, 'imported early'\n"
    )
    assert done.returncode == 0, done.stderr


def test_unexpected_errors_are_one_line_too(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelcvd.cli import reports

    def broken(*_: Any) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr(reports.Schema, "run", broken)
    monkeypatch.delenv("MODELCVD_DEBUG", raising=False)
    code, out, err = run(capsys, "schema", "report")
    assert (code, out, err) == (1, "", "modelcvd schema: error: KeyError: 'surprise'\n")


def test_progress_lines_say_the_time_left_from_the_pace_so_far() -> None:
    import io

    from modelcvd.cli.progress import Progress

    stream = io.StringIO()
    with Progress("verify", total=40, unit="trials", mode="lines", stream=stream) as bar:
        assert stream.getvalue() == "verify: 0/40 trials\n"  # at once, before the first batch
        bar.done = 10
        start = bar._started
        assert bar.eta(now=start + 60) == "about 3 min left"  # 6 s a trial, 30 to go
        assert bar.eta(now=start + 6) == "about 18 s left"
        assert bar.eta(now=start + 1) == ""  # too early to say: quick work shows no estimate
    assert "verify: 10/40 trials" in stream.getvalue()
