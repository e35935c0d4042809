"""Signed verification attestations (docs/attestations.md): a finished run as an in-toto
Statement in a DSSE envelope signed with the instance key, appended to the transparency log.

When: `run_finish` issues it as the run finishes (in the same transaction, so a finished run
with a recorded artifact digest is in the log from that moment), and `attestation_export`
issues it again when it is downloaded. Issuing is idempotent: the statement is a function of
the stored run, Ed25519 signatures are deterministic, and the log returns the existing entry
for an identical (kind, ref, body). A run whose artifact had no digest when it finished is
appended on its first export after the digest is recorded; after a key rotation an export is
signed with the current key (the log entry, which commits to the payload, stays the same).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from modelcvd.accounts.models import User
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import FieldError, InvalidInput
from modelcvd.transparency.models import LogEntry
from modelcvd.transparency.selectors import inclusion_proof
from modelcvd.transparency.services import log_append, tree_head_sign
from modelcvd.transparency.signing import instance_signing_key
from modelcvd.verification.engine.attestation import (
    AttestationError,
    RunFacts,
    bundle_of,
    envelope_sign,
    log_body,
    log_ref,
    statement_of,
)
from modelcvd.verification.models import VerificationRun
from modelcvd.vocabulary import LogEntryKind


@dataclass(frozen=True)
class IssuedAttestation:
    """A run's signed envelope and its log entry."""

    envelope: dict[str, Any]
    entry: LogEntry


def attestation_facts(run: VerificationRun) -> RunFacts:
    """What the predicate states, read from the stored run and its artifact."""
    if run.state != VerificationRun.State.FINISHED or not run.summary:
        raise InvalidInput([FieldError("run_id", "only a finished run has an attestation")])
    artifact = run.artifact
    return RunFacts(
        run_id=run.pk,
        instance=settings.BASE_URL,
        finished_at=run.finished_at.isoformat() if run.finished_at else "",
        judge_name=run.judge,
        # Only the kind: a local path or an internal endpoint URL says nothing to a verifier.
        target_uri_kind=run.target_uri.partition(":")[0],
        artifact={
            "provider": artifact.provider,
            "name": artifact.name,
            "revision": artifact.revision,
            "purl": artifact.purl,
            "weights_digest": artifact.weights_digest,
            "manifest_digest": artifact.manifest_digest,
        },
        summary=run.summary,
        subject_name=artifact.purl or f"{artifact.provider}/{artifact.name}",
    )


def attestation_issue(*, run: VerificationRun) -> IssuedAttestation:
    """Sign the run's statement and append it to the log (idempotent)."""
    try:
        statement = statement_of(attestation_facts(run))
    except AttestationError as exc:
        raise InvalidInput([FieldError("run_id", str(exc))]) from exc
    key_id, private_key = instance_signing_key()
    envelope = envelope_sign(statement, key_id=key_id, private_key=private_key)
    entry = log_append(
        kind=LogEntryKind.ATTESTATION, ref=log_ref(envelope), body=log_body(envelope)
    )
    return IssuedAttestation(envelope=envelope, entry=entry)


def attestation_on_finish(*, run: VerificationRun) -> IssuedAttestation | None:
    """Called as a run finishes: issue it when the artifact has a digest to name, else leave it
    to the first export (see the module docstring)."""
    if not (run.artifact.manifest_digest or run.artifact.weights_digest):
        return None
    return attestation_issue(run=run)


def attestation_export(*, actor: User | None, run: VerificationRun) -> dict[str, Any]:
    """The run's attestation bundle: the DSSE envelope, its log entry, an inclusion proof and the
    signed tree head it verifies against (audited: who downloaded which run's). The caller has
    checked that `actor` may read the run (`run_get_visible`, or the advisory's defender
    level)."""
    with transaction.atomic():
        issued = attestation_issue(run=run)
        head = tree_head_sign()
        audit_record(
            actor=actor,
            action="verification.attestation_export",
            obj=run,
            data={"log_index": issued.entry.index, "tree_size": head.size},
        )
    proof = inclusion_proof(index=issued.entry.index, size=head.size)
    return bundle_of(
        issued.envelope,
        index=issued.entry.index,
        body=log_body(issued.envelope),
        proof=list(proof.path),
        head=dict(head.as_dict()),
    )
