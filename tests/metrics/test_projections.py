"""The metrics' facts are the one projection the domain services refresh through
core.projections (they cannot import metrics, which reads their apps)."""

from __future__ import annotations

from typing import Any

import pytest

from modelcvd.core import projections
from modelcvd.core.projections import (
    case_projections_refresh,
    program_projections_rebuild,
    projection_register,
    projections_registered,
)
from modelcvd.metrics.apps import PROJECTION
from modelcvd.metrics.services import case_facts_refresh
from modelcvd.metrics.tasks import program_facts_refresh_queue


def test_the_installed_metrics_app_registered_its_facts() -> None:
    projection = projections_registered()[PROJECTION]
    assert projection.case_refresh is case_facts_refresh
    assert projection.program_rebuild is program_facts_refresh_queue


def test_the_hook_calls_every_registered_projection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(projections, "_registered", {})
    calls: list[tuple[str, Any]] = []
    projection_register(
        "recorder",
        case_refresh=lambda *, case_ids: calls.append(("cases", case_ids)),
        program_rebuild=lambda *, program_id: calls.append(("program", program_id)),
    )
    case_projections_refresh(case_ids=[3, 4])
    case_projections_refresh(case_ids=[])
    program_projections_rebuild(program_id=7)
    assert calls == [("cases", [3, 4]), ("program", 7)]


def test_without_a_registered_projection_the_hook_does_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(projections, "_registered", {})
    case_projections_refresh(case_ids=[1])
    program_projections_rebuild(program_id=1)
    assert projections_registered() == {}
