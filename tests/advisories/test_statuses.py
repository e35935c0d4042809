"""Per-version statuses end to end (issue 16): every artifact version an advisory lists has
one status (affected, fixed with its fixing version, not affected, under investigation),
derived from the case's runs, the vendor's fix step and lineage, and every channel says the
same: the page, the API, the JSON Lines mirror, CVE 5.1, OSV, CSAF VEX and AVID.

`channel_statuses` reads each channel back into {(model, version): status}; the tests compare
every channel with the advisory document, once on an advisory with all four statuses and once
on the demo (v1.0 affected, v1.1 fixed)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from modelcvd.advisories.models import Advisory
from modelcvd.advisories.render import interop_document, render_public
from modelcvd.advisories.services import advisory_update
from modelcvd.artifacts.models import Artifact
from modelcvd.artifacts.services import artifact_supersede
from modelcvd.cases.models import CaseFix
from modelcvd.cases.services import FixedVersion, case_transition
from modelcvd.cli import main
from modelcvd.core.errors import InvalidInput
from modelcvd.demo import demo_load
from modelcvd.interop import avid, csaf, cve5
from modelcvd.vocabulary import VersionStatus
from tests.advisories.helpers import CNA_ORG_ID, make_advisory
from tests.advisories.test_import_export import _validate
from tests.artifacts.test_lineage import tree  # noqa: F401  (fixture)
from tests.factories import World, sign_in

pytestmark = pytest.mark.django_db

Statuses = dict[tuple[str, str], str]
ROW = re.compile(
    r'<tr data-status="(?P<status>[a-z_]+)"><td>(?:<a [^>]*>)?(?P<model>[^<]+)(?:</a>)?</td>'
    r"<td>(?P<version>[^<]*)</td><td><strong>[^<]*</strong></td><td>(?P<fixed>[^<]*)</td>"
)
AVID_LINE = re.compile(
    r"^- (?P<model>\S+) (?P<display>.+?): (?P<words>[a-z ]+?)(?:; fixed in .+)?$"
)


def _truth(advisory: Advisory) -> tuple[Statuses, dict[tuple[str, str], str]]:
    """What the advisory document says, keyed by (model, version) as the exports name a
    version (the commit, else the label); and each version's display, for the page."""
    document = interop_document(render_public(advisory))
    statuses: Statuses = {}
    displays: dict[tuple[str, str], str] = {}
    for artifact in document.artifacts:
        for version in artifact.versions:
            key = (artifact.display_name, version.version)
            statuses[key] = version.status.value
            displays[key] = version.display
    return statuses, displays


def channel_statuses(advisory: Advisory) -> dict[str, Statuses]:
    """Each channel's statuses, read back from what it serves to the public. CVE 5 has three
    statuses, so its reading is the set of ours each one stands for (compared separately)."""
    client = Client()
    aid = advisory.advisory_id
    _, displays = _truth(advisory)
    by_display = {(model, display): (model, key) for (model, key), display in displays.items()}
    channels: dict[str, Statuses] = {}

    page = client.get(f"/advisories/{aid}/").content.decode()
    channels["page"] = {
        by_display[(m["model"], m["version"])]: m["status"] for m in ROW.finditer(page)
    }

    def from_view(view: dict[str, Any]) -> Statuses:
        return {
            (a.display_name, v.version): v.status.value
            for a in interop_document(view).artifacts
            for v in a.versions
        }

    channels["api"] = from_view(client.get(f"/api/v1/advisories/{aid}").json())
    mirror = client.get("/advisories/export.jsonl")
    lines = [json.loads(line) for line in b"".join(mirror.streaming_content).splitlines()]
    channels["jsonl"] = from_view(next(line for line in lines if line["id"] == aid))

    exports = {
        fmt: client.get(f"/api/v1/advisories/{aid}/export/{fmt}")
        for fmt in ("cve5", "osv", "csaf", "avid")
    }
    for fmt, response in exports.items():
        assert response.status_code == 200, (fmt, response.content)
        assert _validate(response.json(), fmt) == [], fmt

    record = exports["cve5"].json()
    reverse_cve = {word: s for s, word in cve5.VERSION_STATUS.items()}
    channels["cve5"] = {
        (f"{p['vendor']}/{p['product']}", v["version"]): reverse_cve[v["status"]].value
        for p in record["containers"]["cna"]["affected"]
        for v in p["versions"]
    }

    osv_record = exports["osv"].json()
    channels["osv"] = {
        (s["model"], s["version"]): s["status"]
        for s in osv_record["database_specific"]["version_statuses"]
    }
    osv_affected = {
        (f"{e['database_specific']['provider']}/{e['database_specific']['model']}", version)
        for e in osv_record["affected"]
        for version in e["versions"]
    }
    channels["osv affected[]"] = {key: "affected" for key in osv_affected}

    vex = exports["csaf"].json()
    products: dict[str, tuple[str, str]] = {}
    for vendor in vex["product_tree"]["branches"]:
        for product in vendor["branches"]:
            for version in product["branches"]:
                model = f"{vendor['name']}/{product['name']}"
                products[version["product"]["product_id"]] = (model, version["name"])
    reverse_csaf = {group: s.value for s, group in csaf.PRODUCT_STATUS.items()}
    channels["csaf"] = {
        products[pid]: reverse_csaf[group]
        for group, ids in vex["vulnerabilities"][0]["product_status"].items()
        for pid in ids
    }

    report = exports["avid"].json()
    reverse_avid = {words: s.value for s, words in avid.STATUS_WORDS.items()}
    text = report["description"]["value"]
    block = text.split(avid.VERSION_STATUSES_HEADING + "\n", 1)[1].split("\n\n", 1)[0]
    channels["avid"] = {}
    for line in block.splitlines():
        match = AVID_LINE.match(line)
        assert match, line
        key = by_display[(match["model"], match["display"])]
        channels["avid"][key] = reverse_avid[match["words"]]
    affected_models = {a["name"] for a in report["affects"]["artifacts"]}
    channels["avid affects"] = {
        key: status
        for key, status in channels["avid"].items()
        if status == "affected" and key[0] in affected_models
    }
    return channels


