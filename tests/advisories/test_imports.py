"""Imports into the platform: idempotent (keyed by source id), faithful to the source, and never
inventing a measurement or a credit. Every rendering of a measurement carries its counts, its
exact interval and where the counts come from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from modelcvd.advisories.imports import ImportOutcome, records_import
from modelcvd.advisories.models import Advisory, ImportedRecord
from modelcvd.advisories.render import FILE_SUFFIX, ExportRefused, export_view, render_at
from modelcvd.advisories.services import advisory_update
from modelcvd.cases.models import Case
from modelcvd.cases.services.scoring import reported_reproducibility
from modelcvd.cli import main
from modelcvd.policy.disclosure import Level
from modelcvd.reports.models import Report
from modelcvd.verification.models import VerificationRun
from tests.advisories.helpers import CNA_ORG_ID, make_advisory, publish_advisory
from tests.factories import World, sign_in
from tests.interop.samples import CORPORA
from tests.interop.test_garak import _agg_with_quack_hit

PROGRAM = "open-models"
AVID = CORPORA / "avid"
CVE = CORPORA / "cve"
# A CVE id this instance's CNA assigns, so that a CVE record is one of the renderings checked.
OWN_CVE = "CVE-2026-40001"


@pytest.fixture(autouse=True)
def cna(settings: Any) -> None:
    """This instance is a CNA: without one (and an id of ours) no CVE record is written."""
    settings.CVE_CNA_ORG_ID, settings.CVE_CNA_SHORT_NAME = CNA_ORG_ID, "modelcvd-test"


def corpus(tmp_path: Path) -> dict[str, list[Path]]:
    """Every corpus file of the four importers, plus a garak run with a hit (the corpus's own
    garak fixtures pass every output)."""
    hit = tmp_path / "hit.report.jsonl"
    hit.write_text("\n".join(_agg_with_quack_hit()) + "\n", "utf-8")
    return {
        "garak": [*sorted((CORPORA / "garak").glob("*.jsonl")), hit],
        "jailbreakbench": sorted((CORPORA / "jailbreakbench").rglob("*.json")),
        "avid": sorted(AVID.glob("*.json")),
        "cve": sorted(CVE.glob("*.json")),
    }


def import_all(world: World, files: dict[str, list[Path]]) -> list[ImportOutcome]:
    return [
        records_import(source=source, paths=paths, actor=world.users["triager"], program=PROGRAM)
        for source, paths in files.items()
    ]


def _counts() -> tuple[int, int, int, int]:
    return (
        Case.objects.count(),
        Advisory.objects.count(),
        Report.objects.count(),
        ImportedRecord.objects.count(),
    )


@pytest.mark.slow
def test_reimporting_the_whole_corpus_twice_changes_no_count(world: World, tmp_path: Path) -> None:
    files = corpus(tmp_path)
    before = _counts()
    first = import_all(world, files)
    records = 1 + 72 + 18 + 19  # garak hit, JailbreakBench jailbreaks, AVID, CVE records
    assert sum(len(o.imported) for o in first) == records
    assert sum(len(o.advisory_ids) for o in first) == records  # the triager coordinates
    after = _counts()
    assert [b + records for b in before] == list(after)
    advisories = sorted(aid for o in first for aid in o.advisory_ids)

    for _ in range(2):
        again = import_all(world, files)
        assert _counts() == after
        assert sorted(aid for o in again for aid in o.advisory_ids) == advisories
        whats = [what for o in again for _, what in o.imported]
        assert all(what.startswith("already imported, unchanged") for what in whats), whats[:3]


def test_a_changed_record_updates_the_advisory_it_created(world: World, tmp_path: Path) -> None:
    triager = world.users["triager"]
    record = json.loads((AVID / "AVID-2026-R0413.json").read_text("utf-8"))
    path = tmp_path / "AVID-2026-R0413.json"
    path.write_text(json.dumps(record), "utf-8")
    [aid] = records_import(source="avid", paths=[path], actor=triager, program=PROGRAM).advisory_ids
    cases = Case.objects.count()
    # The coordinators edit the draft, then publish it.
    advisory_update(
        actor=triager,
        advisory_id=aid,
        changes={"mitigations": "Coordinators' own words.", "aliases": ["AVID-2026-R0413"]},
    )
    publish_advisory(world, aid)

    record["references"].append(
        {"type": "source", "label": "Follow-up", "url": "https://example.org/f"}
    )
    record["credit"].append({"lang": "eng", "value": "A. Late Finder"})
    path.write_text(json.dumps(record), "utf-8")
    outcome = records_import(source="avid", paths=[path], actor=triager, program=PROGRAM)
    assert outcome.advisory_ids == [aid]
    assert Case.objects.count() == cases  # never a second case
    advisory = Advisory.objects.get(advisory_id=aid)
    assert "https://example.org/f" in [r["url"] for r in advisory.content["references"]]
    assert advisory.content["mitigations"] == "Coordinators' own words."  # edit kept
    assert "A. Late Finder" in [c["name"] for c in advisory.document["credits"]]
    assert advisory.revisions.last().changelog == (
        "Re-imported AVID-2026-R0413: the source record changed."
    )


def _with_own_cve(advisory: Advisory, world: World) -> Advisory:
    """The advisory once this instance's CNA has given it a CVE id. Before, its CVE 5 export is
    skipped (a CVE record only for an id of ours), naming any CVE alias as another CNA's."""
    view = render_at(advisory, Level.DEFENDER, actor=world.users["triager"])
    with pytest.raises(ExportRefused) as refused:
        export_view(view, "cve5")
    assert refused.value.skipped and "no CVE id assigned by this instance's CNA" in str(
        refused.value
    )
    published = advisory.state != Advisory.State.DRAFT
    advisory_update(
        actor=world.users["triager"],
        advisory_id=advisory.advisory_id,
        changes={"cve_id": OWN_CVE},
        changelog="CVE id assigned by this instance's CNA." if published else "",
    )
    return Advisory.objects.get(pk=advisory.pk)


