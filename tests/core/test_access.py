"""One access rule per object kind (core/access.py): the query filter (`restrict`), the single
fetch (`get_for`) and the per-object predicate (`standing`/`allows`, `case_access`) answer
alike for every actor, object and action, and agree with the rules as written in words here
(the oracle below, computed from the memberships in plain Python). No other module decides.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection, models, transaction
from django.test.utils import CaptureQueriesContext

from modelcvd.accounts.models import Organisation, Role, User
from modelcvd.accounts.selectors import organisations_where, roles_of
from modelcvd.advisories.models import Advisory
from modelcvd.advisories.services import advisory_create
from modelcvd.artifacts.models import Artifact
from modelcvd.assessments.models import Assessment
from modelcvd.assessments.services import assessment_create
from modelcvd.cases.models import Case
from modelcvd.cases.selectors import case_access, case_get_for, case_list_visible
from modelcvd.cases.services import case_transition
from modelcvd.core.errors import Forbidden, NotFound
from modelcvd.policy.models import Program
from modelcvd.reports.models import Report
from modelcvd.reports.services import report_submit
from modelcvd.verification.models import VerificationRun
from tests.advisories.helpers import content, make_advisory
from tests.factories import World, document, make_user
from tests.transparency import threat_model, transparency_of

SRC = Path(__file__).resolve().parents[2] / "src" / "modelcvd"


@dataclass
class Scene:
    """The shared world (tests/factories.py), plus what tells per-organisation scope apart:
    a second coordinator organisation running its own benchmark program, whose triager sees
    none of the first program's cases, and a case there with a held-out item, notified to
    vendor B."""

    world: World
    actors: dict[str, Any] = field(default_factory=dict)
    objects: dict[type[models.Model], list[models.Model]] = field(default_factory=dict)


def _scene(world: World) -> Scene:
    other = Organisation.objects.create(name="Other CERT", slug="other", kind="coordinator")
    program = Program.objects.create(
        organisation=other, name="Benchmark", slug="benchmark", benchmark_holdout=True
    )
    orphan = Artifact.objects.create(provider="community", name="orphan", revision="1")
    scoped_elsewhere = Artifact.objects.create(provider="community", name="scoped", revision="1")
    program.scope.add(scoped_elsewhere)
    users = dict(world.users)
    users["triager_other"] = make_user("triager_other", Role.TRIAGER, other)
    users["superuser"] = User.objects.create_superuser("root", "root@example.test", "x")
    report_c = report_submit(
        actor=users["researcher_b"],
        document=document(
            program="benchmark",
            title="Held-out item",
            artifacts=[
                {"provider": "vendor-b", "name": "assistant", "revision": "b" * 40},
                {"provider": "secret", "name": "model", "revision": "1"},
            ],
        ),
    )
    assert report_c.held_out
    for to in ("acknowledged", "triaged_valid", "vendor_notified"):
        case_transition(case_id=report_c.case_id, actor=users["triager_other"], to=to, reason="x")
    run_c = VerificationRun.objects.create(
        case_id=report_c.case_id,
        report=report_c,
        artifact=world.artifacts["b"],
        requested_by=users["triager_other"],
        target_uri="openai:http://127.0.0.1:9/v1#assistant",
        trials=10,
    )
    published = make_advisory(world)
    draft = make_advisory(world, publish=False)
    draft_c = advisory_create(
        actor=users["triager_other"], case_id=report_c.case_id, content=content()
    )
    assessed = transparency_of(world).assessment
    draft_assessment = assessment_create(
        actor=users["assessor"],
        subject_slug="vendor-b",
        title="Draft",
        summary="",
        threat_models=[threat_model()],
    )
    scene = Scene(world=world)
    scene.actors = {"anonymous": AnonymousUser(), **users}
    scene.objects = {
        Case: list(Case.objects.order_by("pk")),
        Report: list(Report.objects.order_by("pk")),
        Artifact: [
            *world.artifacts.values(),
            orphan,
            scoped_elsewhere,
            *Artifact.objects.filter(provider="secret"),
        ],
        Advisory: [published, draft, draft_c],
        Assessment: [assessed, draft_assessment],
        VerificationRun: [world.run, run_c],  # type: ignore[list-item]
    }
    return scene


@pytest.fixture
def scene(world: World) -> Scene:
    return _scene(world)


# The oracle: each rule in words, from the memberships, in plain Python.


def _who(actor: Any) -> tuple[bool, set[str], set[int], set[int], set[int]]:
    roles = roles_of(actor)
    return (
        Role.ADMIN in roles,
        roles,
        set(organisations_where(actor, Role.TRIAGER)),
        set(organisations_where(actor, Role.VENDOR_MEMBER)),
        set(organisations_where(actor, Role.ASSESSOR)),
    )


def _case(actor: Any, case: Case, action: str) -> bool:
    admin, _, triager, vendor_of, _ = _who(actor)
    coordinate = admin or case.program.organisation_id in triager
    report = actor.is_authenticated and case.reports.filter(reporter_id=actor.pk).exists()
    # Told, per organisation: naming a vendor's artifact (a merge adds some) is not telling it.
    vendor = case.vendor_parties.filter(organisation_id__in=vendor_of).exists()
    return {
        "coordinate": coordinate,
        "report": report,
        "vendor": vendor,
        "party": coordinate or vendor,
        "view": coordinate or report or vendor,
    }[action]


def _report(actor: Any, report: Report, action: str) -> bool:
    own = actor.is_authenticated and report.reporter_id == actor.pk
    coordinate = _case(actor, report.case, "coordinate")
    return {
        "view": own or _case(actor, report.case, "party"),
        "attach": own or coordinate,
        "coordinate": coordinate,
        "reporter": own,
        "held_out": own or coordinate,
    }[action]


def _artifact(actor: Any, artifact: Artifact, action: str) -> bool:
    admin, roles, triager, vendor_of, _ = _who(actor)
    program_orgs = set(artifact.programs.values_list("organisation_id", flat=True))
    case_orgs = set(artifact.cases.values_list("program__organisation_id", flat=True))
    unclaimed = not program_orgs and not case_orgs
    coordinate = (
        admin or bool((program_orgs | case_orgs) & triager) or (Role.TRIAGER in roles and unclaimed)
    )
    return {
        "view": bool(program_orgs) or coordinate,
        "coordinate": coordinate,
        "state_fix": coordinate or artifact.vendor_id in vendor_of,
    }[action]


def _advisory(actor: Any, advisory: Advisory, action: str) -> bool:
    party = _case(actor, advisory.case, "party")
    return {
        "view": advisory.is_public or party,
        "coordinate": _case(actor, advisory.case, "coordinate"),
        "vendor_level": party,
        "defender_level": Role.DEFENDER in roles_of(actor),
    }[action]


def _assessment(actor: Any, assessment: Assessment, action: str) -> bool:
    _, _, _, vendor_of, assessor_of = _who(actor)
    author = assessment.assessor_org_id in assessor_of
    published = assessment.state == Assessment.State.PUBLISHED
    return {
        "view": published or author,
        "author": author,
        "read_detail": author or (published and assessment.subject_id in vendor_of),
    }[action]


def _run(actor: Any, run: VerificationRun, action: str) -> bool:
    readable = not run.report.held_out or _report(actor, run.report, "held_out")
    return {
        # A reporter sees the runs of their own report only, never a merged co-reporter's.
        "view": (_case(actor, run.case, "party") or _report(actor, run.report, "reporter"))
        and readable,
        "coordinate": _case(actor, run.case, "coordinate"),
    }[action]


ORACLE: dict[type[models.Model], Callable[[Any, Any, str], bool]] = {
    Case: _case,
    Report: _report,
    Artifact: _artifact,
    Advisory: _advisory,
    Assessment: _assessment,
    VerificationRun: _run,
}


@pytest.mark.parametrize("model", list(ORACLE), ids=lambda m: m.__name__)
def test_filter_predicate_and_fetch_agree_with_the_rule(scene: Scene, model: Any) -> None:
    rules = model.objects.all().rules
    assert rules, f"{model.__name__} has no access rules"
    disagreements = []
    for name, actor in scene.actors.items():
        for action in rules:
            listed = set(model.objects.restrict(actor, action).values_list("pk", flat=True))
            for obj in scene.objects[model]:
                expected = ORACLE[model](actor, obj, action)
                in_filter = obj.pk in listed
                predicate = model.objects.allows(actor, obj, action)
                try:
                    fetched = model.objects.get_for(actor=actor, action=action, pk=obj.pk) == obj
                except NotFound:
                    fetched = False
                if not expected == in_filter == predicate == fetched:
                    disagreements.append(
                        (name, action, obj.pk, expected, in_filter, predicate, fetched)
                    )
    assert disagreements == []


def test_the_scene_tells_the_rules_apart(scene: Scene) -> None:
    # Guard against a vacuous matrix: per-organisation scope and held-out items show.
    case_c = scene.objects[Case][-1]
    other, triager = scene.actors["triager_other"], scene.actors["triager"]
    assert Case.objects.allows(other, case_c, "coordinate")
    assert not Case.objects.allows(triager, case_c, "view")
    assert not Case.objects.allows(other, scene.world.cases["a"], "view")
    secret = Artifact.objects.get(provider="secret")
    assert Artifact.objects.allows(other, secret, "view")
    assert not Artifact.objects.allows(triager, secret, "view")
    run_c = scene.objects[VerificationRun][-1]
    vendor_b = scene.actors["vendor_b"]
    assert Case.objects.allows(vendor_b, case_c, "vendor")
    assert not VerificationRun.objects.allows(vendor_b, run_c, "view")
    assert Case.objects.allows(scene.actors["superuser"], case_c, "coordinate")


def test_case_access_is_the_case_rule(scene: Scene) -> None:
    for actor in scene.actors.values():
        for case in scene.objects[Case]:
            got = case_access(actor=actor, case=case)  # type: ignore[arg-type]
            expected = tuple(_case(actor, case, a) for a in ("coordinate", "report", "vendor"))
            assert (got.staff, got.reporter, got.vendor) == expected


def test_seen_but_not_allowed_is_forbidden_only_for_those_who_see(world: World) -> None:
    case = world.cases["a"]
    for role, error in (
        ("researcher_a", Forbidden),
        ("vendor_a", Forbidden),
        ("vendor_b", NotFound),
    ):
        with pytest.raises(error):
            case_get_for(
                actor=world.users[role], case_id=case.pk, action="coordinate", forbidden="no"
            )
    found = case_get_for(
        actor=world.users["triager"], case_id=case.pk, action="coordinate", forbidden="no"
    )
    assert found == case


def test_an_unknown_action_is_a_programming_error(world: World) -> None:
    with pytest.raises(ValueError, match="no access action 'triage'"):
        Case.objects.restrict(world.users["triager"], "triage")


def test_a_list_is_one_query_and_a_standing_is_one_query(world: World) -> None:
    triager = world.users["triager"]
    with CaptureQueriesContext(connection) as listing:
        list(case_list_visible(actor=triager))
    assert len(listing) == 1
    with CaptureQueriesContext(connection) as standing:
        case_access(actor=triager, case=world.cases["a"])
    assert len(standing) == 1


@pytest.mark.parametrize(
    ("model", "key"),
    [
        (Case, lambda w: w.cases["a"].pk),
        (Report, lambda w: w.reports["a"].pk),
        (Artifact, lambda w: w.artifacts["a"].pk),
        (VerificationRun, lambda w: w.run.pk),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_lock_takes_the_row_lock(world: World, model: Any, key: Any) -> None:
    # select_related across nullable relations too: the lock names only the row's own table
    # (PostgreSQL refuses FOR UPDATE on the nullable side of an outer join).
    qs = model.objects.select_related(*_related(model))
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        found = qs.get_for(actor=world.users["admin"], action="view", pk=key(world), lock=True)
        with pytest.raises(NotFound):
            qs.get_for(
                actor=world.users["researcher_b"], action="coordinate", pk=key(world), lock=True
            )
    assert found.pk == key(world)
    locking = [q["sql"] for q in queries if "FOR UPDATE" in q["sql"]]
    if connection.features.has_select_for_update:
        assert len(locking) == 2
    else:  # SQLite: write transactions are exclusive, there is no row lock to take
        assert locking == []


def _related(model: Any) -> tuple[str, ...]:
    return {
        Case: ("program",),
        Report: ("case__program", "reporter"),
        Artifact: ("vendor", "parent"),
        VerificationRun: ("artifact", "case"),
    }[model]


# No module but the rules decides who may see or act on these objects.

DECIDERS = {"roles_of", "organisations_where", "Membership", "is_superuser"}
ROLE_NAMES = {"ADMIN", "TRIAGER", "VENDOR_MEMBER", "ASSESSOR", "DEFENDER"}
ALLOWED = {
    "accounts/selectors.py": "defines roles_of and organisations_where",
    "accounts/models.py": "the roles themselves",
    "accounts/services.py": "grants memberships",
    "accounts/api.py": "/me lists the caller's own roles",
    "accounts/identity.py": "researcher identities, not one of these kinds",
    "accounts/twofactor.py": "who owes a second factor, not one of these kinds",
    "policy/services.py": "programs' policies, not one of these kinds",
    "notifications/webhooks.py": "webhook endpoints, not one of these kinds",
    "advisories/mail.py": "recipients of advisory mail, not a decision",
    "cases/services/deadlines.py": "recipients of escalations, not a decision",
    "cases/mail.py": "recipients of case mail (vendor notices, comments), not a decision",
    "accounts/context.py": "which links the navigation shows; every page checks its own access",
    "assessments/services.py": "names co-assessors of the author's organisation",
    "cli/accounts.py": "grants the first administrator",
    "vocabulary.py": "the roles themselves (which act for an organisation)",
    "demo/__init__.py": "the demo's memberships",
}


def _deciding_names(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in DECIDERS:
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            if node.attr in DECIDERS:
                found.add(node.attr)
            if (
                node.attr in ROLE_NAMES
                and isinstance(node.value, ast.Name)
                and node.value.id == "Role"
            ):
                found.add(f"Role.{node.attr}")
        elif isinstance(node, ast.Constant) and node.value == "is_superuser":
            found.add("is_superuser")
    return found


def test_only_the_access_rules_read_roles() -> None:
    offenders = {}
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if "/migrations/" in relative or path.name == "access.py":
            continue  # each app's access.py is where its rule lives
        names = _deciding_names(ast.parse(path.read_text(), filename=str(path)))
        if names and relative not in ALLOWED:
            offenders[relative] = sorted(names)
    assert offenders == {}, (
        "decide access with Model.objects.restrict/get_for/allows (see core/access.py), "
        "or add the module to ALLOWED with the reason it is not an access decision"
    )


def test_core_access_knows_no_domain_app() -> None:
    tree = ast.parse((SRC / "core" / "access.py").read_text())
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert {
        m for m in imported if m.startswith("modelcvd.") and not m.startswith("modelcvd.core")
    } == set()
