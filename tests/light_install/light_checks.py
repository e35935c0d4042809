"""Run by tests/test_light_install.py in a process where the ml extra cannot be imported (see
sitecustomize.py here); not collected by the ordinary run, where torch is installed."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from tests.factories import World, sign_in
from tests.light_install.sitecustomize import ML_PACKAGES

from modelcvd.artifacts.models import Artifact


def test_the_ml_extra_is_unimportable_here() -> None:
    for name in ML_PACKAGES:
        with pytest.raises(ImportError):
            importlib.import_module(name)


def _views(patterns: list[Any]) -> list[Any]:
    found = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += _views(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            found.append(pattern.callback)
    return found


def test_every_route_and_operation_loads_without_ml() -> None:
    import modelcvd.api
    import modelcvd.urls

    assert _views(get_resolver().url_patterns)
    assert modelcvd.api.api.get_openapi_schema()["paths"]
    assert not set(ML_PACKAGES) & set(sys.modules)


@pytest.fixture
def local_pair(world: World, tmp_path: Path, settings: Any) -> tuple[Artifact, Artifact]:
    """Two artifacts with local copies: a valid request, which only the missing extra stops."""
    settings.MODEL_DIRS = [str(tmp_path)]
    made = []
    for name in ("base", "derived"):
        (tmp_path / name).mkdir()
        made.append(
            Artifact.objects.create(
                provider="lab", name=name, revision="1", local_dir=str(tmp_path / name)
            )
        )
    world.program.scope.add(*made)  # type: ignore[union-attr]
    return made[0], made[1]


def test_api_forensics_answers_503_naming_the_extra(
    local_pair: tuple[Artifact, Artifact], api_as: Any
) -> None:
    base, derived = local_pair
    response = api_as("triager").post(
        f"/api/v1/artifacts/{derived.pk}/forensic-report",
        {"base_id": base.pk, "program": "open-models"},
    )
    assert response.status_code == 503, response.content
    assert "pip install 'modelcvd[ml]'" in response.json()["detail"]


def test_web_forensics_answers_503_naming_the_extra(
    world: World, local_pair: tuple[Artifact, Artifact]
) -> None:
    base, derived = local_pair
    client = sign_in(Client(), world.users["triager"])
    response = client.post(
        f"/artifacts/{derived.pk}/forensic-report/", {"base_id": base.pk, "program": "open-models"}
    )
    assert response.status_code == 503
    assert "pip install &#x27;modelcvd[ml]&#x27;" in response.content.decode()
