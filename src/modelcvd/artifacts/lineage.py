"""Lineage: which artifacts descend from which, and what that means for a case.

What affects a base affects its derivatives (fine-tunes, adapters, quantizations, merges,
abliterations) until a verification run on the derivative shows otherwise. Open weights cannot
be patched: an affected open-weights artifact stays affected, and the way out is the version
that supersedes it.

`derivative_statuses` walks the graph: given the artifacts a case affects, every descendant
with its status. What verification runs say about a descendant is read by the caller and passed
in as `verdicts` (verification/selectors.py::derivative_statuses binds it to a case's runs,
and is what advisories call). It reads artifacts (a few queries per generation), writes
nothing and returns plain dataclasses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db.models import QuerySet

from modelcvd.artifacts.models import Artifact
from modelcvd.vocabulary import RunVerdict

Status = Literal["affected", "not_affected", "fixed", "under_investigation"]
MAX_DEPTH = 50  # generations; deeper trees (or a cycle in bad data) stop here
# Given artifact ids, the decided verdict of the run that speaks for each: (verdict, run id).
VerdictsOf = Callable[[list[int]], Mapping[int, tuple[str, int]]]


@dataclass(frozen=True)
class DerivativeStatus:
    """One descendant of an affected artifact and what the case means for it.

    * `affected`: inherited from `via` (the nearest ancestor in the affected set, or a verified
      ancestor), or shown by a run on this artifact (`verified`, `run_id`);
    * `not_affected`: a finished run on this very artifact did not reproduce the attack;
    * `fixed`: this artifact is a superseding version verified not to reproduce, or derives
      from one (`via` is the fix);
    * `under_investigation`: this artifact is a superseding version nobody has verified yet,
      or derives from one (`via` is that version): it is meant to fix its parent, but until a
      run (or the vendor's fix step, which advisories read beside this walk) says so it is
      neither affected nor fixed.

    `cannot_be_patched` marks open weights; `superseded_by_id` points to the version that
    replaces this one, when there is one.
    """

    artifact_id: int
    label: str
    status: Status
    via_id: int
    path: tuple[int, ...]
    relation: str
    verified: bool = False
    run_id: int | None = None
    cannot_be_patched: bool = False
    superseded_by_id: int | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "artifact_id": self.artifact_id,
            "label": self.label,
            "status": self.status,
            "via_id": self.via_id,
            "path": list(self.path),
            "relation": self.relation,
            "verified": self.verified,
            "run_id": self.run_id,
            "cannot_be_patched": self.cannot_be_patched,
            "superseded_by_id": self.superseded_by_id,
            "reason": self.reason,
        }


def _no_verdicts(artifact_ids: list[int]) -> Mapping[int, tuple[str, int]]:
    return {}


def derivative_statuses(
    *, affected: Sequence[Artifact | int], verdicts: VerdictsOf = _no_verdicts
) -> list[DerivativeStatus]:
    """Every descendant of the `affected` artifacts, nearest generation first.

    Rules, applied top-down from each affected artifact:
    1. a verdict on the descendant (the latest finished run of the case) decides: `reproduced` -> affected,
       `not_reproduced` -> fixed if the descendant supersedes another artifact (it is a new
       version), else not_affected;
    2. otherwise the descendant of a fixed version is fixed (it carries the fixed weights);
    3. otherwise a new version (it supersedes another artifact) is under investigation, and
       so is whatever derives from it: it was made to replace an affected one, and calling it
       affected would publish the fix as vulnerable;
    4. otherwise it is affected via its nearest affected ancestor. A not-affected derivative
       does not clear its own derivatives: that run tested one set of weights, not theirs.
    Artifacts in the affected set are never listed (the case names them already).
    """
    roots = [a if isinstance(a, int) else a.pk for a in affected]
    affected_set = set(roots)
    seen: set[int] = set(affected_set)
    results: list[DerivativeStatus] = []
    # Each frontier entry: (artifact id, its status, the id that decides it, path from root).
    frontier: list[tuple[int, Status, int, tuple[int, ...]]] = [
        (root, "affected", root, (root,)) for root in roots
    ]
    for _ in range(MAX_DEPTH):
        if not frontier:
            break
        by_parent = {entry[0]: entry for entry in frontier}
        children = list(
            Artifact.objects.filter(parent_id__in=list(by_parent))
            .exclude(pk__in=seen)
            .order_by("pk")
        )
        if not children:
            break
        decided = verdicts([c.pk for c in children])
        superseding = set(
            Artifact.objects.filter(superseded_by_id__in=[c.pk for c in children]).values_list(
                "superseded_by_id", flat=True
            )
        )
        next_frontier: list[tuple[int, Status, int, tuple[int, ...]]] = []
        for child in children:
            if child.pk in seen:
                continue
            seen.add(child.pk)
            assert child.parent_id is not None
            _, parent_status, parent_via, parent_path = by_parent[child.parent_id]
            path = (*parent_path, child.pk)
            status: Status
            verified = False
            run_id: int | None = None
            if child.pk in decided:
                verdict, run_id = decided[child.pk]
                verified = True
                via = child.pk
                if verdict == RunVerdict.REPRODUCED:
                    status, via = "affected", child.pk
                    reason = f"verification run #{run_id} reproduced the attack"
                elif child.pk in superseding:
                    status = "fixed"
                    reason = f"new version; verification run #{run_id} did not reproduce"
                else:
                    status = "not_affected"
                    reason = f"verification run #{run_id} did not reproduce the attack"
            elif parent_status == "fixed":
                status, via = "fixed", parent_via
                reason = f"derived from fixed version #{parent_via}"
            elif child.pk in superseding:
                status, via = "under_investigation", child.pk
                reason = "new version that supersedes an affected one; not verified"
            elif parent_status == "under_investigation":
                status, via = "under_investigation", parent_via
                reason = f"derived from new version #{parent_via}, not verified"
            else:
                # The frontier never carries not_affected (see below), so this is the nearest
                # affected ancestor.
                via, status = parent_via, "affected"
                reason = f"derived from #{via}, affected; not verified"
            results.append(
                DerivativeStatus(
                    artifact_id=child.pk,
                    label=str(child),
                    status=status,
                    via_id=via,
                    path=path,
                    relation=child.relation,
                    verified=verified,
                    run_id=run_id,
                    cannot_be_patched=child.cannot_be_patched,
                    superseded_by_id=child.superseded_by_id,
                    reason=reason,
                )
            )
            # A not-affected artifact hands its children what it inherited itself (rule 4).
            carried_via = via if status != "not_affected" else parent_via
            carried_status: Status = status if status != "not_affected" else parent_status
            next_frontier.append((child.pk, carried_status, carried_via, path))
        frontier = next_frontier
    return results


@dataclass
class LineageNode:
    """One artifact in a lineage tree, with its visible derivatives."""

    artifact: Artifact
    depth: int
    children: list[LineageNode] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        a = self.artifact
        return {
            "id": a.pk,
            "label": str(a),
            "relation": a.relation,
            "lineage_source": a.lineage_source,
            "access": a.access,
            "cannot_be_patched": a.cannot_be_patched,
            "superseded_by_id": a.superseded_by_id,
            "purl": a.purl,
            "weights_digest": a.weights_digest,
            "children": [child.to_dict() for child in self.children],
        }


@dataclass
class Lineage:
    """An artifact's ancestors (root first) and the tree of everything below its root."""

    artifact: Artifact
    ancestors: list[Artifact]
    tree: LineageNode
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "artifact_id": self.artifact.pk,
            "ancestors": [{"id": a.pk, "label": str(a)} for a in self.ancestors],
            "tree": self.tree.to_dict(),
            "truncated": self.truncated,
        }

    def rows(self) -> list[LineageNode]:
        """The tree flattened depth-first, for templates."""
        out: list[LineageNode] = []
        stack = [self.tree]
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(reversed(node.children))
        return out