def _exports(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [export_view(view, fmt) for fmt in FILE_SUFFIX]


def _every_rendering(advisory: Advisory, world: World) -> str:
    """The advisory as every channel writes it (published first, so that a defender reads it,
    and with a CVE id of ours, so that a CVE record is written): the document at each level,
    the page and the API for a defender and a coordinator, and every export format at public
    and defender level."""
    if advisory.state == Advisory.State.DRAFT:
        publish_advisory(world, advisory.advisory_id)
        advisory.refresh_from_db()
    advisory = _with_own_cve(advisory, world)
    texts = []
    for level in (Level.PUBLIC, Level.DEFENDER, Level.VENDOR):
        view = render_at(advisory, level, actor=world.users["triager"])
        texts.append(json.dumps(view))
        if level <= Level.DEFENDER:
            texts += [json.dumps(document) for document in _exports(view)]
    for role in ("defender", "triager"):
        client = sign_in(Client(), world.users[role])
        page = client.get(f"/advisories/{advisory.advisory_id}/")
        assert page.status_code == 200
        texts.append(page.content.decode())
        body = client.get(f"/api/v1/advisories/{advisory.advisory_id}")
        texts.append(body.content.decode())
    return "\n".join(texts)


def test_a_record_without_counts_has_no_measurement_anywhere(world: World) -> None:
    triager = world.users["triager"]
    outcome = records_import(
        source="avid", paths=[AVID / "AVID-2026-R0059.json"], actor=triager, program=PROGRAM
    )
    [aid] = outcome.advisory_ids
    advisory = Advisory.objects.get(advisory_id=aid)
    report = ImportedRecord.objects.get(source_id="AVID-2026-R0059").report
    assert report is not None and (report.successes, report.trials) == (0, 0)
    assert advisory.document["measurements"] == []
    assert reported_reproducibility(report.case) is None  # nor in the case's scoring
    text = _every_rendering(advisory, world)
    for invented in ("1 of 1", "successes", "success rate", "90-100", "modelcvd replay"):
        assert invented not in text.lower(), invented
    avid = export_view(render_at(advisory, Level.DEFENDER), "avid")
    assert avid["problemtype"]["type"] == "Advisory" and avid["metrics"] == []


def test_a_replayed_measurement_shows_run_counts_and_exact_interval(world: World) -> None:
    run = VerificationRun.objects.create(
        case=world.cases["a"],
        report=world.reports["a"],
        artifact=world.artifacts["a"],
        requested_by=world.users["triager"],
        target_uri="openai:http://127.0.0.1:9/v1#chat-7b",
        trials=20,
        state=VerificationRun.State.FINISHED,
        summary={
            "trials": 20,
            "successes": 14,
            "target": {"name": "vendor-a/chat-7b", "revision": "a" * 40, "weights_digest": ""},
            "judge": {"name": "refusal", "revision": "", "weights_digest": ""},
            "verdict": "reproduced",
        },
    )
    advisory = make_advisory(world)
    replayed, reported = advisory.document["measurements"]
    assert replayed["provenance"] == {
        "origin": "replayed",
        "run_id": run.pk,
        "target": {"name": "vendor-a/chat-7b", "revision": "a" * 40, "weights_digest": ""},
        "judge": {"name": "refusal", "revision": "", "weights_digest": ""},
    }
    assert (replayed["successes"], replayed["trials"]) == (14, 20)
    assert (replayed["interval_low"], replayed["interval_high"]) == (0.4572, 0.8811)
    assert replayed["interval_method"] == "clopper-pearson"
    # The fixture report's own 3 of 10: the reporter's counts, not a replay.
    assert reported["provenance"] == {
        "origin": "reported",
        "source": "the reporter",
        "source_id": "",
        "importer": "",
        "basis": "",
    }
    said = (
        f"14 of 20 trials (95% CI 0.457-0.881, exact Clopper-Pearson), replayed on this "
        f"instance: verification run #{run.pk}, target vendor-a/chat-7b@{'a' * 40}, judge refusal"
    )
    page = sign_in(Client(), world.users["defender"]).get(f"/advisories/{advisory.advisory_id}/")
    assert said in page.content.decode()
    view = render_at(advisory, Level.DEFENDER)
    avid = export_view(view, "avid")
    assert avid["metrics"][0]["detection_method"]["name"] == said.split("), ")[1]
    osv = export_view(view, "osv")
    [measured, _] = osv["affected"][0]["database_specific"]["measurements"]
    assert measured["provenance"]["run_id"] == run.pk
    assert measured["interval"] == [0.4572, 0.8811]
    csaf = export_view(view, "csaf")
    assert any(said in note["text"] for note in csaf["vulnerabilities"][0]["notes"])


def _garak_six_of_58(tmp_path: Path) -> Path:
    lines = []
    for line in _agg_with_quack_hit():
        entry: dict[str, Any] = json.loads(line)
        if entry.get("entry_type") == "eval" and entry.get("probe") == "lmrc.QuackMedicine":
            entry.update(passed=52, fails=6, total_evaluated=58)
        lines.append(json.dumps(entry))
    path = tmp_path / "six.report.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def test_garak_counts_are_reported_by_garak_never_replayed_here(
    world: World, tmp_path: Path
) -> None:
    outcome = records_import(
        source="garak",
        paths=[_garak_six_of_58(tmp_path)],
        actor=world.users["triager"],
        program=PROGRAM,
    )
    [aid] = outcome.advisory_ids
    advisory = Advisory.objects.get(advisory_id=aid)
    [measured] = advisory.document["measurements"]
    assert (measured["successes"], measured["trials"]) == (6, 58)
    assert measured["provenance"] == {
        "origin": "reported",
        "source": "garak",
        "source_id": "f0d4a5a6-b698-4e9e-9336-91b89194b72b/lmrc.QuackMedicine/lmrc.QuackMedicine",
        "importer": "garak",
        "basis": "garak eval entry: 52 passed of 58 evaluated",
    }
    text = _every_rendering(advisory, world)
    assert "replayed on this instance" not in text and "modelcvd replay" not in text
    avid = export_view(render_at(advisory, Level.DEFENDER), "avid")
    [metric] = avid["metrics"]
    assert metric["detection_method"]["name"].startswith("reported by garak (f0d4a5a6")