def assert_every_channel_agrees(advisory: Advisory) -> Statuses:
    truth, _ = _truth(advisory)
    channels = channel_statuses(advisory)
    affected_only = {k: s for k, s in truth.items() if s == "affected"}
    for name, statuses in channels.items():
        if name in ("osv affected[]", "avid affects"):
            assert statuses == affected_only, name
        elif name == "cve5":
            # CVE 5 says "unaffected" for fixed and not affected alike, "unknown" for under
            # investigation: the same statement in its three words.
            expected = {k: cve5.VERSION_STATUS[VersionStatus(s)] for k, s in truth.items()}
            got = {k: cve5.VERSION_STATUS[VersionStatus(s)] for k, s in statuses.items()}
            assert got == expected, name
        else:
            assert statuses == truth, name
    return truth


@pytest.fixture
def cna(settings: Any) -> None:
    settings.CVE_CNA_ORG_ID, settings.CVE_CNA_SHORT_NAME = CNA_ORG_ID, "modelcvd-test"


def _fix_step(world: World, **fixed: Any) -> None:
    case_id = world.cases["a"].pk
    vendor = world.users["vendor_a"]
    case_transition(case_id=case_id, actor=vendor, to="remediating", reason="on it")
    case_transition(
        case_id=case_id,
        actor=vendor,
        to="fix_available",
        reason="v2 is out",
        fixed_version=FixedVersion(**fixed),
    )


def test_one_advisory_says_the_same_in_every_channel(
    world: World,
    tree: dict[str, Artifact],  # noqa: F811
    cna: None,
) -> None:
    """Lineage (affected, not affected, fixed), the vendor's fix step and a new version nobody
    verified (under investigation), through the page, the API, the mirror and four formats."""
    new = Artifact.objects.create(
        provider="community", name="ft2", revision="r2", parent=tree["ft2"], relation="fine_tune"
    )
    artifact_supersede(actor=world.users["triager"], artifact=tree["ft2"], by=new)
    _fix_step(world, revision="f" * 40, version_label="v2")
    advisory = make_advisory(world, cve_id="CVE-2026-40001")
    truth = assert_every_channel_agrees(advisory)
    assert set(truth.values()) == {s.value for s in VersionStatus}
    base = ("vendor-a/chat-7b", "a" * 40)
    assert truth[base] == "affected" and truth[("vendor-a/chat-7b", "f" * 40)] == "fixed"
    assert truth[("community/ft1-safe", "r1")] == "not_affected"
    assert truth[("community/ft2", "r2")] == "under_investigation"
    # The fixing version, everywhere it has a field: OSV's fixed event, CSAF's vendor_fix.
    client = Client()
    aid = advisory.advisory_id
    osv_record = client.get(f"/api/v1/advisories/{aid}/export/osv").json()
    [chat] = [e for e in osv_record["affected"] if e["package"]["name"].endswith("/chat-7b")]
    assert chat["ranges"][0]["events"] == [{"introduced": "a" * 40}, {"fixed": "f" * 40}]
    vex = client.get(f"/api/v1/advisories/{aid}/export/csaf").json()["vulnerabilities"][0]
    assert vex["remediations"][0]["category"] == "vendor_fix"
    assert "v2 (ffffffffffff)" in vex["remediations"][0]["details"]
    assert vex["flags"][0]["label"] == "vulnerable_code_not_present"
    page = client.get(f"/advisories/{aid}/").content.decode()
    assert "v2 (ffffffffffff)</td>" in page  # the "Fixed in" column of v1's row


