"""Demo lineage for `modelcvd demo`: a small family tree under the demo vendor's open model.

acme-chat-7b (open weights, cannot be patched) is superseded by acme-chat-7b v1.1, its fix.
Below it: a community fine-tune and its quantization (from model cards), and an abliterated
copy of the fine-tune found by weight forensics. Idempotent.
"""

from __future__ import annotations

from modelcvd.artifacts.digest import huggingface_purl
from modelcvd.artifacts.models import Artifact
from modelcvd.policy.models import Program

TREE = [
    # name, revision, parent name, relation, lineage source, version label
    (
        "acme-chat-7b",
        "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b",
        "acme-chat-7b",
        "fine_tune",
        "registered",
        "v1.1 (fix)",
    ),
    (
        "acme-chat-7b-sql",
        "1111111111111111111111111111111111111111",
        "acme-chat-7b",
        "fine_tune",
        "card",
        "",
    ),
    (
        "acme-chat-7b-sql-GGUF",
        "2222222222222222222222222222222222222222",
        "acme-chat-7b-sql",
        "quantization",
        "card",
        "Q4_K_M",
    ),
    (
        "acme-chat-7b-sql-abliterated",
        "3333333333333333333333333333333333333333",
        "acme-chat-7b-sql",
        "abliteration",
        "forensics",
        "",
    ),
]


def seed_demo(*, base: Artifact, program: Program) -> int:
    """Create the demo tree below `base`; returns the number of objects created."""
    created = 0
    by_name = {base.name: base}
    if not base.purl:
        base.purl = huggingface_purl(f"{base.provider}/{base.name}", base.revision)
        base.save(update_fields=["purl"])
    for name, revision, parent_name, relation, source, label in TREE:
        # The fix is a new revision of the base itself; look it up by revision.
        parent = base if parent_name == base.name else by_name[parent_name]
        provider = base.provider if name == base.name else "community"
        artifact, made = Artifact.objects.get_or_create(
            provider=provider,
            name=name,
            revision=revision,
            defaults={
                "parent": parent,
                "relation": relation,
                "lineage_source": source,
                "version_label": label,
                "vendor": base.vendor if provider == base.provider else None,
                "purl": huggingface_purl(f"{provider}/{name}", revision),
            },
        )
        created += made
        if name != base.name:
            by_name[name] = artifact
        else:
            fix = artifact
        program.scope.add(artifact)
    if base.superseded_by_id != fix.pk:
        base.superseded_by = fix
        base.save(update_fields=["superseded_by"])
    return created