def lineage_of(artifact: Artifact, *, visible: QuerySet[Artifact]) -> Lineage:
    """The lineage of `artifact` as far as `visible` lets the caller see: ancestors up to the
    first invisible one, then every visible descendant of the topmost visible ancestor."""
    visible_ids = set(visible.values_list("pk", flat=True))
    ancestors: list[Artifact] = []
    current = artifact
    seen = {artifact.pk}
    truncated = False
    while current.parent_id is not None and current.parent_id in visible_ids:
        if current.parent_id in seen or len(seen) > MAX_DEPTH:
            truncated = True
            break
        parent = Artifact.objects.get(pk=current.parent_id)
        ancestors.insert(0, parent)
        seen.add(parent.pk)
        current = parent
    root = LineageNode(current, 0)
    level = [root]
    placed = {current.pk}
    for depth in range(1, MAX_DEPTH + 1):
        if not level:
            break
        by_id = {node.artifact.pk: node for node in level}
        children = (
            Artifact.objects.filter(parent_id__in=list(by_id), pk__in=visible_ids)
            .exclude(pk__in=placed)
            .order_by("provider", "name", "revision")
        )
        level = []
        for child in children:
            placed.add(child.pk)
            node = LineageNode(child, depth)
            assert child.parent_id is not None
            by_id[child.parent_id].children.append(node)
            level.append(node)
    else:
        truncated = truncated or bool(level)
    return Lineage(artifact=artifact, ancestors=ancestors, tree=root, truncated=truncated)
