"""The target registry's rules (issue 19, item 1): who may register for which organisation,
what a local directory and an endpoint must be, and who may use a target for which case
(a vendor's own, never another vendor's; coordinators only once offered to their program)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from modelcvd.core.errors import Forbidden, InvalidInput, NotFound
from modelcvd.core.models import SealedBlob
from modelcvd.verification.models import Target
from modelcvd.verification.selectors import target_get_for, targets_for_case
from modelcvd.verification.services import (
    matrix_request,
    target_offer,
    target_register,
    target_retire,
)
from tests.factories import World


@pytest.fixture
def weights(tmp_path: Path, settings: Any) -> Path:
    """A model directory under MODEL_DIRS (one small safetensors shard)."""
    settings.MODEL_DIRS = [str(tmp_path)]
    directory = tmp_path / "model"
    directory.mkdir()
    (directory / "model.safetensors").write_bytes(b"not really weights")
    return directory


def _local(world: World, directory: Path, **overrides: Any) -> Target:
    values: dict[str, Any] = {
        "actor": world.users["vendor_a"],
        "organisation": "vendor-a",
        "name": "local",
        "kind": "local",
        "artifact_id": world.artifacts["a"].pk,
        "local_dir": str(directory),
    }
    return target_register(**(values | overrides))


def _field(exc: pytest.ExceptionInfo[InvalidInput]) -> str:
    return exc.value.errors[0].field


def test_local_directories_are_checked_and_digested(world: World, weights: Path) -> None:
    with pytest.raises(InvalidInput) as info:
        _local(world, Path("/etc"))
    assert _field(info) == "local_dir"
    with pytest.raises(InvalidInput) as info:
        _local(world, weights.parent / "missing")
    assert _field(info) == "local_dir"
    # Pinned weights that are not these: refused.
    world.artifacts["a"].weights_digest = "0" * 64
    world.artifacts["a"].save()
    with pytest.raises(InvalidInput) as info:
        _local(world, weights)
    assert _field(info) == "local_dir"
    world.artifacts["a"].weights_digest = hashlib.sha256(b"not really weights").hexdigest()
    world.artifacts["a"].save()
    target = _local(world, weights)
    assert len(target.digest) == 64 and target.uri == f"hf:{weights.resolve()}"


def test_who_registers_what(world: World, weights: Path) -> None:
    with pytest.raises(InvalidInput) as info:  # another vendor's organisation
        _local(world, weights, actor=world.users["vendor_b"])
    assert _field(info) == "organisation"
    with pytest.raises(InvalidInput) as info:  # another vendor's model
        _local(world, weights, artifact_id=world.artifacts["b"].pk)
    assert _field(info) == "artifact_id"
    with pytest.raises(InvalidInput) as info:
        _local(world, weights, api_key="sk-x")
    assert _field(info) == "kind"
    with pytest.raises(InvalidInput) as info:
        target_register(
            actor=world.users["vendor_b"],
            organisation="vendor-b",
            name="e",
            kind="endpoint",
            artifact_id=world.artifacts["b"].pk,
            url="http://10.0.0.1/v1",
            model_name="assistant",
        )
    assert _field(info) == "url" and "address not public" in info.value.errors[0].reason
    _local(world, weights)
    with pytest.raises(InvalidInput) as info:
        _local(world, weights)
    assert _field(info) == "name"


def test_a_credential_is_sealed_for_its_target(world: World, settings: Any) -> None:
    settings.EGRESS_ALLOW = ["127.0.0.1:9"]
    target = target_register(
        actor=world.users["vendor_b"],
        organisation="vendor-b",
        name="e",
        kind="endpoint",
        artifact_id=world.artifacts["b"].pk,
        url="http://127.0.0.1:9/v1",
        model_name="assistant",
        api_key="sk-sealed-123",
    )
    blob = SealedBlob.objects.get(pk=target.credential_id)
    assert b"sk-sealed-123" not in bytes(blob.ciphertext)
    assert blob.purpose == "verification.target_credential"


def test_use_follows_the_offer(world: World, weights: Path) -> None:
    target = _local(world, weights)
    case = world.cases["a"]
    triager, vendor_a, vendor_b = (world.users[u] for u in ("triager", "vendor_a", "vendor_b"))
    assert list(targets_for_case(actor=triager, case=case)) == []
    for actor in (triager, vendor_b):
        with pytest.raises(NotFound):
            target_get_for(actor=actor, target_id=target.pk)
    with pytest.raises(InvalidInput) as info:
        matrix_request(case_id=case.pk, actor=triager, target_ids=[target.pk], trials=2)
    assert _field(info) == "target_ids"
    target_offer(actor=vendor_a, target_id=target.pk, program="open-models")
    assert list(targets_for_case(actor=triager, case=case)) == [target]
    with pytest.raises(NotFound):  # still never another vendor's
        target_get_for(actor=vendor_b, target_id=target.pk)
    with pytest.raises(Forbidden):  # the coordinators use it; they do not manage it
        target_retire(actor=triager, target_id=target.pk)
    group = matrix_request(case_id=case.pk, actor=triager, target_ids=[target.pk], trials=2)
    assert [(r.target_id, r.artifact_id) for r in group.runs.all()] == [
        (target.pk, world.artifacts["a"].pk)
    ]
    # A vendor party may not queue a matrix, even on its own target.
    with pytest.raises(Forbidden):
        matrix_request(case_id=case.pk, actor=vendor_a, target_ids=[target.pk], trials=2)
    target_offer(actor=vendor_a, target_id=target.pk, program="open-models", offered=False)
    assert list(targets_for_case(actor=triager, case=case)) == []
    target_offer(actor=vendor_a, target_id=target.pk, program="open-models")
    target_retire(actor=vendor_a, target_id=target.pk)
    assert list(targets_for_case(actor=triager, case=case)) == []
