"""Demo lineage for `modelcvd demo`: a small family tree under the demo vendor's open model.

acme-chat-7b (open weights, cannot be patched) is superseded by acme-chat-7b v1.1, its fix.
Below it: a community fine-tune and its quantization (from model cards), and an abliterated
copy of the fine-tune found by weight forensics. Idempotent.
"""

from __future__ import annotations

from modelcvd.artifacts.digest import huggingface_purl
from modelcvd.artifacts.models import Artifact
from modelcvd.policy.models import Program

# The revision of acme-chat-7b v1.1, the version that fixes the demo's case.
FIXED_REVISION = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"
# suffix of the name ("" = the base's own name), revision, parent suffix, relation, source, label
TREE = [
    ("", FIXED_REVISION, "", "fine_tune", "registered", "v1.1"),
    ("-sql", "1111111111111111111111111111111111111111", "", "fine_tune", "card", ""),
    (
        "-sql-GGUF",
        "2222222222222222222222222222222222222222",
        "-sql",
        "quantization",
        "card",
        "Q4_K_M",
    ),
    (
        "-sql-abliterated",
        "3333333333333333333333333333333333333333",
        "-sql",
        "abliteration",
        "forensics",
        "",
    ),
]


def seed_lineage(*, base: Artifact, program: Program) -> int:
    """Create the demo tree below `base`; returns the number of objects created."""
    created = 0
    by_suffix = {"": base}
    fix = base
    if not base.purl:
        base.purl = huggingface_purl(f"{base.provider}/{base.name}", base.revision)
        base.save(update_fields=["purl"])
    for suffix, revision, parent_suffix, relation, source, label in TREE:
        # The fix is a new revision of the base itself (same name); the rest are community copies.
        parent = by_suffix[parent_suffix]
        name = base.name + suffix
        provider = base.provider if not suffix else "community"
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
        if suffix:
            by_suffix[suffix] = artifact
        else:
            fix = artifact
        program.scope.add(artifact)
    if base.superseded_by_id != fix.pk:
        base.superseded_by = fix
        base.save(update_fields=["superseded_by"])
    return created
