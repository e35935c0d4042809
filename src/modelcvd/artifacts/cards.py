"""Model-card metadata, read offline: the YAML front matter of a README.md (Hugging Face model
card) or a JSON/YAML list of cards. Pure Python, no Django.

Only lineage is taken: the model's id, `base_model` (one id or a list) and
`base_model_relation` (adapter, merge, quantized, finetune). Cards are untrusted: abliteration
tools copy the source's card unchanged, so lineage from a card is a claim, recorded as such,
that weight forensics can confirm or contradict.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_CARD_BYTES = 1 << 20
# Hub values of base_model_relation -> Artifact.Relation.
RELATIONS = {
    "adapter": "adapter",
    "merge": "merge",
    "quantized": "quantization",
    "quantization": "quantization",
    "finetune": "fine_tune",
    "fine-tune": "fine_tune",
    "fine_tune": "fine_tune",
    "abliteration": "abliteration",
    "abliterated": "abliteration",
}
ABLITERATION_TAGS = {"abliterated", "abliteration", "uncensored", "heretic", "decensored"}


class CardError(ValueError):
    """A card that cannot be read; `field` names the offending part."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Card:
    """The lineage a card claims for one model."""

    model_id: str
    revision: str = ""
    base_models: tuple[str, ...] = ()
    relation: str = ""
    tags: tuple[str, ...] = ()
    source: str = ""
    notes: tuple[str, ...] = field(default=())


def front_matter(text: str) -> dict[str, Any]:
    """The YAML front matter of a model card, or {} when it has none."""
    match = FRONT_MATTER.match(text)
    if not match:
        return {}
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise CardError("front_matter", f"not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CardError("front_matter", "must be a mapping")
    return data


def _relation(value: Any, bases: tuple[str, ...], tags: tuple[str, ...]) -> tuple[str, list[str]]:
    notes: list[str] = []
    if value in (None, ""):
        if not bases:
            return "", notes
        # The hub infers the relation when a card leaves it out; so do we, and say so.
        if ABLITERATION_TAGS & {t.lower() for t in tags}:
            notes.append("relation inferred from tags: abliteration")
            return "abliteration", notes
        if len(bases) > 1:
            notes.append("relation inferred: several bases, merge")
            return "merge", notes
        notes.append("relation not given: fine-tune assumed")
        return "fine_tune", notes
    relation = RELATIONS.get(str(value).strip().lower())
    if relation is None:
        raise CardError("base_model_relation", f"unknown relation {value!r}")
    return relation, notes


def card_from_metadata(metadata: dict[str, Any], *, model_id: str, source: str = "") -> Card:
    """A `Card` from parsed metadata; `model_id` is used when the metadata names none."""
    model_id = str(metadata.get("model_id") or metadata.get("id") or model_id).strip()
    if not REPO_ID.match(model_id):
        raise CardError("model_id", f"not a repository id ORG/NAME: {model_id!r}")
    raw = metadata.get("base_model")
    if raw is None:
        bases: tuple[str, ...] = ()
    elif isinstance(raw, str):
        bases = (raw.strip(),)
    elif isinstance(raw, list) and all(isinstance(b, str) for b in raw):
        bases = tuple(b.strip() for b in raw)
    else:
        raise CardError("base_model", "must be a repository id or a list of them")
    for base in bases:
        if not REPO_ID.match(base):
            raise CardError("base_model", f"not a repository id ORG/NAME: {base!r}")
    tags_raw = metadata.get("tags") or []
    tags = tuple(str(t) for t in tags_raw) if isinstance(tags_raw, list) else ()
    relation, notes = _relation(metadata.get("base_model_relation"), bases, tags)
    revision = str(metadata.get("revision") or "").strip()
    return Card(
        model_id=model_id,
        revision=revision,
        base_models=bases,
        relation=relation,
        tags=tags,
        source=source,
        notes=tuple(notes),
    )


def card_from_directory(model_dir: Path, *, model_id: str = "") -> Card:
    """The card of a local model directory (its README.md). Without a `model_id`, a Hugging Face
    cache snapshot names itself (models--ORG--NAME/snapshots/SHA); otherwise ORG/NAME is needed."""
    model_dir = Path(model_dir)
    readme = model_dir / "README.md"
    if not readme.is_file():
        raise CardError("README.md", f"no README.md in {model_dir}")
    if readme.stat().st_size > MAX_CARD_BYTES:
        raise CardError("README.md", "larger than 1 MiB")
    metadata = front_matter(readme.read_text(encoding="utf-8", errors="replace"))
    revision = ""
    resolved = model_dir.resolve()
    if not model_id and resolved.parent.name == "snapshots":
        repo = resolved.parent.parent.name
        if repo.startswith("models--"):
            model_id = repo.removeprefix("models--").replace("--", "/")
            revision = resolved.name
    card = card_from_metadata(metadata, model_id=model_id, source=str(readme))
    if revision and not card.revision:
        card = Card(**{**card.__dict__, "revision": revision})
    return card


def cards_from_file(path: Path) -> list[Card]:
    """Cards from a JSON or YAML list; each item holds `model_id` plus card metadata."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise CardError(path.name, f"not readable: {exc}") from None
    if isinstance(data, dict) and "cards" in data:
        data = data["cards"]
    if not isinstance(data, list):
        raise CardError(path.name, "must be a list of cards")
    cards = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise CardError(f"{index}", "each card must be a mapping")
        try:
            cards.append(card_from_metadata(item, model_id="", source=f"{path}#{index}"))
        except CardError as exc:
            raise CardError(f"{index}.{exc.field}", exc.reason) from None
    return cards