def test_the_fix_step_names_the_fixed_version_and_registers_it(world: World, api_as: Any) -> None:
    case_id = world.cases["a"].pk
    vendor = api_as("vendor_a")
    url = f"/api/v1/cases/{case_id}/transition"
    assert vendor.post(url, {"to": "remediating", "reason": "on it"}).status_code == 200
    missing = vendor.post(url, {"to": "fix_available", "reason": "done"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "fixed_version"
    bad = vendor.post(
        url,
        {
            "to": "fix_available",
            "reason": "done",
            "fixed_version": {"revision": "a" * 40, "weights_digest": "xyz"},
        },
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {
        "fixed_version",
        "fixed_version.weights_digest",
    }
    # Another vendor cannot even see the case.
    other = api_as("vendor_b").post(
        url, {"to": "fix_available", "reason": "x", "fixed_version": {"version_label": "v9"}}
    )
    assert other.status_code == 404
    done = vendor.post(
        url,
        {
            "to": "fix_available",
            "reason": "v1.1 is out",
            "fixed_version": {"revision": "e" * 40, "version_label": "v1.1"},
        },
    )
    assert done.status_code == 200, done.content
    fixed = Artifact.objects.get(provider="vendor-a", name="chat-7b", revision="e" * 40)
    assert (fixed.version_label, fixed.vendor) == ("v1.1", world.orgs["vendor_a"])
    assert done.json()["fixes"] == [
        {
            "artifact_id": world.artifacts["a"].pk,
            "fixed_by_id": fixed.pk,
            "stated_at": done.json()["fixes"][0]["stated_at"],
        }
    ]
    world.artifacts["a"].refresh_from_db()
    assert world.artifacts["a"].superseded_by == fixed
    advisory = make_advisory(world)
    statuses = {(a["revision"], a["status"]) for a in advisory.document["affected"]}
    assert {("a" * 40, "affected"), ("e" * 40, "fixed")} <= statuses
    [own] = [a for a in advisory.document["affected"] if a["revision"] == "a" * 40]
    assert own["fixed_in"] == {"revision": "e" * 40, "version_label": "v1.1"}


def test_the_fix_step_on_the_case_page(world: World) -> None:
    client = Client(enforce_csrf_checks=False)
    sign_in(client, world.users["vendor_a"])
    case_id = world.cases["a"].pk
    case_transition(
        case_id=case_id, actor=world.users["vendor_a"], to="remediating", reason="on it"
    )
    page = client.get(f"/cases/{case_id}/").content.decode()
    assert "Fix available: the version that fixes it" in page
    response = client.post(
        f"/cases/{case_id}/transition/",
        {"to": "fix_available", "reason": "shipped", "fixed_version_label": "2026-10"},
    )
    assert response.status_code == 302
    fix = CaseFix.objects.get(case_id=case_id)
    assert (fix.fixed_by.revision, fix.fixed_by.version_label) == ("2026-10", "2026-10")


def test_a_failed_fix_is_published_as_affected(world: World) -> None:
    """A run that reproduces the attack on the version named as the fix wins over the
    vendor's word; the affected version then has no fixing version."""
    _fix_step(world, revision="e" * 40, version_label="v1.1")
    fixed = Artifact.objects.get(revision="e" * 40)
    world.run.artifact = fixed  # type: ignore[union-attr]
    world.run.state = "finished"  # type: ignore[union-attr]
    world.run.summary = {"verdict": "reproduced", "successes": 7, "trials": 10}  # type: ignore[union-attr]
    world.run.save()  # type: ignore[union-attr]
    advisory = make_advisory(world)
    by_revision = {a["revision"]: a for a in advisory.document["affected"]}
    assert by_revision["e" * 40]["status"] == "affected"
    assert by_revision["a" * 40]["fixed_in"] is None


def test_a_fix_step_cannot_name_the_affected_version(world: World) -> None:
    with pytest.raises(InvalidInput) as caught:
        _fix_step(world, revision="a" * 40)
    assert "the affected version itself" in caught.value.errors[0].reason


# -- exports never abort on one advisory --------------------------------------------------


def _unexportable(world: World) -> Advisory:
    """An advisory whose only version is under investigation (the case's run did not
    reproduce the reported attack): OSV and AVID have nothing affected to say."""
    run = world.run
    assert run is not None
    run.state, run.summary = "finished", {"verdict": "not_reproduced", "successes": 0}
    run.save()
    return make_advisory(world, title="Quokka under investigation", aliases=[])


def test_export_links_answer_422_with_the_reason_never_500(world: World) -> None:
    advisory = _unexportable(world)
    client = Client(raise_request_exception=False)
    for fmt in ("osv", "avid", "cve5"):
        response = client.get(f"/api/v1/advisories/{advisory.advisory_id}/export/{fmt}")
        assert response.status_code == 422, (fmt, response.content)
        [error] = response.json()["errors"]
        assert error["field"] == "advisory" and error["reason"]
    reason = client.get(f"/api/v1/advisories/{advisory.advisory_id}/export/osv").json()
    assert "no affected version" in reason["errors"][0]["reason"]
    # CSAF can say "under investigation": it is written.
    assert client.get(f"/api/v1/advisories/{advisory.advisory_id}/export/csaf").status_code == 200


def test_a_cve_id_of_ours_without_cna_settings_is_refused_clearly(world: World) -> None:
    advisory = make_advisory(world, cve_id="CVE-2026-40001")
    response = Client().get(f"/api/v1/advisories/{advisory.advisory_id}/export/cve5")
    assert response.status_code == 422
    assert "MODELCVD_CVE_CNA_ORG_ID" in response.json()["errors"][0]["reason"]


def test_the_export_command_writes_the_rest_and_lists_failures(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_advisory(world)  # written before the run below: v1 affected, exports fine
    bad = _unexportable(world)
    for fmt, written in (("osv", 1), ("avid", 1), ("csaf", 2)):
        out = tmp_path / fmt
        code = main(["export", "--format", fmt, "--out", str(out), "--json"])
        result = json.loads(capsys.readouterr().out)
        assert len(result["files"]) == written == len(list(out.iterdir())), fmt
        if written == 2:
            assert code == 0 and result["failed"] == []
        else:
            assert code == 1
            assert [f["advisory"] for f in result["failed"]] == [bad.advisory_id]
            assert "no affected version" in result["failed"][0]["reason"]
    code = main(["export", "--format", "osv", "--out", str(tmp_path / "text")])
    out = capsys.readouterr().out
    assert code == 1 and f"FAILED  {bad.advisory_id}: " in out and "the others were written" in out


# -- formats by the book -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tracking_id", "name"),
    [
        ("MCVD-2026-0005", "mcvd-2026-0005.json"),
        ("MCVD-2026-12345", "mcvd-2026-12345.json"),
        ("Example_Co:2026/01+x y", "example_co_2026_01+x_y.json"),
    ],
)
def test_csaf_file_names_follow_section_5_1(tracking_id: str, name: str) -> None:
    assert csaf.csaf_file_name(tracking_id) == name


def test_csaf_files_are_named_by_the_book_and_refer_to_themselves(
    world: World, tmp_path: Path
) -> None:
    advisory = make_advisory(world)
    assert main(["export", "--format", "csaf", "--out", str(tmp_path)]) == 0
    [path] = tmp_path.iterdir()
    assert path.name == advisory.advisory_id.lower() + ".json"
    document = json.loads(path.read_text())
    [own] = [r for r in document["document"]["references"] if r["category"] == "self"]
    assert own["url"].endswith(f"/api/v1/advisories/{advisory.advisory_id}/export/csaf")
    served = Client().get(own["url"].split("://", 1)[1].split("/", 1)[1].join(["/", ""]))
    assert served.status_code == 200 and served.json()["document"]["tracking"]["id"] == (
        advisory.advisory_id
    )


def test_a_cve_alias_is_an_alias_and_a_reference_in_every_export(world: World) -> None:
    advisory = make_advisory(world)  # aliases CVE-2026-12345, assigned elsewhere
    client = Client()
    aid = advisory.advisory_id
    cve_url = "https://www.cve.org/CVERecord?id=CVE-2026-12345"
    for fmt in ("osv", "csaf", "avid"):
        text = client.get(f"/api/v1/advisories/{aid}/export/{fmt}").content.decode()
        assert cve_url in text, fmt
    osv_record = client.get(f"/api/v1/advisories/{aid}/export/osv").json()
    assert "CVE-2026-12345" in osv_record["aliases"]
    refused = client.get(f"/api/v1/advisories/{aid}/export/cve5").json()
    assert "assigned by another CNA" in refused["errors"][0]["reason"]
    assert "/export/cve5" not in client.get(f"/advisories/{aid}/").content.decode()


def test_the_own_cve_id_is_not_also_an_alias(world: World) -> None:
    with pytest.raises(InvalidInput) as caught:
        make_advisory(world, cve_id="CVE-2026-12345")  # also among the helper's aliases
    assert caught.value.errors[0].field == "aliases"


# -- the demo ------------------------------------------------------------------------------


def test_the_demo_exports_in_every_format_and_says_the_same_everywhere(
    db: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: Any
) -> None:
    """On a fresh demo, `modelcvd export` exits 0 in all four formats and every file passes
    its official schema (the demo is no CNA: no CVE record, each advisory listed as skipped);
    the demo advisory lists acme-chat-7b v1.0 affected and v1.1 fixed, on its page and in
    every export (with this instance made a CNA and the advisory given a CVE id of its own,
    so CVE 5 says it too)."""
    demo_load(progress=lambda line: None)
    for fmt in ("cve5", "osv", "csaf", "avid"):
        out = tmp_path / fmt
        assert main(["export", "--format", fmt, "--out", str(out), "--json"]) == 0, fmt
        result = json.loads(capsys.readouterr().out)
        assert result["failed"] == []
        files = sorted(out.iterdir())
        assert len(files) == (0 if fmt == "cve5" else 2), fmt
        if fmt == "cve5":
            assert all("no CVE id assigned" in s["reason"] for s in result["skipped"])
        for path in files:
            document = json.loads(path.read_text())
            assert _validate(document, fmt) == [], path.name
            if fmt == "osv":
                assert document["affected"], path.name  # never "affected": []
    advisory = Advisory.objects.filter(artifacts__name="acme-chat-7b").distinct().get()
    settings.CVE_CNA_ORG_ID, settings.CVE_CNA_SHORT_NAME = CNA_ORG_ID, "modelcvd-demo"
    triager = advisory.case.advisories.get().created_by
    advisory_update(
        actor=triager,
        advisory_id=advisory.advisory_id,
        changes={"cve_id": "CVE-2026-40001"},
        changelog="CVE id assigned by this instance's CNA.",
    )
    advisory.refresh_from_db()
    truth = assert_every_channel_agrees(advisory)
    model = "acme-ai/acme-chat-7b"
    versions = {key[1]: status for key, status in truth.items() if key[0] == model}
    assert sorted(versions.values()) == ["affected", "fixed"]
    page = Client().get(f"/advisories/{advisory.advisory_id}/").content.decode()
    rows = {m["version"]: (m["status"], m["fixed"]) for m in ROW.finditer(page)}
    assert rows["v1.0 (3f1c2a9d8e7b)"] == ("affected", "v1.1 (9a8b7c6d5e4f)")
    assert rows["v1.1 (9a8b7c6d5e4f)"] == ("fixed", "")


def test_a_vendor_names_fixes_for_its_own_models_only(world: World, api_as: Any) -> None:
    """Attack: vendor A, party to a case that also names vendor B's model (as a merge leaves
    it), tries to register a "fixed" version of B's model. Refused, and nothing is written."""
    case = world.cases["a"]
    case.artifacts.add(world.artifacts["b"])
    vendor = api_as("vendor_a")
    url = f"/api/v1/cases/{case.pk}/transition"
    assert vendor.post(url, {"to": "remediating", "reason": "on it"}).status_code == 200
    attack = vendor.post(
        url,
        {
            "to": "fix_available",
            "reason": "fixed B's model for them",
            "fixed_version": {"artifact": world.artifacts["b"].pk, "version_label": "2099-01"},
        },
    )
    assert attack.status_code == 403, attack.content
    assert not Artifact.objects.filter(provider="vendor-b", revision="2099-01").exists()
    assert not CaseFix.objects.exists()
    case.refresh_from_db()
    assert case.state == "remediating"
    own = vendor.post(
        url,
        {
            "to": "fix_available",
            "reason": "v1.1",
            "fixed_version": {"artifact": world.artifacts["a"].pk, "version_label": "v1.1"},
        },
    )
    assert own.status_code == 200, own.content