def test_jailbreakbench_single_trials_are_not_rates(world: World) -> None:
    path = CORPORA / "jailbreakbench" / "test-artifact" / "black_box" / "vicuna-13b-v1.5.json"
    outcome = records_import(
        source="jailbreakbench", paths=[path], actor=world.users["triager"], program=PROGRAM
    )
    [aid] = outcome.advisory_ids
    advisory = Advisory.objects.get(advisory_id=aid)
    assert advisory.document["measurements"] == []
    assert "1 of 1" not in _every_rendering(advisory, world)


def test_the_source_credits_its_finders_never_the_importing_account(world: World) -> None:
    triager = world.users["triager"]
    outcome = records_import(
        source="cve", paths=[CVE / "CVE-2024-21513.json"], actor=triager, program=PROGRAM
    )
    [aid] = outcome.advisory_ids
    advisory = Advisory.objects.get(advisory_id=aid)
    assert advisory.document["credits"] == [
        {
            "name": "Rory McNamara (Snyk Security Research)",
            "role": "finder",
            "source": "CVE-2024-21513",
            "source_type": "finder",
        }
    ]
    view = render_at(_with_own_cve(advisory, world), Level.DEFENDER)
    osv = export_view(view, "osv")
    assert osv["credits"] == [{"name": "Rory McNamara (Snyk Security Research)", "type": "FINDER"}]
    record = export_view(view, "cve5")
    assert record["containers"]["cna"]["credits"] == [
        {"lang": "en", "value": "Rory McNamara (Snyk Security Research)", "type": "finder"}
    ]
    assert triager.public_name not in json.dumps(_exports(view))
    two = records_import(
        source="avid", paths=[AVID / "AVID-2026-R0413.json"], actor=triager, program=PROGRAM
    )
    credited = Advisory.objects.get(advisory_id=two.advisory_ids[0]).document["credits"]
    assert [c["name"] for c in credited] == ["Jim Nightingale", "Mindgard"]


