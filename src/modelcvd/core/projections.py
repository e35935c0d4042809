"""Derived data kept current by the services that change its inputs: the one inversion of the
app layers (docs/ARCHITECTURE.md).

A projection is data computed from the domain apps, such as the metrics' per-case facts. It
reads cases, reports, verification runs and program policies, so it sits above all of them and
they cannot import it. Instead of `post_save` signals (which fire where no reader of a service
can see them), every service that changes a projection's inputs calls
`case_projections_refresh` or `program_projections_rebuild` explicitly, inside its own
transaction, and the app owning a projection registers its refresher here once, from its
AppConfig.ready(). With no projection registered (the owning app not installed) the calls do
nothing.

The hook speaks in ids only, so this module knows no domain app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Projection:
    name: str
    # Recompute what is derived from these cases, in the caller's transaction.
    case_refresh: Callable[..., None]
    # A program's own settings changed (e.g. its deadline targets): recompute its cases. May
    # defer the work until the caller's transaction commits.
    program_rebuild: Callable[..., None]


_registered: dict[str, Projection] = {}


def projection_register(
    name: str, *, case_refresh: Callable[..., None], program_rebuild: Callable[..., None]
) -> None:
    """Register (or replace) the projection `name`; called from its app's ready()."""
    _registered[name] = Projection(
        name=name, case_refresh=case_refresh, program_rebuild=program_rebuild
    )


def projections_registered() -> dict[str, Projection]:
    return dict(_registered)


def case_projections_refresh(*, case_ids: list[int]) -> None:
    """These cases changed (timeline, tier, state, reports, runs): refresh what derives from them."""
    if not case_ids:
        return
    for projection in _registered.values():
        projection.case_refresh(case_ids=case_ids)


def program_projections_rebuild(*, program_id: int) -> None:
    """This program's settings changed in a way that moves what derives from its cases."""
    for projection in _registered.values():
        projection.program_rebuild(program_id=program_id)
