"""Lineage: propagation of a case to derivatives, the graph (API and page), card import, and
recording digests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from modelcvd.artifacts.cards import Card
from modelcvd.artifacts.digest import model_manifest
from modelcvd.artifacts.lineage import lineage_of
from modelcvd.artifacts.models import Artifact
from modelcvd.artifacts.selectors import artifact_list_visible
from modelcvd.artifacts.services import (
    artifact_record_manifest,
    artifact_supersede,
    cards_import,
)
from modelcvd.cli import main
from modelcvd.core.errors import Forbidden, InvalidInput
from modelcvd.core.models import AuditEvent
from modelcvd.demo.lineage import seed_lineage
from modelcvd.verification.models import VerificationRun
from modelcvd.verification.selectors import derivative_statuses
from tests.factories import World, sign_in


def _child(parent: Artifact, name: str, relation: str = "fine_tune", **fields: Any) -> Artifact:
    return Artifact.objects.create(
        provider="community", name=name, revision="r1", parent=parent, relation=relation, **fields
    )


def _run(world: World, artifact: Artifact, verdict: str) -> VerificationRun:
    return VerificationRun.objects.create(
        case=world.cases["a"],
        report=world.reports["a"],
        artifact=artifact,
        requested_by=world.users["triager"],
        target_uri="hf:/models/x",
        trials=20,
        state=VerificationRun.State.FINISHED,
        summary={"verdict": verdict, "successes": 0, "trials": 20},
    )


@pytest.fixture
def tree(world: World) -> dict[str, Artifact]:
    """Four generations below vendor A's model (the artifact case A affects):

    base
    ├── ft1 (fine-tune)
    │   ├── q1 (quantization)
    │   │   └── q1_abl (abliteration)                  generation 3
    │   └── ft1_safe (fine-tune; run: not reproduced)
    │       └── ft1_safe_q (quantization)              affected again, via base
    ├── ft2 (fine-tune; run: reproduced)
    │   └── ft2_q (quantization)
    └── v2 (the fix: supersedes base; run: not reproduced)
        └── v2_q (quantization)                        fixed, via v2
    """
    base = world.artifacts["a"]
    t = {"base": base}
    t["ft1"] = _child(base, "ft1")
    t["q1"] = _child(t["ft1"], "q1", "quantization")
    t["q1_abl"] = _child(t["q1"], "q1-abliterated", "abliteration")
    t["ft1_safe"] = _child(t["ft1"], "ft1-safe")
    t["ft1_safe_q"] = _child(t["ft1_safe"], "ft1-safe-q", "quantization")
    t["ft2"] = _child(base, "ft2")
    t["ft2_q"] = _child(t["ft2"], "ft2-q", "quantization")
    t["v2"] = Artifact.objects.create(
        provider=base.provider, name=base.name, revision="f" * 40, parent=base, relation="fine_tune"
    )
    t["v2_q"] = _child(t["v2"], "v2-q", "quantization")
    artifact_supersede(actor=world.users["triager"], artifact=base, by=t["v2"])
    _run(world, t["ft1_safe"], "not_reproduced")
    _run(world, t["ft2"], "reproduced")
    _run(world, t["v2"], "not_reproduced")
    return t


def test_propagation_over_generations_with_a_fix_on_one_branch(
    world: World, tree: dict[str, Artifact]
) -> None:
    statuses = {
        s.artifact_id: s
        for s in derivative_statuses(affected=[tree["base"]], case_id=world.cases["a"].pk)
    }
    by_name = {name: statuses[a.pk] for name, a in tree.items() if name != "base"}
    assert set(statuses) == {a.pk for name, a in tree.items() if name != "base"}
    expected = {
        "ft1": ("affected", "base", False),
        "q1": ("affected", "base", False),
        "q1_abl": ("affected", "base", False),
        "ft1_safe": ("not_affected", "ft1_safe", True),
        "ft1_safe_q": ("affected", "base", False),
        "ft2": ("affected", "ft2", True),
        "ft2_q": ("affected", "ft2", False),
        "v2": ("fixed", "v2", True),
        "v2_q": ("fixed", "v2", False),
    }
    for name, (status, via, verified) in expected.items():
        got = by_name[name]
        assert (got.status, got.via_id, got.verified) == (status, tree[via].pk, verified), name
    assert by_name["q1_abl"].path == (
        tree["base"].pk,
        tree["ft1"].pk,
        tree["q1"].pk,
        tree["q1_abl"].pk,
    )
    assert by_name["ft1_safe"].run_id is not None
    assert all(s.cannot_be_patched for s in statuses.values())
    # Nearest generation first.
    depths = [len(s.path) for s in statuses.values()]
    assert depths == sorted(depths)
    assert by_name["ft2_q"].to_dict()["status"] == "affected"


def test_without_a_case_every_derivative_is_affected_but_the_new_version(
    tree: dict[str, Artifact],
) -> None:
    statuses = derivative_statuses(affected=[tree["base"].pk])
    by_id = {s.artifact_id: s.status for s in statuses}
    # The version that supersedes the base is meant to fix it: never published as affected,
    # and with no run to say it is fixed, it (and its quantization) is under investigation.
    new = {tree["v2"].pk, tree["v2_q"].pk}
    assert {by_id[pk] for pk in new} == {"under_investigation"}
    assert {status for pk, status in by_id.items() if pk not in new} == {"affected"}
    # Affected artifacts themselves are not listed; a second root does not duplicate children.
    both = derivative_statuses(affected=[tree["base"], tree["ft1"]])
    assert tree["ft1"].pk not in {s.artifact_id for s in both}
    assert len(both) == len(statuses) - 1


def test_runs_of_another_case_do_not_count(world: World, tree: dict[str, Artifact]) -> None:
    statuses = derivative_statuses(affected=[tree["base"]], case_id=world.cases["b"].pk)
    assert {s.status for s in statuses} == {"affected", "under_investigation"}


def test_lineage_graph_respects_visibility(world: World, tree: dict[str, Artifact]) -> None:
    world.program.scope.add(tree["ft1"], tree["q1"])  # type: ignore[union-attr]
    public = lineage_of(tree["q1"], visible=artifact_list_visible(actor=world.users["defender"]))
    assert [a.pk for a in public.ancestors] == [tree["base"].pk, tree["ft1"].pk]
    shown = {n.artifact.pk for n in public.rows()}
    assert shown == {tree["base"].pk, tree["ft1"].pk, tree["q1"].pk}
    staff = lineage_of(tree["q1"], visible=artifact_list_visible(actor=world.users["triager"]))
    assert {n.artifact.pk for n in staff.rows()} == {a.pk for a in tree.values()}
    data = staff.to_dict()
    assert data["tree"]["id"] == tree["base"].pk
    assert data["tree"]["cannot_be_patched"] is True
    assert data["tree"]["superseded_by_id"] == tree["v2"].pk


def test_lineage_api(world: World, tree: dict[str, Artifact], api_as: Any) -> None:
    response = api_as("anonymous").get(f"/api/v1/artifacts/{tree['base'].pk}/lineage")
    assert response.status_code == 200
    body = response.json()
    assert body["tree"]["children"] == []  # derivatives out of scope stay hidden
    response = api_as("triager").get(f"/api/v1/artifacts/{tree['q1_abl'].pk}/lineage")
    body = response.json()
    assert [a["id"] for a in body["ancestors"]] == [tree[n].pk for n in ("base", "ft1", "q1")]
    ft1 = next(c for c in body["tree"]["children"] if c["id"] == tree["ft1"].pk)
    assert {c["relation"] for c in ft1["children"]} == {"quantization", "fine_tune"}
    assert api_as("anonymous").get(f"/api/v1/artifacts/{tree['q1'].pk}/lineage").status_code == 404
    one = api_as("anonymous").get(f"/api/v1/artifacts/{tree['base'].pk}").json()
    assert one["cannot_be_patched"] is True and one["superseded_by_id"] == tree["v2"].pk


def test_lineage_page(world: World, tree: dict[str, Artifact]) -> None:
    client = sign_in(Client(), world.users["triager"])
    page = client.get(f"/artifacts/{tree['q1'].pk}/lineage/").content.decode()
    assert "open weights: cannot be patched" in page
    assert f"/artifacts/{tree['v2'].pk}/lineage/" in page  # superseded by the fix
    assert page.count("<ul") >= 4  # nested lists, one per generation
    assert "Abliteration" in page
    assert Client().get(f"/artifacts/{tree['q1'].pk}/lineage/").status_code == 404


def test_cards_import_links_and_never_overwrites(world: World) -> None:
    triager = world.users["triager"]
    cards = [
        Card("someone/chat-7b-GGUF", base_models=("vendor-a/chat-7b",), relation="quantization"),
        Card("other/abl", base_models=("someone/chat-7b-GGUF",), relation="abliteration"),
        Card("other/merge", base_models=("other/abl", "x/y"), relation="merge"),
    ]
    result = cards_import(actor=triager, cards=cards)
    gguf = Artifact.objects.get(provider="someone", name="chat-7b-GGUF")
    assert gguf.parent == world.artifacts["a"] and gguf.relation == "quantization"
    assert gguf.lineage_source == "card"
    assert gguf.purl == "pkg:huggingface/someone/chat-7b-GGUF"
    abl = Artifact.objects.get(provider="other", name="abl")
    assert abl.parent == gguf
    assert len(result.linked) == 3
    assert any("2 bases" in note for note in result.notes)
    # A card claiming another base does not overwrite the record; a cycle is refused.
    again = cards_import(
        actor=triager,
        cards=[
            Card("other/abl", base_models=("x/y",), relation="fine_tune"),
            Card(
                "vendor-a/chat-7b", revision="a" * 40, base_models=("other/abl",), relation="merge"
            ),
        ],
    )
    abl.refresh_from_db()
    assert abl.parent == gguf
    assert any("kept the record" in n for n in again.notes)
    assert any("cycle" in n for n in again.notes)
    assert AuditEvent.objects.filter(action="artifact.lineage").count() == 3
    with pytest.raises(Forbidden):
        cards_import(actor=world.users["researcher_a"], cards=cards)


def test_cli_import_cards_from_a_model_directory(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "README.md").write_text(
        "---\nbase_model: vendor-a/chat-7b\nbase_model_relation: adapter\n---\n# LoRA\n"
    )
    assert (
        main(["artifact", "import-cards", str(tmp_path), "--model-id", "lab/chat-lora", "--json"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    lora = Artifact.objects.get(provider="lab", name="chat-lora")
    assert out["linked"] == [
        {"id": lora.pk, "parent_id": world.artifacts["a"].pk, "relation": "adapter"}
    ]
    assert main(["artifact", "import-cards", str(tmp_path)]) == 2
    assert "model_id" in capsys.readouterr().err


def test_record_manifest_and_cli_digest(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "m"
    d.mkdir()
    (d / "config.json").write_text("{}")
    (d / "model.safetensors").write_bytes(b"weights")
    artifact = world.artifacts["a"]
    assert (
        main(
            [
                "artifact",
                "digest",
                str(d),
                "--artifact",
                str(artifact.pk),
                "--repo",
                "vendor-a/chat-7b",
                "--revision",
                "a" * 40,
            ]
        )
        == 0
    )
    artifact.refresh_from_db()
    manifest = model_manifest(d)
    assert artifact.manifest_digest == manifest.digest
    assert artifact.weights_digest == manifest.weights_digest
    assert artifact.purl == f"pkg:huggingface/vendor-a/chat-7b@{'a' * 40}"
    assert artifact.local_dir == str(d.resolve())
    assert artifact.manifest["files"][1]["path"] == "model.safetensors"
    assert "recorded on artifact" in capsys.readouterr().out
    (d / "model.safetensors").write_bytes(b"other weights")
    with pytest.raises(InvalidInput) as caught:
        artifact_record_manifest(
            actor=world.users["triager"], artifact=artifact, manifest=model_manifest(d)
        )
    assert caught.value.errors[0].field == "weights_digest"
    # The recorded digest disagrees: invalid input in the exit-code table (was 1).
    assert main(["artifact", "digest", str(d), "--artifact", str(artifact.pk)]) == 2


def test_demo_lineage_is_idempotent(world: World) -> None:
    base = world.artifacts["a"]
    assert world.program is not None
    assert seed_lineage(base=base, program=world.program) == 4
    assert seed_lineage(base=base, program=world.program) == 0
    base.refresh_from_db()
    assert base.superseded_by is not None and base.superseded_by.version_label == "v1.1"
    statuses = derivative_statuses(affected=[base])
    assert len(statuses) == 4
    assert {s.relation for s in statuses} == {"fine_tune", "quantization", "abliteration"}