def test_an_imported_product_is_on_hugging_face_only_where_the_source_says_so(
    world: World, tmp_path: Path
) -> None:
    """Issue 16, defect 7: a name of the form ORG/NAME is no proof that a product is a model
    on Hugging Face. A CVE about a Python package (abetlen/llama-cpp-python) used to export
    as https://huggingface.co/abetlen/llama-cpp-python, pkg:huggingface/...; now only a
    record that places the product there (a CVE collectionURL, a garak huggingface
    generator) gives it a repository and a package URL."""
    triager = world.users["triager"]
    record = json.loads((CVE / "CVE-2024-34359.json").read_text("utf-8"))
    path = tmp_path / "CVE-2024-34359.json"
    path.write_text(json.dumps(record), "utf-8")
    [aid] = records_import(source="cve", paths=[path], actor=triager, program=PROGRAM).advisory_ids
    advisory = Advisory.objects.get(advisory_id=aid)
    [entry] = advisory.document["affected"]
    assert (entry["provider"], entry["name"]) == ("abetlen", "llama-cpp-python")
    assert (entry["repository_url"], entry["purl"]) == ("", "")
    exported = json.dumps(_exports(render_at(_with_own_cve(advisory, world), Level.DEFENDER)))
    assert "huggingface.co/abetlen" not in exported and "pkg:huggingface" not in exported

    # The same record, had its CNA named the Hub as the collection: a model there after all.
    record["containers"]["cna"]["affected"][0] |= {
        "collectionURL": "https://huggingface.co",
        "packageName": "abetlen/llama-cpp-python",
    }
    path.write_text(json.dumps(record), "utf-8")
    assert records_import(
        source="cve", paths=[path], actor=triager, program=PROGRAM
    ).advisory_ids == [aid]
    [entry] = Advisory.objects.get(advisory_id=aid).document["affected"]
    assert entry["repository_url"] == "https://huggingface.co/abetlen/llama-cpp-python"
    assert entry["purl"] == "pkg:huggingface/abetlen/llama-cpp-python"

    # garak ran the model through its huggingface generator: on the Hub.
    [garak] = records_import(
        source="garak", paths=[_garak_six_of_58(tmp_path)], actor=triager, program=PROGRAM
    ).advisory_ids
    [entry] = Advisory.objects.get(advisory_id=garak).document["affected"]
    assert entry["repository_url"] == f"https://huggingface.co/{entry['provider']}/{entry['name']}"


