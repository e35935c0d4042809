"""Merging a duplicate case: reports move, both timelines stay readable, audited, atomic;
409 for merges that make no sense; the web button does the same."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from modelcvd.cases.models import Case, TimelineEvent
from modelcvd.core.audit import audit_verify
from modelcvd.core.models import AuditEvent
from modelcvd.reports.models import DuplicateCandidate, Report
from tests.factories import World, document, sign_in


def merge(api_as: Any, target: Case, source: Case, role: str = "triager") -> Any:
    return api_as(role).post(
        f"/api/v1/cases/{target.pk}/merge",
        {"source_case_id": source.pk, "reason": "same locksmith jailbreak"},
    )


def test_merge_moves_reports_and_keeps_both_timelines(world: World, api_as: Any) -> None:
    a, b = world.cases["a"], world.cases["b"]
    b_events = list(TimelineEvent.objects.filter(case=b).values_list("pk", flat=True))
    a_events = list(TimelineEvent.objects.filter(case=a).values_list("pk", flat=True))
    response = merge(api_as, a, b)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body["report_ids"]) == {world.reports["a"].pk, world.reports["b"].pk}
    timeline = body["timeline"]
    # The target's timeline shows its own events and the source's, each under its own case,
    # in time order, ending with the merge.
    assert [e["case_id"] for e in timeline].count(b.pk) == len(b_events) + 1
    assert [e["case_id"] for e in timeline].count(a.pk) == len(a_events) + 1
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)
    merges = [e for e in timeline if e["kind"] == "merge"]
    assert {e["case_id"] for e in merges} == {a.pk, b.pk}
    assert any(f"case #{b.pk} merged in" in e["reason"] for e in merges)

    b.refresh_from_db()
    assert b.state == "triaged_duplicate" and b.merged_into_id == a.pk
    source_view = api_as("triager").get(f"/api/v1/cases/{b.pk}").json()
    assert source_view["merged_into_id"] == a.pk
    assert {e["case_id"] for e in source_view["timeline"]} == {b.pk}  # its own, still there
    assert source_view["timeline"][-1]["to_state"] == "triaged_duplicate"
    assert set(b.artifacts.all()) <= set(a.artifacts.all())

    assert world.duplicate is not None
    world.duplicate.refresh_from_db()
    assert world.duplicate.status == DuplicateCandidate.Status.MERGED
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"case.merge", "case.merged_away"} <= actions
    assert audit_verify().ok


def test_a_reporter_of_the_merged_case_sees_only_their_own_report(
    world: World, api_as: Any
) -> None:
    assert merge(api_as, world.cases["a"], world.cases["b"]).status_code == 200
    view = api_as("researcher_b").get(f"/api/v1/cases/{world.cases['a'].pk}")
    assert view.status_code == 200
    assert view.json()["report_ids"] == [world.reports["b"].pk]


def _third_case(world: World) -> Case:
    from modelcvd.reports.services import report_submit

    report = report_submit(actor=world.users["researcher_b"], document=document(title="third"))
    return Case.objects.get(pk=report.case_id)


@pytest.mark.parametrize(
    ("setup", "detail"),
    [
        (lambda w: (w.cases["b"], w.cases["b"]), "cannot be merged into itself"),
        # Case A is past triage (vendor notified): it cannot become someone's duplicate.
        (lambda w: (w.cases["b"], w.cases["a"]), "only a case still in triage"),
        (lambda w: (_closed(w.cases["a"]), w.cases["b"]), "takes no more reports"),
        (lambda w: (w.cases["a"], _closed(w.cases["b"])), "only a case still in triage"),
        (lambda w: (_other_program(w), w.cases["b"]), "different programs"),
        (lambda w: (_invalid(w.cases["a"]), w.cases["b"]), "takes no more reports"),
    ],
)
def test_nonsense_merges_are_409_and_change_nothing(
    world: World, api_as: Any, setup: Any, detail: str
) -> None:
    target, source = setup(world)
    reports = dict(Report.objects.values_list("pk", "case_id"))
    events = TimelineEvent.objects.count()
    response = merge(api_as, target, source)
    assert response.status_code == 409, response.content
    assert detail in response.json()["detail"]
    assert dict(Report.objects.values_list("pk", "case_id")) == reports
    assert TimelineEvent.objects.count() == events


def _closed(case: Case) -> Case:
    Case.objects.filter(pk=case.pk).update(state="closed")
    return case


def _other_program(world: World) -> Case:
    from modelcvd.policy.models import Program

    assert world.program is not None
    Program.objects.create(
        organisation=world.program.organisation, name="Second", slug="second", policy_text="x"
    ).scope.set(world.artifacts.values())
    case = _third_case(world)
    Case.objects.filter(pk=case.pk).update(program=Program.objects.get(slug="second"))
    case.refresh_from_db()
    return case


def _invalid(case: Case) -> Case:
    Case.objects.filter(pk=case.pk).update(state="triaged_invalid")
    return case


def test_a_merged_case_cannot_be_merged_again(world: World, api_as: Any) -> None:
    third = _third_case(world)
    assert merge(api_as, world.cases["a"], world.cases["b"]).status_code == 200
    again = merge(api_as, third, world.cases["b"])
    assert again.status_code == 409 and "already merged" in again.json()["detail"]
    # Merging into the case that absorbed others chains their timelines too.
    assert merge(api_as, world.cases["a"], third).status_code == 200
    timeline = api_as("triager").get(f"/api/v1/cases/{world.cases['a'].pk}").json()["timeline"]
    assert {e["case_id"] for e in timeline} == {world.cases["a"].pk, world.cases["b"].pk, third.pk}


def test_reason_is_required(world: World, api_as: Any) -> None:
    response = api_as("triager").post(
        f"/api/v1/cases/{world.cases['a'].pk}/merge",
        {"source_case_id": world.cases["b"].pk, "reason": "   "},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "reason"


def test_merge_from_the_case_page(world: World) -> None:
    client = sign_in(Client(), world.users["triager"])
    a, b = world.cases["a"], world.cases["b"]
    page = client.get(f"/cases/{b.pk}/")
    assert f"Merge this case into #{a.pk}".encode() in page.content
    response = client.post(f"/cases/{a.pk}/merge/", {"source": b.pk, "reason": "duplicate"})
    assert response.status_code == 302
    b.refresh_from_db()
    assert b.merged_into_id == a.pk
    page = client.get(f"/cases/{a.pk}/")
    assert f"[case #{b.pk}]".encode() in page.content  # the source's events, marked as such
    refused = client.post(f"/cases/{a.pk}/merge/", {"source": a.pk, "reason": "x"}, follow=True)
    assert b"cannot be merged into itself" in refused.content


def test_a_merged_case_can_only_be_closed(world: World, api_as: Any) -> None:
    assert merge(api_as, world.cases["a"], world.cases["b"]).status_code == 200
    url = f"/api/v1/cases/{world.cases['b'].pk}/transition"
    reopen = api_as("triager").post(url, {"to": "acknowledged", "reason": "reopen"})
    assert reopen.status_code == 409 and reopen.json()["allowed"] == ["closed"]
    assert api_as("triager").post(url, {"to": "closed", "reason": "done"}).status_code == 200
