"""Writes on artifacts: registering a pinned model, and resolving the ones a report names."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from modelcvd.accounts.models import Organisation, User
from modelcvd.artifacts.access import may_register
from modelcvd.artifacts.cards import Card
from modelcvd.artifacts.digest import ModelManifest, huggingface_purl
from modelcvd.artifacts.models import Artifact
from modelcvd.core.announcements import ARTIFACT_VERSION, announce
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import FieldError, Forbidden, InvalidInput
from modelcvd.interop.advisory import GIT_COMMIT, SHA256_HEX
from modelcvd.reports.document import ArtifactRef


def artifact_create(
    *,
    actor: User | None,
    provider: str,
    name: str,
    revision: str = "",
    version_label: str = "",
    weights_digest: str = "",
    access: str = Artifact.Access.OPEN_WEIGHTS,
    vendor: Organisation | None = None,
    parent: Artifact | None = None,
    relation: str = "",
) -> Artifact:
    if not may_register(actor):
        raise Forbidden("only coordinators register artifacts")
    if Artifact.objects.filter(provider=provider, name=name, revision=revision).exists():
        raise InvalidInput(
            [FieldError("revision", "this provider, name and revision is already registered")]
        )
    if (parent is None) != (relation == ""):
        raise InvalidInput(
            [FieldError("relation", "a relation is required exactly when a parent is given")]
        )
    with transaction.atomic():
        artifact = Artifact.objects.create(
            provider=provider,
            name=name,
            revision=revision,
            version_label=version_label,
            weights_digest=weights_digest,
            access=access,
            vendor=vendor,
            parent=parent,
            relation=relation,
        )
        audit_record(actor=actor, action="artifact.create", obj=artifact)
    return artifact


def artifacts_resolve(
    *, refs: list[ArtifactRef], default_vendor: Organisation | None
) -> list[Artifact]:
    """The Artifact rows a report names, creating unknown ones. A digest that contradicts the
    one on record is an error, never an overwrite: reports are untrusted input."""
    resolved: list[Artifact] = []
    for index, ref in enumerate(refs):
        artifact = Artifact.objects.filter(
            provider=ref.provider, name=ref.name, revision=ref.revision
        ).first()
        if artifact is not None:
            if (
                ref.weights_digest
                and artifact.weights_digest
                and ref.weights_digest != artifact.weights_digest
            ):
                raise InvalidInput(
                    [
                        FieldError(
                            f"artifacts.{index}.weights_digest",
                            "does not match the digest on record for this revision",
                        )
                    ]
                )
        else:
            sibling = Artifact.objects.filter(
                provider=ref.provider, name=ref.name, vendor__isnull=False
            ).first()
            artifact = Artifact.objects.create(
                provider=ref.provider,
                name=ref.name,
                revision=ref.revision,
                version_label=ref.version_label,
                weights_digest=ref.weights_digest,
                vendor=sibling.vendor if sibling else default_vendor,
            )
        if artifact not in resolved:
            resolved.append(artifact)
    return resolved


def _coordinator(actor: User | None, what: str, artifact: Artifact | None = None) -> None:
    """None is the system (the CLI); an artifact, when given, must be one they coordinate."""
    if actor is None:
        return
    allowed = (
        Artifact.objects.allows(actor, artifact, "coordinate")
        if artifact is not None
        else may_register(actor)
    )
    if not allowed:
        raise Forbidden(f"only coordinators {what}")


def artifact_record_manifest(
    *,
    actor: User | None,
    artifact: Artifact,
    manifest: ModelManifest,
    purl: str = "",
    local_dir: str = "",
) -> Artifact:
    """Pin an artifact to the files measured on disk: manifest, combined digest, purl and the
    local copy forensics may read. A weights digest already on record must match."""
    _coordinator(actor, "record digests", artifact)
    if artifact.weights_digest and artifact.weights_digest != manifest.weights_digest:
        raise InvalidInput(
            [FieldError("weights_digest", "the files on disk do not match the digest on record")]
        )
    with transaction.atomic():
        artifact.weights_digest = manifest.weights_digest
        artifact.manifest_digest = manifest.digest
        artifact.manifest = manifest.to_dict()
        if purl:
            artifact.purl = purl
        if local_dir:
            artifact.local_dir = local_dir
        artifact.save(
            update_fields=["weights_digest", "manifest_digest", "manifest", "purl", "local_dir"]
        )
        audit_record(
            actor=actor,
            action="artifact.digest",
            obj=artifact,
            data={"manifest_digest": manifest.digest, "files": len(manifest.files)},
        )
    return artifact


def artifact_supersede(*, actor: User | None, artifact: Artifact, by: Artifact) -> Artifact:
    """Record that `by` is the version that replaces `artifact` (the fix for open weights)."""
    _coordinator(actor, "record new versions", artifact)
    if by.pk == artifact.pk:
        raise InvalidInput([FieldError("superseded_by", "an artifact cannot supersede itself")])
    with transaction.atomic():
        artifact.superseded_by = by
        artifact.save(update_fields=["superseded_by"])
        audit_record(actor=actor, action="artifact.supersede", obj=artifact, data={"by": by.pk})
        announce(ARTIFACT_VERSION, by.pk)  # regression watch (verification)
    return artifact


def artifact_fix_register(
    *,
    actor: User,
    fixes: Artifact,
    revision: str,
    version_label: str,
    weights_digest: str = "",
) -> Artifact:
    """The version that fixes `fixes`: the same model (provider and name) at another
    revision, found or registered, and recorded as superseding `fixes` unless something
    already does. Called by a case's fix step (cases.services.transitions), which has checked
    that `actor` may state the case's fix (its vendors and coordinators); a registered
    version takes the vendor and the access of the version it fixes. A version without a
    revision is named by its label, which then stands in the revision column (the unique key,
    as a hosted model's version string does)."""
    revision = revision.strip()
    version_label = version_label.strip()
    weights_digest = weights_digest.strip().lower().removeprefix("sha256:")
    key = revision or version_label
    errors = []
    if not key:
        errors.append(FieldError("fixed_version", "name the fixing version: a revision or label"))
    if len(revision) > 200:
        errors.append(FieldError("fixed_version.revision", "at most 200 characters"))
    if len(version_label) > 100:
        errors.append(FieldError("fixed_version.version_label", "at most 100 characters"))
    if weights_digest and not SHA256_HEX.match(weights_digest):
        errors.append(FieldError("fixed_version.weights_digest", "64 hexadecimal characters"))
    if key == fixes.revision:
        errors.append(
            FieldError("fixed_version", "this is the affected version itself, not a new one")
        )
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        fixed = Artifact.objects.filter(
            provider=fixes.provider, name=fixes.name, revision=key
        ).first()
        if fixed is None:
            purl = ""
            if fixes.purl.startswith("pkg:huggingface/") and GIT_COMMIT.match(revision):
                purl = huggingface_purl(f"{fixes.provider}/{fixes.name}", revision)
            fixed = Artifact.objects.create(
                provider=fixes.provider,
                name=fixes.name,
                revision=key,
                version_label=version_label,
                weights_digest=weights_digest,
                access=fixes.access,
                vendor=fixes.vendor,
                purl=purl,
            )
            audit_record(actor=actor, action="artifact.create", obj=fixed, data={"fixes": fixes.pk})
        elif weights_digest and fixed.weights_digest and fixed.weights_digest != weights_digest:
            raise InvalidInput(
                [
                    FieldError(
                        "fixed_version.weights_digest",
                        "does not match the digest on record for this version",
                    )
                ]
            )
        elif version_label and not fixed.version_label:
            # A known version gains the label it was named by; a label on record is kept.
            fixed.version_label = version_label
            fixed.save(update_fields=["version_label"])
            audit_record(
                actor=actor,
                action="artifact.label",
                obj=fixed,
                data={"version_label": version_label, "fixes": fixes.pk},
            )
        if fixes.superseded_by_id is None:
            fixes.superseded_by = fixed
            fixes.save(update_fields=["superseded_by"])
            audit_record(actor=actor, action="artifact.supersede", obj=fixes, data={"by": fixed.pk})
        # Regression watch (verification): past reproduced cases re-run on the new version.
        announce(ARTIFACT_VERSION, fixed.pk)
    return fixed


@dataclass
class CardImport:
    """What an import of model cards did."""

    created: list[Artifact] = field(default_factory=list)
    linked: list[Artifact] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _by_repo_id(repo_id: str, revision: str, result: CardImport) -> Artifact:
    provider, name = repo_id.split("/", 1)
    artifact = Artifact.objects.filter(provider=provider, name=name, revision=revision).first()
    if artifact is None and not revision:
        # A card names its base without a revision: any registered version of it will do,
        # the newest first.
        artifact = Artifact.objects.filter(provider=provider, name=name).order_by("-pk").first()
    if artifact is None:
        sibling = Artifact.objects.filter(provider=provider, vendor__isnull=False).first()
        artifact = Artifact.objects.create(
            provider=provider,
            name=name,
            revision=revision,
            purl=huggingface_purl(repo_id, revision),
            vendor=sibling.vendor if sibling else None,
        )
        result.created.append(artifact)
    return artifact


def cards_import(*, actor: User | None, cards: list[Card]) -> CardImport:
    """Register the models the cards describe and their bases, and link each to its first base
    with the card's relation. A parent already on record is never overwritten: a card is a
    claim (tools copy cards), so a conflict is reported instead."""
    _coordinator(actor, "import model cards")
    result = CardImport()
    with transaction.atomic():
        for card in cards:
            artifact = _by_repo_id(card.model_id, card.revision, result)
            result.notes.extend(f"{card.model_id}: {note}" for note in card.notes)
            if not card.base_models:
                continue
            base = _by_repo_id(card.base_models[0], "", result)
            if len(card.base_models) > 1:
                result.notes.append(
                    f"{card.model_id}: {len(card.base_models)} bases; the first "
                    f"({card.base_models[0]}) is recorded as parent"
                )
            if base.pk == artifact.pk or _is_ancestor(artifact, base):
                result.notes.append(f"{card.model_id}: base {base} would make a cycle; skipped")
                continue
            if artifact.parent_id is not None:
                if artifact.parent_id != base.pk:
                    result.notes.append(
                        f"{card.model_id}: card says base {base}, record says "
                        f"{artifact.parent}; kept the record"
                    )
                continue
            artifact.parent = base
            artifact.relation = card.relation
            artifact.lineage_source = Artifact.LineageSource.CARD
            artifact.save(update_fields=["parent", "relation", "lineage_source"])
            result.linked.append(artifact)
            audit_record(
                actor=actor,
                action="artifact.lineage",
                obj=artifact,
                data={"parent": base.pk, "relation": card.relation, "source": "card"},
            )
    return result


def _is_ancestor(candidate: Artifact, of: Artifact) -> bool:
    """Whether `candidate` is `of` or one of its ancestors."""
    current: Artifact | None = of
    for _ in range(100):
        if current is None:
            return False
        if current.pk == candidate.pk:
            return True
        current = current.parent
    return True


def artifact_forensics_link(
    *, actor: User, base: Artifact, derived: Artifact, report_id: int, verdict: str
) -> Artifact:
    """Forensic report `report_id` was filed: link `derived` to `base` (unless it has a parent
    already), as an abliteration or a fine-tune by the weights' verdict; audited either way."""
    with transaction.atomic():
        if derived.parent_id is None and derived.pk != base.pk:
            derived.parent = base
            derived.relation = (
                Artifact.Relation.ABLITERATION
                if verdict == "abliterated"
                else Artifact.Relation.FINE_TUNE
            )
            derived.lineage_source = Artifact.LineageSource.FORENSICS
            derived.save(update_fields=["parent", "relation", "lineage_source"])
        audit_record(
            actor=actor,
            action="artifact.forensic_report",
            obj=derived,
            data={"base": base.pk, "report": report_id, "verdict": verdict},
        )
    return derived


def artifact_forensics_request_record(
    *, actor: User, base: Artifact, derived: Artifact, program: str
) -> None:
    """A coordinator asked for a forensic comparison of stored weights (queued by the caller)."""
    audit_record(
        actor=actor,
        action="artifact.forensic_request",
        obj=derived,
        data={"base": base.pk, "program": program},
    )
