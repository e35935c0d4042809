"""AVID import over every corpus record: lenient, with every skip and default explained."""

from __future__ import annotations

import pytest

from modelcvd.interop.avid import avid_report
from modelcvd.interop.avid_import import (
    MISSING_PROMPT,
    import_avid_file,
    import_avid_record,
    parse_artifact_name,
)
from tests.interop.samples import CORPORA, jailbreak_advisory

AVID = CORPORA / "avid"
SKIPPED = {
    "AVID-2022-V004.json": "AIID Incident",
    "AVID-2023-V017.json": "AIID Incident",
}


def test_every_corpus_record_imports_or_is_skipped_with_a_reason() -> None:
    paths = sorted(AVID.glob("*.json"))
    assert len(paths) == 20
    imported, skipped = [], {}
    for path in paths:
        result = import_avid_file(path, program="demo")
        assert len(result.reports) + len(result.skipped) == 1, path.name
        if result.reports:
            imported.append(path.name)
            report, record = result.reports[0], result.sources[0]
            assert report.reproduction.turns[0].content == MISSING_PROMPT
            assert any("MISSING_PROMPT" in note for _, note in result.notes)
            # The record's own id is its first alias and the key of a re-import.
            assert record.source_id == record.aliases[0] == path.stem
        else:
            skipped[path.name] = result.skipped[0][1].split(":")[0]
    assert skipped == SKIPPED
    assert len(imported) == 18
    # The drifting records (data_version 0.1 metrics, "" classof, off-enum sep_view,
    # inspect-style metrics) import all the same.
    assert {
        "AVID-2022-R0001.json",
        "AVID-2022-R0002.json",
        "AVID-2025-R0002.json",
        "AVID-2025-R0003.json",
    } <= set(imported)


def test_garak_measurement_counts_and_mappings() -> None:
    result = import_avid_file(AVID / "AVID-2026-R0125.json", program="demo")
    [report], [record] = result.reports, result.sources
    assert (report.reproduction.successes, report.reproduction.trials) == (31, 51)
    [counts] = record.counts
    assert (counts.successes, counts.trials) == (31, 51)
    assert counts.basis == "garak detector ansiescape.Escaped: 20 passed of 51 evaluated"
    assert report.artifacts[0].provider == "Moonshot AI"
    assert (report.technique.owasp, report.technique.atlas) == ("LLM05", "AML.T0077")
    assert record.deployers == ("Together AI",)
    assert record.date_reported == "2026-02-20"
    assert record.scores[0]["results"]["rows"][0]["score"] == 39.21568627450981


def test_a_record_without_counts_gives_none() -> None:
    """Observed, not counted: 0 trials ("not counted"), never 1 of 1."""
    for name in ("AVID-2026-R0059.json", "AVID-2023-R0002.json", "AVID-2022-R0001.json"):
        result = import_avid_file(AVID / name, program="demo")
        [report], [record] = result.reports, result.sources
        assert (report.reproduction.successes, report.reproduction.trials) == (0, 0)
        assert record.counts == ()
        assert any("no counts in the record" in note for _, note in result.notes)
    # The per-model scores it does give (0DIN's percentages) are kept as given.
    [record] = import_avid_file(AVID / "AVID-2026-R0059.json", program="demo").sources
    assert record.scores[0]["results"]["Test Scores"][0]["Test Score"] == "95.0"


def test_jailbreak_disclosure_maps_to_llm_jailbreak() -> None:
    result = import_avid_file(AVID / "AVID-2026-R0059.json", program="demo")
    [report] = result.reports
    assert (report.technique.owasp, report.technique.atlas) == ("LLM01", "AML.T0054")
    # No harm in the record's taxonomy (it has an ODIN block, no SEP view): "other", although
    # its prose is about drugs.
    assert report.harm_category == "other"
    assert [(a.provider, a.name) for a in report.artifacts] == [
        ("DeepSeek", "DeepSeek V3"),
        ("unparsed", "Google Gemini 2.0 Flash"),
        ("unparsed", "Twitter / X Grok 2"),
    ]
    [record] = result.sources
    assert [p.parsed for p in record.products] == [True, False, False]
    assert record.products[0].source_name == "DeepSeek DeepSeek V3"
    assert any("not attributable" in note for _, note in result.notes)
    assert record.taxonomy["odin"]["SocialImpactScore"] == "Level 3: Significant Risk"


