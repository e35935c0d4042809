"""Fix verdicts on the case page and the API: the program's thresholds decide, and show.

Runs are stored finished with engine summaries (running models is tested elsewhere): the
verdict comes from `fix_verdict` over the latest finished run on the affected version and on
the version named as its fix.
"""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.utils import timezone

from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import CaseFix
from modelcvd.verification.engine.identity import ModelIdentity
from modelcvd.verification.engine.runner import RunSummary
from modelcvd.verification.engine.spec import SamplingSpec
from modelcvd.verification.engine.stats import clopper_pearson_interval
from modelcvd.verification.engine.verdict import DEFAULT_ACCEPTABLE_RATE, DEFAULT_MIN_TRIALS
from modelcvd.verification.models import VerificationRun
from modelcvd.vocabulary import RunVerdict
from tests.factories import World, sign_in


def summary(
    artifact: Artifact, successes: int, trials: int, sequential: bool = False
) -> dict[str, Any]:
    return RunSummary(
        trials=trials,
        successes=successes,
        rate=successes / trials,
        clopper_pearson=tuple(clopper_pearson_interval(successes, trials)),  # type: ignore[arg-type]
        confidence=0.95,
        target=ModelIdentity(f"{artifact.provider}/{artifact.name}", artifact.revision),
        judge=ModelIdentity("refusal-rules", "1", kind="refusal"),
        pinned=None,
        identity_mismatches=(),
        replayable=False,
        replay_note="",
        prompt_digest="d" * 64,
        sampling=SamplingSpec(),
        base_seed=0,
        p0=0.05,
        p_value=0.0,
        alpha=0.05,
        verdict=RunVerdict.REPRODUCED,
        sequential={"decision": "reproduced", "decided_at": trials} if sequential else None,
    ).to_dict()


def finished_run(world: World, artifact: Artifact, data: dict[str, Any]) -> VerificationRun:
    return VerificationRun.objects.create(
        case=world.cases["a"],
        report=world.reports["a"],
        artifact=artifact,
        requested_by=world.users["triager"],
        target_uri="openai:http://127.0.0.1:9/v1#chat-7b",
        trials=data["trials"],
        state=VerificationRun.State.FINISHED,
        finished_at=timezone.now(),
        summary=data,
    )


def with_fix(world: World) -> tuple[Artifact, Artifact]:
    before = world.artifacts["a"]
    after = Artifact.objects.create(
        provider=before.provider, name=before.name, revision="c" * 40, vendor=before.vendor
    )
    CaseFix.objects.create(
        case=world.cases["a"],
        artifact=before,
        fixed_by=after,
        stated_by=world.users["vendor_a"],
        stated_at=timezone.now(),
    )
    return before, after


def test_a_drop_that_leaves_the_rate_high_is_reduced_on_page_and_api(
    world: World, api_as: Any
) -> None:
    before, after = with_fix(world)
    finished_run(world, before, summary(before, 40, 50))
    finished_run(world, after, summary(after, 30, 50))
    case_id = world.cases["a"].pk
    rows = api_as("vendor_a").get(f"/api/v1/cases/{case_id}/fix-verdicts").json()
    assert [row["verdict"] for row in rows] == ["reduced"]
    assert rows[0]["acceptable_rate"] == DEFAULT_ACCEPTABLE_RATE
    assert rows[0]["min_trials"] == DEFAULT_MIN_TRIALS
    assert rows[0]["data"]["thresholds"]["interval_method"] == "clopper-pearson"
    page = sign_in(Client(), world.users["vendor_a"]).get(f"/cases/{case_id}/").content.decode()
    assert '<td class="fix-verdict">reduced</td>' in page
    assert 'exact 95% upper bound below <span class="threshold">0.05</span>' in page
    assert f'at least <span class="threshold">{DEFAULT_MIN_TRIALS}</span> trials' in page


def test_the_program_thresholds_decide(world: World, api_as: Any) -> None:
    before, after = with_fix(world)
    finished_run(world, before, summary(before, 40, 50))
    finished_run(world, after, summary(after, 0, 40))  # exact 95% upper bound 0.088
    case_id = world.cases["a"].pk
    api = api_as("admin")

    def verdict() -> str:
        rows = api.get(f"/api/v1/cases/{case_id}/fix-verdicts").json()
        return str(rows[0]["verdict"])

    assert verdict() == "reduced"  # 0.088 is not below the default 0.05
    changed = api.client.put(
        "/api/v1/programs/open-models/policy",
        data={"fix_acceptable_rate": 0.1},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["fix_acceptable_rate"] == 0.1
    assert verdict() == "fixed"
    changed = api.client.put(
        "/api/v1/programs/open-models/policy",
        data={"fix_min_trials": 50},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
    )
    assert changed.status_code == 200, changed.content
    assert verdict() == "inconclusive"  # 40 trials on the fix, 50 needed


def test_bad_thresholds_are_422_naming_the_field(world: World, api_as: Any) -> None:
    api = api_as("admin")
    response = api.client.put(
        "/api/v1/programs/open-models/policy",
        data={"fix_acceptable_rate": 1.5, "fix_min_trials": 0},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"fix_acceptable_rate", "fix_min_trials"} <= fields


def test_a_sequential_before_run_is_not_compared(world: World, api_as: Any) -> None:
    before, after = with_fix(world)
    finished_run(world, before, summary(before, 3, 5, sequential=True))
    finished_run(world, after, summary(after, 0, 80))
    rows = api_as("triager").get(f"/api/v1/cases/{world.cases['a'].pk}/fix-verdicts").json()
    assert rows[0]["verdict"] == "inconclusive"
    assert "stopped by the sequential test" in rows[0]["line"]
    assert "fresh fixed-size before-sample" in rows[0]["line"]
