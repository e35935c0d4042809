"""Filing a detected safety-stripped derivative as a report: the command, the API operation
and the web button, on real tiny models stored under MODELCVD_MODEL_DIRS."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from django.test import Client
from safetensors.torch import load_file, save_file

from modelcvd.artifacts.models import Artifact
from modelcvd.cli import main
from modelcvd.reports.models import Report
from modelcvd.reports.services.attachments import attachment_open
from tests.factories import World, sign_in
from tests.verification import tiny_models

# One intra-op thread: on a busy small machine a second one makes generation 8x slower.
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A tiny chat LM, an abliterated copy and an identical copy, under one models root."""
    root = tmp_path_factory.mktemp("models")
    base = tiny_models.build_random_lm(root / "base")
    derived = root / "base-abliterated"
    shutil.copytree(base, derived)
    weights = derived / "model.safetensors"
    state = load_file(str(weights))
    r = torch.randn(64, generator=torch.Generator().manual_seed(5))
    r /= r.norm()
    for name, w in state.items():
        if name.endswith(("o_proj.weight", "down_proj.weight")):
            state[name] = w - torch.outer(r, r @ w)
    save_file(state, str(weights), metadata={"format": "pt"})
    (derived / "README.md").write_text("---\ntags: [abliterated]\n---\n")
    copy = root / "base-copy"
    shutil.copytree(base, copy)
    return root, base, derived


@pytest.fixture
def registered(
    world: World, model_pair: tuple[Path, Path, Path], settings: Any
) -> dict[str, Artifact]:
    root, base, derived = model_pair
    settings.MODEL_DIRS = [str(root)]
    made = {
        "base": Artifact.objects.create(
            provider="lab", name="tiny", revision="1", local_dir=str(base)
        ),
        "derived": Artifact.objects.create(
            provider="anon", name="tiny-abliterated", revision="1", local_dir=str(derived)
        ),
        "copy": Artifact.objects.create(
            provider="anon", name="tiny-copy", revision="1", local_dir=str(root / "base-copy")
        ),
    }
    world.program.scope.add(*made.values())  # type: ignore[union-attr]
    return made


def _check_filed(world: World, registered: dict[str, Artifact], reporter: str) -> Report:
    derived = registered["derived"]
    report = Report.objects.get(artifacts=derived)
    assert report.reporter == world.users[reporter]
    assert report.title.startswith("Safety-stripped derivative anon/tiny-abliterated")
    assert "verdict abliterated" in report.abstract
    assert report.owasp == "LLM03" and report.atlas == "AML.T0018"
    assert report.trials == 16  # the built-in probe set, once each
    derived.refresh_from_db()
    assert derived.parent == registered["base"]
    assert (derived.relation, derived.lineage_source) == ("abliteration", "forensics")
    attachment = report.attachments.get()
    opened = attachment_open(
        report=report, attachment_id=attachment.pk, actor=world.users["triager"], reason="test"
    )
    evidence = json.loads(opened.content)
    assert evidence["weights"]["verdict"] == "abliterated"
    assert evidence["behaviour"]["derived"]["trials"] == 16
    return report


def test_command_files_the_report(
    world: World,
    registered: dict[str, Artifact],
    model_pair: tuple[Path, Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, base, derived = model_pair
    code = main(
        [
            "forensics",
            "compare",
            str(base),
            str(derived),
            "--file-report",
            "--program",
            "open-models",
            "--reporter",
            "researcher_a",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "verdict: abliterated" in out and "refusal rate: base" in out and "filed" in out
    assert "tool trace" in out
    _check_filed(world, registered, "researcher_a")


def test_command_refuses_when_nothing_was_stripped(
    world: World,
    registered: dict[str, Artifact],
    model_pair: tuple[Path, Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, base, _ = model_pair
    code = main(
        [
            "forensics",
            "compare",
            str(base),
            str(root / "base-copy"),
            "--file-report",
            "--program",
            "open-models",
            "--reporter",
            "researcher_a",
        ]
    )
    assert code == 2  # invalid input in the exit-code table (was 1)
    assert "no report filed" in capsys.readouterr().err
    assert not Report.objects.filter(artifacts=registered["copy"]).exists()
    assert main(["forensics", "compare", str(base), str(root / "base-copy"), "--file-report"]) == 2


def test_api_operation_queues_and_files(
    world: World,
    registered: dict[str, Artifact],
    api_as: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    url = f"/api/v1/artifacts/{registered['derived'].pk}/forensic-report"
    body = {"base_id": registered["base"].pk, "program": "open-models"}
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as("triager").post(url, body)
    assert response.status_code == 202, response.content
    _check_filed(world, registered, "triager")


def test_api_operation_checks_its_input(
    world: World, registered: dict[str, Artifact], api_as: Any, settings: Any
) -> None:
    url = f"/api/v1/artifacts/{registered['derived'].pk}/forensic-report"
    triager = api_as("triager")
    response = triager.post(url, {"base_id": world.artifacts["a"].pk, "program": "open-models"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "base_id"
    response = triager.post(url, {"base_id": registered["base"].pk, "program": "nope"})
    assert response.json()["errors"][0]["field"] == "program"
    response = triager.post(url, {"base_id": registered["derived"].pk, "program": "open-models"})
    assert response.json()["errors"][0]["field"] == "base_id"
    settings.MODEL_DIRS = ["/somewhere/else"]
    response = triager.post(url, {"base_id": registered["base"].pk, "program": "open-models"})
    assert "MODELCVD_MODEL_DIRS" in response.json()["errors"][0]["reason"]
    assert (
        api_as("researcher_a")
        .post(url, {"base_id": registered["base"].pk, "program": "open-models"})
        .status_code
        == 403
    )


def test_web_button_files_the_report(
    world: World, registered: dict[str, Artifact], django_capture_on_commit_callbacks: Any
) -> None:
    client = sign_in(Client(), world.users["triager"])
    page = client.get(f"/artifacts/{registered['derived'].pk}/lineage/").content.decode()
    assert "Compare and file if safety-stripped" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/artifacts/{registered['derived'].pk}/forensic-report/",
            {"base_id": registered["base"].pk, "program": "open-models"},
        )
    assert response.status_code == 302
    _check_filed(world, registered, "triager")
    researcher = sign_in(Client(), world.users["researcher_a"])
    assert (
        "Compare and file"
        not in researcher.get(f"/artifacts/{registered['derived'].pk}/lineage/").content.decode()
    )
    assert (
        researcher.post(f"/artifacts/{registered['derived'].pk}/forensic-report/", {}).status_code
        == 404
    )