def test_harm_comes_from_the_sep_view_not_the_prose() -> None:
    """A record about wrong authors and made-up papers mentions privacy; its SEP view says
    generative misinformation, which names no harm category."""
    [report] = import_avid_file(AVID / "AVID-2023-R0002.json", program="demo").reports
    assert "privacy" in report.impact
    assert report.harm_category == "other"
    [bias] = import_avid_file(AVID / "AVID-2022-R0001.json", program="demo").reports
    assert bias.harm_category == "hate"  # E0101 Group fairness


def test_the_record_is_kept_as_given() -> None:
    [record] = import_avid_file(AVID / "AVID-2026-R1304.json", program="demo").sources
    assert record.aliases == ("AVID-2026-R1304", "CVE-2023-51449")
    assert record.taxonomy["classof"] == "CVE Entry"
    assert record.taxonomy["avid"]["sep_view"] == ["S0100: Software Vulnerability"]
    assert record.taxonomy["avid"]["lifecycle_view"] == ["L06: Deployment"]
    [cvss] = record.cvss
    assert (cvss.version, cvss.vector) == ("3.1", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:L")
    assert (cvss.base_score, cvss.rescored()) == (5.6, (5.6, "MEDIUM"))
    assert record.date_reported == "2023-12-22"
    [linked] = import_avid_file(AVID / "AVID-2022-R0001.json", program="demo").sources
    assert linked.aliases == ("AVID-2022-R0001", "AVID-2022-V001")
    assert [c.name for c in linked.credits] == ["Harry Saini, AVID", "Sasha Luccioni, Hugging Face"]
    assert linked.taxonomy["avid"]["sep_view"] == ["E0101: Group fairness"]  # not E0402
    assert linked.taxonomy["avid"]["lifecycle_view"] == ["L05: Evaluation"]
    assert linked.deployers == ("HuggingFace",)
    assert linked.products[0].artifact_type == "Model"
    vulnerability = import_avid_file(AVID / "AVID-2023-V026.json", program="demo").sources[0]
    assert (vulnerability.date_published, vulnerability.date_updated) == (
        "2023-03-31",
        "2023-03-31",
    )


# A vulnerability shaped like AVID-2023-V016 (an ATLAS case study): seven people credited, the
# system named with its URL as both the artifact and its developer.
SEVEN = [f"Researcher {n}, Example Lab" for n in "ABCDEFG"]
MATHGPT = "MathGPT (https://mathgpt.streamlit.app/)"
CASE_STUDY = {
    "data_type": "AVID",
    "data_version": "0.2",
    "metadata": {"vuln_id": "AVID-2023-V999"},
    "affects": {
        "developer": [MATHGPT],
        "deployer": [MATHGPT],
        "artifacts": [{"type": "System", "name": MATHGPT}],
    },
    "problemtype": {
        "classof": "ATLAS Case Study",
        "type": "Advisory",
        "description": {"lang": "eng", "value": "Code execution via prompt injection"},
    },
    "impact": {"atlas": [{"technique": "AML.T0051"}]},
    "credit": [{"lang": "eng", "value": name} for name in SEVEN],
    "published_date": "2023-03-31",
}


def test_every_named_finder_is_kept_and_a_doubtful_name_is_not_split() -> None:
    result = import_avid_record(CASE_STUDY, program="demo", source="v.json")
    [report], [record] = result.reports, result.sources
    assert [(c.name, c.role) for c in record.credits] == [(name, "finder") for name in SEVEN]
    assert [(a.provider, a.name) for a in report.artifacts] == [("unparsed", MATHGPT)]
    assert record.products[0].parsed is False
    assert (report.technique.owasp, report.technique.atlas) == ("LLM09", "AML.T0051")


# (artifact name, the record's developers, its only artifact?) -> (provider, name, parsed)
@pytest.mark.parametrize(
    ("name", "developers", "only", "parsed"),
    [
        ("meta-llama/Llama-3-8B", [], False, ("meta-llama", "Llama-3-8B", True)),
        ("DeepSeek DeepSeek R1", ["DeepSeek"], False, ("DeepSeek", "DeepSeek R1", True)),
        ("Moltbook Platform", ["Moltbook"], True, ("Moltbook", "Moltbook Platform", True)),
        ("Kimi-K2", ["Moonshot AI"], True, ("Moonshot AI", "Kimi-K2", True)),
        ("ChatGPT", ["OpenAI"], False, ("unparsed", "ChatGPT", False)),
        ("ChatGPT", ["OpenAI", "boxcars.ai"], True, ("unparsed", "ChatGPT", False)),
        ("Anthropic Claude", ["DeepSeek"], False, ("unparsed", "Anthropic Claude", False)),
        (MATHGPT, [MATHGPT], True, ("unparsed", MATHGPT, False)),
        ("bert-base-uncased", [], True, ("unparsed", "bert-base-uncased", False)),
    ],
)
def test_artifact_names_are_parsed_conservatively(
    name: str, developers: list[str], only: bool, parsed: tuple[str, str, bool]
) -> None:
    assert parse_artifact_name(name, developers=developers, only_artifact=only) == parsed


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ("text", "not a JSON object"),
        ({"data_type": "CVE"}, "data_type 'CVE' is not AVID"),
        ({"problemtype": {"classof": "LLM Evaluation"}}, "names no model or system artifact"),
    ],
)
def test_malformed_records_are_skipped(record: object, reason: str) -> None:
    result = import_avid_record(record, program="demo", source="r.json")
    assert result.reports == []
    assert result.skipped[0][1] == reason


