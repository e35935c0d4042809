"""`modelcvd attest verify`: the three checks of an exported attestation, without a database.

1. signature: the DSSE envelope verifies with a key the instance publishes;
2. inclusion: the payload's log entry is in the transparency log, under a tree head signed by a
   published key (the proof from the bundle, offline, or fetched from the server);
3. subject: the model directory's digest, recomputed by `modelcvd.artifacts.digest` (the code of
   `modelcvd artifact digest`), is the statement's subject digest.

No Django here (the CLI runs on machines without one); it uses the pure Merkle maths of
`modelcvd.transparency.merkle` and the pure digest of `modelcvd.artifacts.digest`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from modelcvd.artifacts.digest import DigestError, model_manifest
from modelcvd.transparency import merkle
from modelcvd.transparency.treehead import tree_head_signature_valid
from modelcvd.verification.engine.attestation import (
    AttestationError,
    bundle_read,
    canonical_json,
    envelope_verify,
    log_body,
)


def inclusion_verify(
    envelope: dict[str, Any],
    *,
    index: int,
    body: dict[str, Any],
    proof: list[str],
    head: dict[str, Any],
    keys: dict[str, Ed25519PublicKey],
) -> None:
    """The envelope's payload is the entry at `index` of the log whose signed head is `head`."""
    if body != log_body(envelope):
        raise AttestationError("inclusion: the log entry's body does not commit to this payload")
    key = keys.get(str(head.get("key_id", "")))
    if key is None:
        raise AttestationError(f"tree head: signed by an unknown key {head.get('key_id')!r}")
    if not tree_head_signature_valid(head, key):
        raise AttestationError("tree head: the signature does not verify with the published key")
    try:
        ok = merkle.verify_inclusion(
            merkle.leaf_hash(canonical_json(body)),
            int(index),
            int(head["size"]),
            [bytes.fromhex(p) for p in proof],
            bytes.fromhex(str(head["root_hash"])),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise AttestationError(f"inclusion: malformed proof ({exc})") from exc
    if not ok:
        raise AttestationError(
            f"inclusion: entry {index} is not in the log's tree of size {head.get('size')}"
        )


def subject_verify(statement: dict[str, Any], model_dir: Path) -> str:
    """Recompute the model directory's digest and compare it with the subject's."""
    subject = statement["subject"][0]
    expected = str(subject.get("digest", {}).get("sha256", ""))
    digest_of = str((subject.get("annotations") or {}).get("digestOf", "manifest"))
    try:
        manifest = model_manifest(model_dir)
    except DigestError as exc:
        raise AttestationError(f"subject: {exc}") from exc
    actual = manifest.weights_digest if digest_of == "weights" else manifest.digest
    if actual != expected:
        raise AttestationError(
            f"subject: the {digest_of} digest of {model_dir} is sha256:{actual}, "
            f"the attestation names sha256:{expected}"
        )
    return actual


@dataclass
class CheckReport:
    """What `attest verify` established; `failures` empty means every check passed."""

    passed: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    statement: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        subject = (self.statement or {}).get("subject") or [{}]
        predicate = (self.statement or {}).get("predicate") or {}
        return {
            "ok": not self.failures,
            "passed": self.passed,
            "failures": self.failures,
            "subject": subject[0],
            "run": predicate.get("run"),
            "verdict": predicate.get("verdict"),
        }


def attestation_check(
    data: Any,
    *,
    keys: dict[str, Ed25519PublicKey],
    model_dir: Path | None = None,
    log_part: dict[str, Any] | None = None,
) -> CheckReport:
    """Run every check on a bundle (or bare envelope); `log_part` (index, body, inclusionProof,
    treeHead), when given, replaces the bundle's own (a proof fetched from the server)."""
    report = CheckReport()
    envelope, bundled_log = bundle_read(data)
    try:
        report.statement = envelope_verify(envelope, keys)
        report.passed.append("signature")
    except AttestationError as exc:
        report.failures.append(str(exc))
    log = log_part or bundled_log
    if log is None:
        report.failures.append(
            "inclusion: no inclusion proof (a bare envelope: pass --server URL to fetch one)"
        )
    else:
        try:
            inclusion_verify(
                envelope,
                index=int(log["index"]),
                body=log["body"],
                proof=list(log["inclusionProof"]),
                head=log["treeHead"],
                keys=keys,
            )
            report.passed.append("inclusion")
        except (AttestationError, KeyError, TypeError, ValueError) as exc:
            report.failures.append(
                str(exc) if isinstance(exc, AttestationError) else f"inclusion: malformed ({exc})"
            )
    if model_dir is not None:
        if report.statement is None:
            report.failures.append("subject: not checked (the payload is not trusted)")
        else:
            try:
                subject_verify(report.statement, model_dir)
                report.passed.append("subject")
            except AttestationError as exc:
                report.failures.append(str(exc))
    return report
