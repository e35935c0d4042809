"""Every corpus record through its importer (imported, or skipped with a reason), and every
imported report's advisory through every exporter, validated against the official schemas.
Also the `modelcvd import`, `modelcvd export` and `modelcvd commitment` commands end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelcvd.advisories.imports import SOURCES, cves_import, reports_import
from modelcvd.advisories.models import ImportedRecord
from modelcvd.advisories.render import FILE_SUFFIX, ExportRefused, export_view, render_at
from modelcvd.advisories.services import advisory_create, content_from_case
from modelcvd.cli import advisories as commands
from modelcvd.cli import main
from modelcvd.interop.jailbreakbench import import_jailbreakbench_file
from modelcvd.policy.disclosure import Level
from modelcvd.reports.models import Report
from modelcvd.reports.services import report_payload_open
from tests.advisories.helpers import CNA_ORG_ID, make_advisory
from tests.factories import World
from tests.interop.samples import (
    CORPORA,
    avid_report_validator,
    cna_container_validator,
    csaf_validator,
    cve_record_validator,
    errors,
    osv_validator,
)
from tests.interop.test_garak import _agg_with_quack_hit

CORPUS_FILES = {
    "garak": sorted((CORPORA / "garak").glob("*.jsonl")),
    "jailbreakbench": sorted((CORPORA / "jailbreakbench").rglob("*.json")),
    "avid": sorted((CORPORA / "avid").glob("*.json")),
}


def test_the_cli_and_the_library_agree_on_names() -> None:
    assert set(commands.FORMATS) == set(FILE_SUFFIX)
    assert set(commands.SOURCES) == set(SOURCES)


def _validate(document: dict[str, Any], fmt: str) -> list[str]:
    if fmt == "cve5":
        if "dataType" in document:
            return errors(cve_record_validator(), document)
        return errors(cna_container_validator(), document)
    validator = {"osv": osv_validator, "csaf": csaf_validator, "avid": avid_report_validator}[fmt]
    return errors(validator(), document)


def test_every_corpus_record_imports_and_every_advisory_exports(
    world: World, tmp_path: Path
) -> None:
    triager = world.users["triager"]
    garak_hit = tmp_path / "hit.report.jsonl"
    garak_hit.write_text("\n".join(_agg_with_quack_hit()) + "\n", "utf-8")
    imported: list[int] = []
    for source, paths in {**CORPUS_FILES, "garak": [*CORPUS_FILES["garak"], garak_hit]}.items():
        assert paths, f"no {source} corpus files"
        outcome = reports_import(
            source=source, paths=paths, program="open-models", actor=world.users["researcher_b"]
        )
        assert outcome.imported or outcome.skipped
        for where, reason in outcome.skipped:
            assert where and reason  # every skip says where and why
        imported += outcome.report_ids
    # The corpus sizes as the pure importers see them: 72 JailbreakBench jailbreaks, 18 AVID
    # records, 1 garak hit (the corpus's own garak runs have none).
    assert len(imported) == 72 + 18 + 1

    # Payloads are sealed, not stored in clear.
    report = Report.objects.get(pk=imported[0])
    assert report_payload_open(report=report, actor=triager, reason="test")["turns"]

    for report in Report.objects.filter(pk__in=imported).select_related("case"):
        advisory = advisory_create(
            actor=triager, case_id=report.case_id, content=content_from_case(report.case)
        )
        # Drafts export like published advisories (the vendor previews them); publishing is
        # exercised in test_services and by the export command below.
        for level in (Level.PUBLIC, Level.DEFENDER):
            view = render_at(advisory, level)
            # No CVE id of this instance's CNA: no CVE record, and that is no failure.
            with pytest.raises(ExportRefused) as refused:
                export_view(view, "cve5")
            assert refused.value.skipped, refused.value.reason
            for fmt in ("osv", "csaf", "avid"):
                document = export_view(view, fmt)
                assert _validate(document, fmt) == [], (report.title, fmt, level)


def test_jailbreak_prompts_are_sealed_not_published(world: World) -> None:
    path = CORPORA / "jailbreakbench" / "test-artifact" / "black_box" / "vicuna-13b-v1.5.json"
    prompt = import_jailbreakbench_file(path, program="open-models").reports[0]
    secret = prompt.reproduction.turns[0].content
    outcome = reports_import(
        source="jailbreakbench",
        paths=[path],
        program="open-models",
        actor=world.users["researcher_b"],
    )
    report = Report.objects.get(pk=outcome.report_ids[0])
    advisory = advisory_create(
        actor=world.users["triager"],
        case_id=report.case_id,
        content=content_from_case(report.case),
    )
    for level in (Level.PUBLIC, Level.DEFENDER):
        view = render_at(advisory, level)
        assert secret[:40] not in json.dumps(view)
        for fmt in FILE_SUFFIX:
            if fmt != "cve5":  # no CVE id of this instance's CNA: no CVE record at all
                assert secret[:40] not in json.dumps(export_view(view, fmt))


def test_cve_records_become_aliasing_records_and_references(world: World) -> None:
    advisory = make_advisory(world, aliases=["CVE-2024-5565"])
    paths = sorted((CORPORA / "cve").glob("*.json"))
    outcome = cves_import(paths=paths, actor=world.users["triager"])
    assert ImportedRecord.objects.filter(source="cve").count() == len(outcome.imported) == 19
    # Without a program, CVE records are kept for aliasing only.
    assert not ImportedRecord.objects.exclude(report=None).exists()
    assert all(reason for _, reason in outcome.skipped)
    linked = dict(outcome.imported)["CVE-2024-5565"]
    assert advisory.advisory_id in linked
    advisory.refresh_from_db()
    assert advisory.document["revision"] == 2
    assert any(r["label"] == "CVE-2024-5565" for r in advisory.document["references"])
    assert advisory.revisions.last().changelog == "References from the CVE-2024-5565 record."


def test_import_command_prints_imported_and_skipped(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    path = CORPORA / "jailbreakbench" / "PAIR" / "black_box" / "gpt-3.5-turbo-1106.json"
    code = main(
        [
            "import",
            "jailbreakbench",
            str(path),
            "--program",
            "open-models",
            "--user",
            "researcher_b",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "71 imported, 29 skipped" in out
    assert "skipped   PAIR/black_box/gpt-3.5-turbo-1106.json#jailbreaks[4]: not jailbroken" in out
    bad = main(["import", "avid", str(path), "--program", "no-such", "--user", "researcher_b"])
    assert bad == 2 and "no program" in capsys.readouterr().err


def test_export_command_writes_one_valid_file_per_advisory(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: Any
) -> None:
    settings.CVE_CNA_ORG_ID, settings.CVE_CNA_SHORT_NAME = CNA_ORG_ID, "modelcvd-test"
    first = make_advisory(world, cve_id="CVE-2026-40001")
    make_advisory(world, title="Quokka second advisory", aliases=[])
    for fmt in FILE_SUFFIX:
        out = tmp_path / fmt
        assert main(["export", "--format", fmt, "--out", str(out)]) == 0
        files = sorted(out.iterdir())
        # A CVE record only for the advisory with a CVE id of this instance's CNA.
        assert len(files) == (1 if fmt == "cve5" else 2)
        for file in files:
            assert _validate(json.loads(file.read_text()), fmt) == [], file.name
    one = tmp_path / "one"
    assert (
        main(
            [
                "export",
                "--format",
                "csaf",
                "--out",
                str(one),
                "--advisory",
                first.advisory_id,
                "--level",
                "defender",
            ]
        )
        == 0
    )
    (only,) = one.iterdir()
    assert json.loads(only.read_text())["document"]["distribution"]["tlp"]["label"] == "GREEN"
    assert (
        main(["export", "--format", "osv", "--out", str(one), "--advisory", "MCVD-1999-0001"]) == 3
    )
    assert "no published advisory" in capsys.readouterr().err


def test_commitment_reveal_then_verify(world: World, tmp_path: Path, capsys: Any) -> None:
    advisory = make_advisory(world)
    out = tmp_path / "reveal"
    assert (
        main(
            [
                "commitment",
                "reveal",
                advisory.advisory_id,
                "--user",
                "triager",
                "--reason",
                "reporter asks",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    args = [
        "commitment",
        "verify",
        "--commitment",
        advisory.commitment,
        "--payload",
        str(out / "payload.json"),
        "--salt",
        str(out / "salt.hex"),
    ]
    assert main(args) == 0
    assert "OK" in capsys.readouterr().out
    payload = json.loads((out / "payload.json").read_text())
    payload["reports"][0]["turns"][0]["content"] = "something else"
    (out / "payload.json").write_text(json.dumps(payload))
    assert main(args) == 1
    assert "MISMATCH" in capsys.readouterr().out
    (out / "salt.hex").write_text("zz")
    assert main(args) == 2
