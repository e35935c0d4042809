"""The advisory's two seams: derivatives from lineage listed with their status (affected unless
a run cleared them or they carry the fix), and credits from the credits app (opt-outs
respected)."""

from __future__ import annotations

from typing import Any

from modelcvd.advisories.affected import advisory_credits, affected_artifacts, listed_versions
from modelcvd.artifacts.models import Artifact
from modelcvd.credits.services import credit_grant, credit_respond
from tests.advisories.helpers import make_advisory
from tests.artifacts.test_lineage import tree  # noqa: F401  (fixture)
from tests.factories import World


def test_derivatives_inherit_the_advisory_unless_cleared(
    world: World,
    tree: dict[str, Artifact],  # noqa: F811
) -> None:
    statuses = {v.artifact.pk: v.status for v in listed_versions(world.cases["a"])}
    # Inherited, three generations down, and via a cleared branch's own derivative.
    for name in ("base", "ft1", "q1", "q1_abl", "ft1_safe_q", "ft2", "ft2_q"):
        assert statuses[tree[name].pk] == "affected", name
    # Cleared by a run on the very weights, or carrying the fix: listed, with that status
    # (an advisory says which versions are safe, not only which are not).
    assert statuses[tree["ft1_safe"].pk] == "not_affected"
    assert statuses[tree["v2"].pk] == statuses[tree["v2_q"].pk] == "fixed"
    assert set(affected_artifacts(world.cases["a"]).values_list("pk", flat=True)) == set(statuses)
    advisory = make_advisory(world)
    by_name = {a["name"]: a for a in advisory.document["affected"]}
    assert by_name["q1-abliterated"]["status"] == by_name["ft2-q"]["status"] == "affected"
    assert by_name["v2-q"]["status"] == "fixed"
    assert by_name["ft1-safe"]["justification"] == "vulnerable_code_not_present"


def test_credits_come_from_the_credits_app_and_respect_opt_outs(world: World) -> None:
    case = world.cases["a"]
    reporter = world.reports["a"].reporter
    triager = world.users["triager"]
    # No credit record: the reporter is credited as finder under their public name.
    assert advisory_credits(case) == [{"name": reporter.public_name, "role": "finder"}]
    credit = credit_grant(
        actor=triager, case_id=case.pk, credit_type="finder", username=reporter.username
    )
    assert advisory_credits(case) == []  # pending: not named until they answer
    credit_respond(actor=reporter, credit_id=credit.pk, accept=True, listed=False)
    assert advisory_credits(case) == []  # accepted but opted out of the listing
    credit_grant(actor=triager, case_id=case.pk, credit_type="tool", name="garak")
    names: list[Any] = [(c["name"], c["role"]) for c in advisory_credits(case)]
    assert names == [("garak", "tool")]
