"""docs/cli.md is generated from the parser (`make cli-docs`); a stale file or a command
missing from it fails here."""

from __future__ import annotations

from pathlib import Path

from modelcvd.cli import app
from modelcvd.cli.docs import cli_markdown
from modelcvd.cli.errors import Exit

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_docs_cli_md_is_fresh() -> None:
    assert DOCS.read_text("utf-8") == cli_markdown(), (
        "docs/cli.md is stale: run `make cli-docs` (python -m modelcvd.cli.docs > docs/cli.md)"
    )


def test_every_command_and_exit_code_is_documented() -> None:
    text = DOCS.read_text("utf-8")
    missing = [c.path for c in app.commands() if f"\n### modelcvd {c.path}\n" not in text]
    assert missing == []
    assert all(f"\n| {int(code)} | " in text for code in Exit)
