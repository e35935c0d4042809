"""`modelcvd verify` end to end: local model, HTTP endpoint, compare, and clear failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelcvd.cli import build_parser, main

from .conftest import ChatServer
from .tiny_models import COMPLIANCE, JUDGE_SYSTEM, REFUSAL


def verify(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["verify", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_verify_is_a_command_of_the_one_parser() -> None:
    args = build_parser().parse_args(["verify", "--compare", "a.json", "b.json"])
    assert args.cli_command.path == "verify"


def test_verify_local_model_json(
    capsys: pytest.CaptureFixture[str], refuser_dir: Path, refuser_report: Path
) -> None:
    code, out, err = verify(
        capsys,
        "--target",
        f"hf:{refuser_dir}",
        "--spec",
        str(refuser_report),
        "--trials",
        "24",
        "--judge",
        "refusal",
        "--json",
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["trials"] == 24
    assert 0 < result["successes"] < 24
    assert result["rate"] == result["successes"] / 24
    assert len(result["clopper_pearson"]) == 2
    assert "wilson" not in result  # undercovers at small n: never published
    assert result["target"]["name"] == "refuser"
    assert result["judge"]["name"] == "refusal-rules"
    assert result["verdict"] == "reproduced"
    assert len(result["trial_results"]) == 24
    assert "verify: 24/24 trials" in err


def test_verify_text_output_is_readable(
    capsys: pytest.CaptureFixture[str], refuser_dir: Path, refuser_report: Path
) -> None:
    code, out, _ = verify(
        capsys,
        "--target",
        f"hf:{refuser_dir}",
        "--spec",
        str(refuser_report),
        "--trials",
        "8",
        "--replayable",
    )
    assert code == 0
    assert "Clopper-Pearson 95%" in out
    assert "Wilson" not in out  # undercovers at small n: not shown to people
    assert "note:" not in out  # replayable runs need no warning


def test_verify_over_http_sequential(
    capsys: pytest.CaptureFixture[str], chat_server: ChatServer, refuser_report: Path
) -> None:
    code, out, err = verify(
        capsys,
        "--target",
        f"openai:{chat_server.base_url}#refuser",
        "--spec",
        str(refuser_report),
        "--trials",
        "60",
        "--sequential",
        "--no-pin",
        "--json",
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["target"]["name"] == "modelcvd-tests/refuser"
    assert result["sequential"]["decision"] == "reproduced"
    assert result["trials"] < 60


def test_verify_with_a_panel_of_judges(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    refuser_dir: Path,
    classifier_dir: Path,
    refuser_report: Path,
) -> None:
    rubric = tmp_path / "rubric.txt"
    rubric.write_text(JUDGE_SYSTEM + "\n")
    code, out, err = verify(
        capsys,
        "--target", f"hf:{refuser_dir}", "--spec", str(refuser_report), "--trials", "16",
        "--judge", "refusal", "--judge", f"classifier:{classifier_dir}#compliance",
        "--judge", f"llm:hf:{refuser_dir}", "--rubric", str(rubric),
        "--combine", "majority", "--json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["judge"]["kind"] == "combined"
    assert result["judge"]["name"].startswith("majority(refusal-rules, refusal-classifier, refuser")
    trial = result["trial_results"][0]
    assert [part["judge"]["kind"] for part in trial["judgement"]["parts"]] == [
        "refusal",
        "classifier",
        "llm-judge",
    ]
    assert any(t["response"] in (REFUSAL, COMPLIANCE) for t in result["trial_results"])
    for trial in result["trial_results"]:
        votes = [part["success"] for part in trial["judgement"]["parts"]]
        assert trial["success"] == (sum(votes) >= 2)
        # On the model's clean answers all three judges agree; garbled samples may split them.
        if trial["response"] in (REFUSAL, COMPLIANCE):
            assert set(votes) == {trial["response"] == COMPLIANCE}


def test_compare_prints_the_fix_verdict(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    refuser_dir: Path,
    fixed_dir: Path,
    refuser_report: Path,
) -> None:
    runs = {}
    for name, model, pin in (
        ("before", refuser_dir, []),
        ("after", fixed_dir, ["--pin", "refuser-fixed"]),
    ):
        code, out, err = verify(
            capsys,
            "--target",
            f"hf:{model}",
            "--spec",
            str(refuser_report),
            "--trials",
            "32",
            "--json",
            *pin,
        )
        assert code == 0, err
        runs[name] = tmp_path / f"{name}.json"
        runs[name].write_text(out)
    # 0/32 after: the exact 95% upper bound is 0.109; fixed needs it below the acceptable rate.
    code, out, _ = verify(capsys, "--compare", str(runs["before"]), str(runs["after"]))
    assert code == 0
    assert out.startswith("reduced: ")
    assert "fixed needs its upper end below 0.05 and at least 30 after-trials" in out
    code, out, _ = verify(
        capsys, "--compare", str(runs["before"]), str(runs["after"]), "--acceptable-rate", "0.15"
    )
    assert code == 0
    assert out.startswith("fixed: ")
    code, out, _ = verify(capsys, "--compare", str(runs["before"]), str(runs["before"]), "--json")
    assert json.loads(out)["verdict"] == "blocked"
    # A before-run stopped by the sequential test is refused (exit 4, policy) ...
    code, out, err = verify(
        capsys, "--target", f"hf:{refuser_dir}", "--spec", str(refuser_report),
        "--trials", "64", "--sequential", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["sequential"] is not None
    sequential = tmp_path / "sequential.json"
    sequential.write_text(out)
    code, out, err = verify(capsys, "--compare", str(sequential), str(runs["after"]))
    assert code == 4
    assert "stopped by the sequential test" in err
    assert "fresh fixed-size before-sample" in err
    # ... unless --target and --spec name the before artifact: a fresh fixed-size sample.
    code, out, err = verify(
        capsys, "--compare", str(sequential), str(runs["after"]), "--acceptable-rate", "0.15",
        "--target", f"hf:{refuser_dir}", "--spec", str(refuser_report), "--json",
    )  # fmt: skip
    assert code == 0, err
    verdict = json.loads(out)
    assert verdict["test"]["before_trials"] == 32  # the after-run's count
    assert "a fresh fixed-size sample of 32 trials" in verdict["before_source"]
    assert verdict["verdict"] == "fixed"


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--target", "hf:/nonexistent"], 2, "cannot read"),
        (["--spec", "{report}"], 2, "--target and --spec are required"),
        (["--target", "ftp:x", "--spec", "{report}"], 1, "unknown target"),
        (["--target", "hf:/nonexistent", "--spec", "{report}"], 1, "model directory not found"),
        (["--target", "openai:http://127.0.0.1:9/v1", "--spec", "{report}"], 1, "needs a model"),
        (["--target", "hf:{model}", "--spec", "{report}", "--judge", "oracle"], 2, "unknown judge"),
        (["--target", "hf:{model}", "--spec", "{report}", "--trials", "0"], 2, "at least 1"),
        (
            ["--target", "hf:{model}", "--spec", "{report}", "--no-pin", "--pin-digest", "ab"],
            2,
            "contradict",
        ),
        (["--compare", "{missing}", "{missing}"], 2, "cannot read"),
        (["--compare", "{report}", "{report}"], 2, "not the JSON"),
    ],
)
def test_failures_print_one_clear_line(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    write_report: Any,
    refuser_dir: Path,
    argv: list[str],
    code: int,
    message: str,
) -> None:
    report = write_report("report.json")
    if "--spec" not in argv and "--compare" not in argv:
        argv = [*argv, "--spec", str(tmp_path / "absent.yaml")]
    values = {"report": str(report), "model": str(refuser_dir), "missing": str(tmp_path / "x.json")}
    argv = [arg.format(**values) for arg in argv]
    got, out, err = verify(capsys, *argv)
    assert got == code
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("modelcvd verify: error: ")
    assert message in lines[0]