def test_metrics_without_failures_are_skipped() -> None:
    record = {
        "affects": {
            "developer": ["Org"],
            "deployer": [],
            "artifacts": [{"type": "Model", "name": "m"}],
        },
        "problemtype": {
            "classof": "LLM Evaluation",
            "description": {"lang": "eng", "value": "garak run"},
        },
        "metrics": [{"results": {"rows": [{"passed": 10, "total_evaluated": 10}]}}],
    }
    result = import_avid_record(record, program="demo", source="r.json")
    assert result.skipped == [("r.json (r.json)", "metrics show no failures (0 of 10)")]


def test_round_trip_through_avid_export() -> None:
    """An advisory exported to AVID imports back with its artifacts, technique and counts."""
    advisory = jailbreak_advisory()
    exported = avid_report(advisory)
    result = import_avid_record(exported, program="demo", source="export.json")
    [report] = result.reports
    assert [(a.provider, a.name) for a in report.artifacts] == [
        (a.provider, a.name) for a in advisory.artifacts
    ]
    assert (report.technique.owasp, report.technique.atlas) == ("LLM01", "AML.T0054")
    # The worst measurement: 41 of 50 on the affected revision (not the fixed one's 2 of 50).
    assert (report.reproduction.successes, report.reproduction.trials) == (41, 50)
    assert report.title == advisory.title
    # Counts replayed by the exporting instance are, here, reported by that AVID record.
    [record] = result.sources
    assert [(c.successes, c.trials) for c in record.counts] == [(41, 50), (2, 50)]
    assert record.counts[0].basis == "41 successes of 50 trials (replayed by the exporter, run #7)"
    assert record.counts[1].basis.endswith("(reported to the exporter by garak)")
    assert [c.name for c in record.credits] == [c.name for c in advisory.credits]


@pytest.mark.parametrize("program", ["", "Demo", "-demo", "demo program"])
def test_a_bad_program_slug_is_the_callers_error(program: str) -> None:
    with pytest.raises(ValueError, match="not a program slug"):
        import_avid_record({}, program=program)
