"""Advisory writes: id allocation, the state machine, revisions with changelogs, validation
errors naming the field, drafts seen by the case's vendor only, the payload commitment."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.db import connection

from modelcvd.advisories.models import Advisory, AdvisoryRevision, AdvisorySequence
from modelcvd.advisories.services import (
    advisory_approve,
    advisory_create,
    advisory_id_allocate,
    advisory_transition,
    advisory_update,
    commitment_reveal,
    content_from_case,
)
from modelcvd.core.audit import audit_verify
from modelcvd.core.errors import Forbidden, IllegalTransition, InvalidInput, NotFound
from modelcvd.core.models import AuditEvent
from modelcvd.policy.commitment import Commitment, CommitmentOpening, commitment_verify
from tests.advisories.helpers import content, make_advisory
from tests.factories import World, token_for


def _fields(error: InvalidInput) -> list[str]:
    return [e.field for e in error.errors]


# -- ids --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_ids_count_up_per_year_with_four_digits_at_least() -> None:
    assert advisory_id_allocate(year=2026) == "MCVD-2026-0001"
    assert advisory_id_allocate(year=2026) == "MCVD-2026-0002"
    assert advisory_id_allocate(year=2027) == "MCVD-2027-0001"
    AdvisorySequence.objects.filter(year=2026).update(last=9999)
    assert advisory_id_allocate(year=2026) == "MCVD-2026-10000"


@pytest.mark.django_db(transaction=True)
def test_concurrent_allocations_never_share_an_id() -> None:
    """Eight threads, each its own connection and transaction, allocate at once."""
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith(
        "file:memorydb"
    ):
        # SQLite's shared in-memory test database cannot wait on a lock (no busy timeout in
        # shared-cache mode), so the threads queue on a Python lock instead; the row update is
        # still the one being exercised, and the PostgreSQL leg runs them truly in parallel.
        gate: threading.Lock | None = threading.Lock()
    else:
        gate = None
    ids: list[str] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(5):
                if gate is not None:
                    with gate:
                        ids.append(advisory_id_allocate(year=2031))
                else:
                    ids.append(advisory_id_allocate(year=2031))
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(ids) == [f"MCVD-2031-{n:04d}" for n in range(1, 41)]


# -- state machine and revisions --------------------------------------------------------------


def test_draft_review_publish_and_revisions(world: World) -> None:
    triager = world.users["triager"]
    advisory = make_advisory(world, publish=False)
    assert advisory.state == "draft"
    assert advisory.revisions.count() == 0
    # Drafts are edited freely (no changelog, no revision).
    advisory_update(actor=triager, advisory_id=advisory.advisory_id, changes={"title": "Quokka v2"})
    assert AdvisoryRevision.objects.count() == 0
    with pytest.raises(IllegalTransition) as moved:
        advisory_transition(actor=triager, advisory_id=advisory.advisory_id, to="published")
    assert moved.value.allowed == ["review"]
    advisory_transition(actor=triager, advisory_id=advisory.advisory_id, to="review")
    advisory_approve(actor=world.users["admin"], advisory_id=advisory.advisory_id)
    advisory_transition(actor=triager, advisory_id=advisory.advisory_id, to="published")
    advisory.refresh_from_db()
    assert advisory.state == "published" and advisory.published_at is not None
    first = advisory.revisions.get()
    assert (first.number, first.changelog) == (1, "Initial publication.")
    assert first.document["title"] == "Quokka v2"

    # After publication an edit needs a changelog, and makes revision 2.
    with pytest.raises(InvalidInput) as missing:
        advisory_update(
            actor=triager, advisory_id=advisory.advisory_id, changes={"summary": "Wombat v2"}
        )
    assert _fields(missing.value) == ["changelog"]
    advisory_update(
        actor=triager,
        advisory_id=advisory.advisory_id,
        changes={"summary": "Wombat v2"},
        changelog="Clarified the summary.",
    )
    advisory.refresh_from_db()
    assert advisory.document["revision"] == 2
    numbers = list(advisory.revisions.values_list("number", "changelog"))
    assert numbers == [(1, "Initial publication."), (2, "Clarified the summary.")]
    # Revision 1 still holds what was published first.
    assert advisory.revisions.get(number=1).document["summary"].startswith("Wombat framing")

    # Withdrawal needs a reason, adds a revision, and is final.
    with pytest.raises(InvalidInput) as no_reason:
        advisory_transition(actor=triager, advisory_id=advisory.advisory_id, to="withdrawn")
    assert _fields(no_reason.value) == ["reason"]
    advisory_transition(
        actor=triager, advisory_id=advisory.advisory_id, to="withdrawn", reason="Duplicate."
    )
    advisory.refresh_from_db()
    assert advisory.document["withdrawn_reason"] == "Duplicate."
    assert advisory.revisions.count() == 3
    with pytest.raises(InvalidInput) as final:
        advisory_update(actor=triager, advisory_id=advisory.advisory_id, changes={"title": "x" * 5})
    assert _fields(final.value) == ["state"]
    actions = list(
        AuditEvent.objects.filter(object_type="advisories.advisory").values_list(
            "action", flat=True
        )
    )
    assert actions.count("advisory.transition") == 3 and "advisory.create" in actions
    assert audit_verify().ok


def test_revisions_are_immutable(world: World) -> None:
    revision = make_advisory(world).revisions.get()
    revision.changelog = "rewritten history"
    with pytest.raises(ValueError, match="immutable"):
        revision.save()
    with pytest.raises(ValueError, match="immutable"):
        revision.delete()


def test_only_the_cases_coordinators_write(world: World) -> None:
    advisory = make_advisory(world, publish=False)
    with pytest.raises(Forbidden):
        advisory_update(
            actor=world.users["vendor_a"],
            advisory_id=advisory.advisory_id,
            changes={"title": "Vendor edit"},
        )
    with pytest.raises(NotFound):  # not a party: like a missing advisory
        advisory_update(
            actor=world.users["vendor_b"],
            advisory_id=advisory.advisory_id,
            changes={"title": "Vendor edit"},
        )
    with pytest.raises(NotFound):
        advisory_create(
            actor=world.users["vendor_b"], case_id=world.cases["a"].pk, content=content()
        )
    with pytest.raises(Forbidden):
        advisory_create(
            actor=world.users["vendor_a"], case_id=world.cases["a"].pk, content=content()
        )


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"aliases": ["CVE-26-1"]}, "aliases"),
        ({"aliases": ["GHSA-aaaa-bbbb-cccc"]}, "aliases"),
        ({"aliases": ["CVE-2026-1234", "CVE-2026-1234"]}, "aliases"),
        ({"atlas": "AML.T9999"}, "atlas"),
        ({"harm_category": "mischief"}, "harm_category"),
        ({"cvss_vector": "CVSS:4.0/AV:Q"}, "cvss_vector"),
        ({"references": [{"url": "javascript:alert(1)"}]}, "references.0.url"),
        ({"title": ""}, "title"),
        ({"reproduction_level": "public"}, "reproduction_level"),
    ],
)
def test_bad_content_names_the_field(world: World, override: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        advisory_create(
            actor=world.users["triager"], case_id=world.cases["a"].pk, content=content(**override)
        )
    assert _fields(error.value) == [field]


def test_api_bad_input_is_422_naming_the_field(world: World, api_as: Any) -> None:
    triager = api_as("triager")
    case_id = world.cases["a"].pk
    bad = triager.post(f"/api/v1/cases/{case_id}/advisories", content(aliases=["CVE-1-2"]))
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["aliases"]
    made = triager.post(f"/api/v1/cases/{case_id}/advisories", content())
    assert made.status_code == 201, made.content
    aid = made.json()["id"]
    assert triager.post(f"/api/v1/advisories/{aid}/transition", {"to": "review"}).status_code == 200
    # Four eyes over the API: the requester's publish is refused (409) until another
    # coordinator approves; the requester cannot approve.
    refused = triager.post(f"/api/v1/advisories/{aid}/transition", {"to": "published"})
    assert refused.status_code == 409 and "four eyes" in refused.json()["detail"]
    assert triager.post(f"/api/v1/advisories/{aid}/approve", {}).status_code == 403
    assert api_as("admin").post(f"/api/v1/advisories/{aid}/approve", {}).status_code == 200
    assert (
        triager.post(f"/api/v1/advisories/{aid}/transition", {"to": "published"}).status_code == 200
    )
    edit = triager.client.patch(
        f"/api/v1/advisories/{aid}",
        data=json.dumps({"title": "Quokka, revised"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {triager.token}",
    )
    assert edit.status_code == 422
    assert [e["field"] for e in edit.json()["errors"]] == ["changelog"]
    edit = triager.client.patch(
        f"/api/v1/advisories/{aid}",
        data=json.dumps({"title": "Quokka, revised", "changelog": "Title."}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {triager.token}",
    )
    assert edit.status_code == 200 and edit.json()["revision"] == 2
    revisions = api_as("anonymous").get(f"/api/v1/advisories/{aid}/revisions").json()
    assert [(r["number"], r["changelog"]) for r in revisions] == [
        (1, "Initial publication."),
        (2, "Title."),
    ]
    wrong = triager.post(f"/api/v1/advisories/{aid}/transition", {"to": "draft"})
    assert wrong.status_code == 409 and wrong.json()["allowed"] == ["withdrawn"]
    unknown = api_as("anonymous").get(f"/api/v1/advisories/{aid}/export/pdf")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "fmt"


def test_a_triage_write_needs_the_triage_scope(world: World) -> None:
    from django.test import Client

    token = token_for(world.users["triager"], ["read"])
    response = Client().post(
        f"/api/v1/cases/{world.cases['a'].pk}/advisories",
        data=json.dumps(content()),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 403


def test_vendor_of_the_case_sees_the_draft_others_do_not(world: World, api_as: Any) -> None:
    advisory = make_advisory(world, publish=False)
    path = f"/api/v1/advisories/{advisory.advisory_id}"
    for role, status in {
        "anonymous": 404,
        "researcher_a": 404,
        "researcher_b": 404,
        "vendor_a": 200,
        "vendor_b": 404,
        "defender": 404,
        "triager": 200,
        "admin": 200,
    }.items():
        assert api_as(role).get(path).status_code == status, role
    assert api_as("vendor_a").get(path).json()["state"] == "draft"
    assert api_as("anonymous").get("/api/v1/advisories").json()["count"] == 0
    missing = api_as("vendor_b").get(path)
    assert missing.content == api_as("vendor_b").get("/api/v1/advisories/MCVD-1999-0001").content


def test_commitment_opens_with_the_revealed_payload_and_salt(world: World) -> None:
    advisory = make_advisory(world)
    payload, salt = commitment_reveal(
        actor=world.users["triager"], advisory_id=advisory.advisory_id, reason="reporter asks"
    )
    commitment = Commitment.parse(advisory.commitment)
    assert commitment_verify(commitment, payload, CommitmentOpening(salt))
    assert payload["reports"][0]["turns"][0]["content"].startswith("Pretend you are")
    tampered = {**payload, "reports": [{**payload["reports"][0], "system_prompt": "x"}]}
    assert not commitment_verify(commitment, tampered, CommitmentOpening(salt))
    with pytest.raises(Forbidden):
        commitment_reveal(
            actor=world.users["vendor_a"], advisory_id=advisory.advisory_id, reason="curious"
        )
    assert AuditEvent.objects.filter(action="advisory.commitment_reveal").count() == 1


def test_content_from_case_drafts_from_the_first_report(world: World) -> None:
    drafted = content_from_case(world.cases["a"])
    advisory = advisory_create(
        actor=world.users["triager"], case_id=world.cases["a"].pk, content=drafted
    )
    assert advisory.document["title"] == world.reports["a"].title
    assert advisory.document["technique"]["atlas"] == "AML.T0054"


def test_publication_mails_are_sent_on_commit(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    from django.core import mail

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        advisory = make_advisory(world)
    assert len(mail.outbox) == 4
    assert all(advisory.advisory_id in m.subject for m in mail.outbox)
    assert Advisory.objects.get().state == "published"
