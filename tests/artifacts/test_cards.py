"""Model-card metadata parsing (no database)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelcvd.artifacts.cards import (
    CardError,
    card_from_directory,
    card_from_metadata,
    cards_from_file,
    front_matter,
)

CARD = """---
license: apache-2.0
base_model: acme/chat-7b
base_model_relation: quantized
tags:
  - gguf
---
# chat-7b GGUF
"""


def test_front_matter_of_a_model_card() -> None:
    assert front_matter(CARD)["base_model"] == "acme/chat-7b"
    assert front_matter("# no front matter\n") == {}
    assert front_matter("---\n---\n") == {}
    with pytest.raises(CardError, match="front_matter"):
        front_matter("---\n- a list\n---\n")
    with pytest.raises(CardError, match="not valid YAML"):
        front_matter("---\nkey: [unclosed\n---\n")


def test_card_from_a_model_directory(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(CARD)
    card = card_from_directory(tmp_path, model_id="someone/chat-7b-GGUF")
    assert card.model_id == "someone/chat-7b-GGUF"
    assert card.base_models == ("acme/chat-7b",)
    assert card.relation == "quantization"
    with pytest.raises(CardError, match="model_id"):
        card_from_directory(tmp_path)  # not a hub snapshot, no id given


def test_card_of_a_hub_cache_snapshot_names_itself(tmp_path: Path) -> None:
    snapshot = tmp_path / "models--someone--chat-7b-GGUF" / "snapshots" / ("c" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "README.md").write_text(CARD)
    card = card_from_directory(snapshot)
    assert (card.model_id, card.revision) == ("someone/chat-7b-GGUF", "c" * 40)


def test_relations_given_and_inferred() -> None:
    def relation(**metadata: object) -> str:
        return card_from_metadata(metadata, model_id="x/y").relation

    assert relation(base_model="a/b", base_model_relation="adapter") == "adapter"
    assert relation(base_model="a/b", base_model_relation="finetune") == "fine_tune"
    assert relation(base_model=["a/b", "c/d"]) == "merge"
    assert relation(base_model="a/b", tags=["abliterated"]) == "abliteration"
    assert relation(base_model="a/b") == "fine_tune"
    assert relation() == ""
    with pytest.raises(CardError, match="base_model_relation"):
        relation(base_model="a/b", base_model_relation="stolen")
    with pytest.raises(CardError, match="base_model"):
        relation(base_model="../../etc/passwd")
    with pytest.raises(CardError, match="base_model"):
        relation(base_model={"id": "a/b"})


def test_cards_from_json_and_yaml_lists(tmp_path: Path) -> None:
    cards = [
        {"model_id": "acme/chat-7b"},
        {"model_id": "b/ft", "base_model": "acme/chat-7b", "base_model_relation": "finetune"},
    ]
    (tmp_path / "cards.json").write_text(json.dumps(cards))
    (tmp_path / "cards.yaml").write_text("cards:\n  - model_id: c/q\n    base_model: b/ft\n")
    assert [c.model_id for c in cards_from_file(tmp_path / "cards.json")] == [
        "acme/chat-7b",
        "b/ft",
    ]
    assert cards_from_file(tmp_path / "cards.yaml")[0].base_models == ("b/ft",)
    (tmp_path / "bad.json").write_text(json.dumps([{"model_id": "nope"}]))
    with pytest.raises(CardError) as caught:
        cards_from_file(tmp_path / "bad.json")
    assert caught.value.field == "0.model_id"
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(CardError, match="not readable"):
        cards_from_file(tmp_path / "broken.json")
