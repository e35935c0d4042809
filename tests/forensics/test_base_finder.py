"""find-base: the weights, not the card, pick the base among candidates (no database)."""

from __future__ import annotations

from pathlib import Path

import torch

from modelcvd.forensics.base_finder import Candidate, find_base

from . import derivatives as dv


def test_the_exact_parent_wins_over_grandparent_and_strangers(tmp_path: Path) -> None:
    torch.manual_seed(0)
    grand = dv.tiny_model(0, 4)
    grand_dir = dv.save_dir(grand, dv.state_of(grand), tmp_path / "grandparent")
    parent_state = dv.fine_tune(dv.tiny_model(0, 4), seed=1)
    parent_dir = dv.save_dir(grand, parent_state, tmp_path / "parent")
    stranger = dv.tiny_model(7, 4)
    stranger_dir = dv.save_dir(stranger, dv.state_of(stranger), tmp_path / "stranger")
    other_shape = dv.tiny_model(0, 2)
    other_dir = dv.save_dir(other_shape, dv.state_of(other_shape), tmp_path / "two-layers")
    r = dv.unit(torch.Generator().manual_seed(1))
    derived_state = dv.abliterate(
        parent_state, dict.fromkeys(range(4), r), dict.fromkeys(range(4), 1.0)
    )
    derived_dir = dv.save_dir(grand, derived_state, tmp_path / "derived")
    # The card lies, as abliteration tools' copied cards do.
    (derived_dir / "README.md").write_text(
        "---\nbase_model: stranger/model\ntags: [abliterated]\n---\n"
    )
    candidates = [
        Candidate("1", "grandparent", grand_dir),
        Candidate("2", "parent", parent_dir),
        Candidate("3", "stranger", stranger_dir),
        Candidate("4", "two-layers", other_dir),
        Candidate("5", "itself", derived_dir),
    ]
    proposal = find_base(derived_dir, candidates)
    assert proposal.proposed is not None and proposal.proposed.candidate.label == "parent"
    labels = [s.candidate.label for s in proposal.ranking]
    assert labels[:2] == ["parent", "grandparent"]
    assert "itself" not in labels
    two_layers = next(s for s in proposal.ranking if s.candidate.label == "two-layers")
    assert two_layers.shape_match < 1.0 and two_layers.problems
    assert any("not trusted" in line for line in proposal.evidence)
    assert any("tool trace" in line for line in proposal.evidence)
    assert proposal.to_dict()["proposed"]["label"] == "parent"


def test_no_candidate_fits(tmp_path: Path) -> None:
    model = dv.tiny_model(0, 2)
    d = dv.save_dir(model, dv.state_of(model), tmp_path / "m")
    other = dv.tiny_model(0, 4)
    o = dv.save_dir(other, dv.state_of(other), tmp_path / "o")
    proposal = find_base(d, [Candidate("1", "o", o), Candidate("2", "gone", tmp_path / "gone")])
    assert proposal.proposed is None
    assert any("skipped" in line for line in proposal.evidence)
