"""The `modelcvd` command: help on every subcommand, one-line failures, tokens, submit against a
live server, status, and the demo: idempotent, served by gunicorn with a Celery worker on the
SQLite broker."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelcvd.accounts.models import ApiToken
from modelcvd.cli import build_parser, main
from modelcvd.reports.models import Report
from tests.factories import World

ROOT = Path(__file__).resolve().parents[2]
SUBCOMMANDS = [
    ["serve"],
    ["worker"],
    ["migrate"],
    ["demo"],
    ["createadmin"],
    ["token", "create"],
    ["token", "list"],
    ["token", "revoke"],
    ["submit"],
    ["status"],
    ["audit", "verify"],
    ["keys", "rotate"],
    ["keys", "retire"],
    ["schema"],
]


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_has_help(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([*words, "--help"])
    assert exc.value.code == 0
    assert "usage: modelcvd" in capsys.readouterr().out


@pytest.mark.django_db
def test_token_create_prints_a_working_token(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["token", "create", "researcher_a", "--scope", "submit", "--scope", "read"]) == 0
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("mcvd_")
    token = ApiToken.objects.get(prefix=secret[:10])
    assert token.scopes == ["read", "submit"] and token.token_hash != secret


@pytest.mark.django_db
def test_token_create_for_unknown_user_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "create", "ghost", "--scope", "read"]) == 3  # was 1: exit-code table
    err = capsys.readouterr().err
    assert err.startswith("modelcvd token create: error: no user 'ghost': check the username")
    assert err.count("\n") == 1


def test_submit_unreadable_file_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert (
        main(
            [
                "submit",
                str(tmp_path / "nope.yaml"),
                "--server",
                "http://127.0.0.1:9",
                "--token",
                "t",
            ]
        )
        == 2  # was 1: an unreadable input file is bad input in the exit-code table
    )
    assert capsys.readouterr().err.startswith("modelcvd submit: error: cannot read")


def test_submit_unreachable_server_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "submit",
            str(ROOT / "examples" / "report.yaml"),
            "--server",
            "http://127.0.0.1:9",
            "--token",
            "t",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert (
        err.startswith("modelcvd submit: error: cannot reach http://127.0.0.1:9/api/v1/reports")
        and err.count("\n") == 1
    )


@pytest.mark.django_db(transaction=True)
def test_submit_example_against_a_live_server(
    live_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from modelcvd.demo import demo_load

    demo_load()
    assert main(["token", "create", "bob", "--scope", "submit"]) == 0
    token = capsys.readouterr().out.strip()
    for example in ("report.yaml", "report-minimal.json"):
        code = main(
            [
                "submit",
                str(ROOT / "examples" / example),
                "--server",
                live_server.url,
                "--token",
                token,
            ]
        )
        out = capsys.readouterr()
        assert code == 0, out.err
        assert out.out.startswith("report #") and "(received)" in out.out
    assert Report.objects.filter(reporter__username="bob").count() == 3
    # Each submission carried an Idempotency-Key (one per file, kept across its retries).
    from modelcvd.reports.models import SubmissionKey

    keys = SubmissionKey.objects.filter(user__username="bob").values_list("key", flat=True)
    assert len(set(keys)) == 2


@pytest.mark.django_db(transaction=True)
def test_submit_shows_the_servers_field_errors(
    live_server: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from modelcvd.demo import demo_load

    demo_load()
    main(["token", "create", "bob", "--scope", "submit"])
    token = capsys.readouterr().out.strip()
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (ROOT / "examples" / "report.yaml").read_text().replace("AML.T0054", "AML.T0000.999")
    )
    # 422 from the server is bad input here too (was 1 before the exit-code table).
    assert main(["submit", str(bad), "--server", live_server.url, "--token", token]) == 2
    # The live server's own request log shares stderr here; the CLI's line is the last one.
    assert capsys.readouterr().err.splitlines()[-1] + "\n" == (
        "modelcvd submit: error: server answered 422: invalid input - technique.atlas: "
        "unknown MITRE ATLAS technique id (ATLAS 5.6.0)\n"
    )


@pytest.mark.django_db
def test_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "database               ok" in out and "pending_migrations     0" in out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_is_idempotent_and_serves_with_a_worker(tmp_path: Path) -> None:
    """The README's first command, end to end in a fresh data directory: migrate, load twice,
    serve with gunicorn and a Celery worker on the SQLite broker, and the worker does its job."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MODELCVD_BASE_URL"}}
    env.update(MODELCVD_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1")
    modelcvd = [sys.executable, "-m", "modelcvd.cli"]
    first = subprocess.run(
        [*modelcvd, "demo", "--no-serve", "--no-model"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert first.returncode == 0, first.stderr
    assert "objects created (first run)" in first.stdout and "alice" in first.stdout
    second = subprocess.run(
        [*modelcvd, "demo", "--no-serve", "--no-model"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Demo data: 0 objects created (already loaded)" in second.stdout
    port = _free_port()
    server = subprocess.Popen(
        [*modelcvd, "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.3)
        assert "ModelCERT open models program" in httpx.get(base + "/").text
        # Links rendered outside a request name the port it serves on, not 127.0.0.1:8000.
        feed = httpx.get(base + "/advisories/feed.atom").text
        assert f"{base}/advisories/MCVD-" in feed
        assert port == 8000 or ":8000/" not in feed
        assert f"({base})" in httpx.get(base + "/.well-known/security.txt").text
        # The demo's transitions queued e-mails for alice; the worker sends them (file backend).
        mail_dir = tmp_path / "data" / "mail"
        while not (mail_dir.exists() and len(list(mail_dir.iterdir())) >= 3):
            assert time.monotonic() < deadline + 30, "the worker sent no mail"
            time.sleep(0.5)
        sent = "".join(p.read_text() for p in mail_dir.iterdir())
        assert "alice@demo.invalid" in sent and "vendor_notified" in sent
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert server.returncode == 0, output
    shutil.rmtree(tmp_path / "data", ignore_errors=True)


def test_production_refuses_embedded_settings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(MODELCVD_DATA_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "modelcvd.cli", "serve", "--production"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    line = result.stderr.strip()
    assert line.startswith(
        "modelcvd serve: error: production mode refuses to start: "
        "MODELCVD_SECRET_KEY is the default"
    )
    assert "SQLite" in line and "key file" in line and line.count("\n") == 0
    # The same refusal for any process that loads Django in production mode (gunicorn, worker).
    env.update(MODELCVD_PRODUCTION="1")
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "production mode refuses to start" in result.stderr