def test_a_researcher_import_files_reports_but_drafts_no_advisory(world: World) -> None:
    outcome = records_import(
        source="avid",
        paths=[AVID / "AVID-2026-R0125.json"],
        actor=world.users["researcher_b"],
        program=PROGRAM,
    )
    assert outcome.advisory_ids == [] and len(outcome.report_ids) == 1
    assert any("does not coordinate" in note for _, note in outcome.notes)
    # A coordinator importing it again drafts the advisory on the same case.
    again = records_import(
        source="avid",
        paths=[AVID / "AVID-2026-R0125.json"],
        actor=world.users["triager"],
        program=PROGRAM,
    )
    assert again.report_ids == outcome.report_ids and len(again.advisory_ids) == 1
    advisory = Advisory.objects.get(advisory_id=again.advisory_ids[0])
    [measured] = advisory.document["measurements"]
    assert (measured["successes"], measured["trials"]) == (31, 51)
    assert measured["provenance"]["source"] == "AVID"
    assert measured["provenance"]["source_id"] == "AVID-2026-R0125"
    # The researcher who imported the record found nothing: not credited either.
    assert world.users["researcher_b"].public_name not in json.dumps(advisory.document)


def test_an_avid_record_exports_to_avid_with_its_own_classification(world: World) -> None:
    """What the AVID import used to replace: the SEP view (E0101 became E0402), lifecycle
    view, class, deployer, artifact type; now an AVID record goes back out as it came in."""
    triager = world.users["triager"]
    paths = [AVID / name for name in ("AVID-2022-R0001.json", "AVID-2025-R0002.json")]
    outcome = records_import(source="avid", paths=paths, actor=triager, program=PROGRAM)
    first, second = (Advisory.objects.get(advisory_id=aid) for aid in outcome.advisory_ids)
    report = export_view(render_at(first, Level.DEFENDER), "avid")
    assert report["impact"]["avid"]["sep_view"] == ["E0101: Group fairness"]
    assert report["impact"]["avid"]["risk_domain"] == ["Ethics"]
    assert report["impact"]["avid"]["lifecycle_view"] == ["L05: Evaluation"]
    assert report["problemtype"]["classof"] == "LLM Evaluation"
    assert report["affects"]["deployer"] == ["HuggingFace"]
    assert report["affects"]["artifacts"] == [
        {"type": "Model", "name": "unparsed/bert-base-uncased"}
    ]
    assert [c["value"] for c in report["credit"]] == [
        "Harry Saini, AVID",
        "Sasha Luccioni, Hugging Face",
    ]
    assert "Source record AVID-2022-R0001: reported 2022-11-09." in report["description"]["value"]
    # A drifted spelling goes out in AVID's own: by code, never replaced by another entry.
    drifted = export_view(render_at(second, Level.DEFENDER), "avid")
    assert drifted["impact"]["avid"]["sep_view"] == [
        "E0100: Bias/ Discrimination",
        "E0101: Group fairness",
    ]
    system = records_import(
        source="avid", paths=[AVID / "AVID-2026-R0027.json"], actor=triager, program=PROGRAM
    )
    cve_entry = Advisory.objects.get(advisory_id=system.advisory_ids[0])
    exported = export_view(render_at(cve_entry, Level.DEFENDER), "avid")
    assert exported["affects"]["artifacts"] == [{"type": "System", "name": "run-llama/llama_index"}]
    assert exported["problemtype"]["classof"] == "CVE Entry"
    assert exported["impact"]["cvss"]["vectorString"] == (
        "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"
    )
    assert cve_entry.content["aliases"] == ["AVID-2026-R0027", "CVE-2024-12909"]


def test_the_import_command_drafts_and_reimports(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["import", "cve", str(CVE / "CVE-2024-21513.json"), "--program", PROGRAM]
    assert main([*args, "--user", "triager", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    [aid] = first["advisory_ids"]
    assert first["imported"][0]["where"] == "cve CVE-2024-21513"
    assert main([*args, "--user", "triager"]) == 0
    assert f"already imported, unchanged; advisory {aid}" in capsys.readouterr().out
