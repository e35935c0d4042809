"""Signed verification attestations: an in-toto Statement v1 about one finished run, signed as
a DSSE envelope, and the offline bundle that proves it was appended to the transparency log.
Pure: no Django; the CLI's `attest verify` runs on a machine without a database.

- The Statement is built and checked with the in-toto attestation framework's Python bindings
  (`in_toto_attestation.v1`). Its subject is the model artifact's manifest digest (the digest of
  `modelcvd artifact digest`, which is OpenSSF model-signing's subject digest for the same
  files), or, for an artifact whose manifest was never recorded, its weights digest (the
  subject's `annotations.digestOf` says which).
- The payload is the Statement as canonical JSON (sorted keys, no spaces): protobuf's Struct
  would turn every integer into a float (n=100 into 100.0, a 63-bit seed into a rounded
  double), so the bytes are written from the same dict the bindings validated, and seeds are
  strings.
- The envelope is securesystemslib's `dsse.Envelope`, signed by a `CryptoSigner` over the
  instance's Ed25519 key (key id as the transparency log publishes it); PAE and the envelope's
  JSON are that library's.
- The bundle (`BUNDLE_MEDIA_TYPE`) carries the envelope, the log entry's body and index, an
  inclusion proof and the signed tree head it was computed against: everything `attest verify`
  needs offline except the published key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import STATEMENT_TYPE_URI, Statement
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, Key, SSlibKey

PREDICATE_TYPE = "https://modelcvd.dev/attestation/verification/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
BUNDLE_MEDIA_TYPE = "application/vnd.modelcvd.attestation-bundle+json;version=1"
SEED_DERIVATION = (
    "seed(i) = int.from_bytes(sha256(f'modelcvd-trial:{base}:{i}')[:8], 'big') & (2**63 - 1), "
    "for trial indices i = 0 .. n-1"
)


class AttestationError(ValueError):
    """An attestation that cannot be built, read or verified; the message names what failed."""


def canonical_json(value: Any) -> bytes:
    """The bytes that are signed and logged: sorted keys, no spaces, UTF-8 (the transparency
    log's canonical body encoding)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class RunFacts:
    """What the predicate states about one finished run: the run's summary (RunSummary.to_dict)
    and the registered artifact it ran against."""

    run_id: int
    instance: str
    finished_at: str
    judge_name: str
    target_uri_kind: str
    artifact: dict[str, str]
    summary: dict[str, Any]
    subject_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def subject_digest(self) -> tuple[str, str]:
        """(digest, what it is a digest of): the manifest digest when recorded, else weights."""
        if self.artifact.get("manifest_digest"):
            return self.artifact["manifest_digest"], "manifest"
        if self.artifact.get("weights_digest"):
            return self.artifact["weights_digest"], "weights"
        raise AttestationError(
            "the artifact has no recorded digest: record one with "
            "`modelcvd artifact digest DIR --artifact ID` before attesting its runs"
        )


def predicate_of(facts: RunFacts) -> dict[str, Any]:
    """The modelcvd verification predicate (docs/attestations.md lists every field)."""
    s = facts.summary
    n = int(s["trials"])
    base_seed = int(s.get("base_seed", 0))
    sampling = s.get("sampling") or {}
    return {
        "run": {"id": facts.run_id, "instance": facts.instance, "finishedAt": facts.finished_at},
        "target": {
            "artifact": facts.artifact,
            "measured": s.get("target") or {},
            "pinned": s.get("pinned"),
            "identityMismatches": list(s.get("identity_mismatches") or []),
            "kind": facts.target_uri_kind,
            "replayable": bool(s.get("replayable", False)),
        },
        # Keyed (HMAC-SHA256 under the instance's digest key): it identifies the conversation
        # replayed without letting a reader confirm a guessed one.
        "spec": {"digest": {"hmac-sha256": s.get("prompt_digest", "")}, "keyed": True},
        "judge": {"name": facts.judge_name, "identity": s.get("judge") or {}},
        "sampling": {
            "temperature": float(sampling.get("temperature", 1.0)),
            "topP": float(sampling.get("top_p", 1.0)),
            "maxTokens": int(sampling.get("max_tokens", 256)),
        },
        # Strings: a 63-bit seed does not survive a JSON reader that parses numbers as doubles.
        "seeds": {"base": str(base_seed), "derivation": SEED_DERIVATION, "count": n},
        "n": n,
        "successes": int(s["successes"]),
        # Exact (Clopper-Pearson), as every interval people read: Wilson undercovers at small n.
        "interval": {
            "method": "clopper-pearson",
            "confidence": float(s.get("confidence", 0.95)),
            "lower": float(s["clopper_pearson"][0]),
            "upper": float(s["clopper_pearson"][1]),
        },
        "test": {
            "p0": float(s.get("p0", 0.05)),
            "pValue": float(s.get("p_value", 1.0)),
            "alpha": float(s.get("alpha", 0.05)),
        },
        "sequential": s.get("sequential"),
        "verdict": str(s.get("verdict", "")),
        **facts.extra,
    }


def statement_of(facts: RunFacts) -> dict[str, Any]:
    """The in-toto Statement v1 as a dict, validated by the framework's bindings."""
    digest, digest_of = facts.subject_digest()
    subject = {
        "name": facts.subject_name or facts.artifact.get("name", "model"),
        "digest": {"sha256": digest},
        "annotations": {"digestOf": digest_of},
    }
    statement = {
        "_type": STATEMENT_TYPE_URI,
        "subject": [subject],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate_of(facts),
    }
    statement_validate(statement)
    return statement


def statement_validate(statement: dict[str, Any]) -> None:
    """Check a statement dict with in_toto_attestation (type, subjects with digests, predicate)."""
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE_URI:
        raise AttestationError(f"the payload is not an in-toto Statement ({STATEMENT_TYPE_URI})")
    try:
        subjects = [
            ResourceDescriptor(
                name=str(item.get("name", "")),
                digest=dict(item.get("digest") or {}),
                annotations=dict(item.get("annotations") or {}),
            ).pb
            for item in statement.get("subject") or []
        ]
        Statement(
            subjects,
            str(statement.get("predicateType", "")),
            dict(statement.get("predicate") or {}),
        ).validate()
    except (ValueError, TypeError, AttributeError) as exc:
        raise AttestationError(f"the statement is invalid: {exc}") from exc
    if statement["predicateType"] != PREDICATE_TYPE:
        raise AttestationError(f"the predicate type is not {PREDICATE_TYPE}")


def signer_for(key_id: str, private_key: Ed25519PrivateKey) -> CryptoSigner:
    """securesystemslib's signer over the instance key, under the log's key id."""
    public = SSlibKey.from_crypto(private_key.public_key(), keyid=key_id)
    return CryptoSigner(private_key, public)


def envelope_sign(
    statement: dict[str, Any], *, key_id: str, private_key: Ed25519PrivateKey
) -> dict[str, Any]:
    """The statement signed as a DSSE envelope (its JSON form)."""
    envelope = Envelope(canonical_json(statement), PAYLOAD_TYPE, {})
    envelope.sign(signer_for(key_id, private_key))
    return envelope.to_dict()


def payload_sha256(envelope: dict[str, Any]) -> str:
    """sha256 of the envelope's payload bytes: what the log entry commits to."""
    return hashlib.sha256(_envelope(envelope).payload).hexdigest()


def log_ref(envelope: dict[str, Any]) -> str:
    """The log entry's ref: the payload digest, so the entry is found from the envelope alone."""
    return f"sha256:{payload_sha256(envelope)}"


def log_body(envelope: dict[str, Any]) -> dict[str, Any]:
    """The log entry's body. The log is public: it holds the payload's digest only, never the
    predicate (a defender-level document)."""
    return {
        "kind": "verification-attestation",
        "predicate_type": PREDICATE_TYPE,
        "payload_type": PAYLOAD_TYPE,
        "payload_sha256": payload_sha256(envelope),
    }


# --- reading and verifying -------------------------------------------------------------------


def _envelope(data: dict[str, Any]) -> Envelope:
    try:
        # from_dict rewrites the signatures it reads: give it a copy.
        return Envelope.from_dict(json.loads(json.dumps(data)))
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise AttestationError(f"not a DSSE envelope: {exc}") from exc


def public_key_from_b64(value: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(value, validate=True))
    except (ValueError, binascii.Error) as exc:
        raise AttestationError(f"not an Ed25519 public key: {exc}") from exc


def keys_load(data: Any) -> dict[str, Ed25519PublicKey]:
    """Published keys by key id, from the log's keys document (`{"keys": [...]}` or a list of
    `{key_id, public_key_b64}`)."""
    items = data.get("keys", []) if isinstance(data, dict) else data
    keys: dict[str, Ed25519PublicKey] = {}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        key_id = str(item.get("key_id") or item.get("keyid") or "")
        value = item.get("public_key_b64") or item.get("public_key") or ""
        if key_id and value:
            keys[key_id] = public_key_from_b64(str(value))
    if not keys:
        raise AttestationError("the key file holds no published Ed25519 key")
    return keys


def keys_file_load(path: Path) -> dict[str, Ed25519PublicKey]:
    """`--key FILE`: the keys document (JSON) or one PEM public key (its id derived the way the
    log derives it)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AttestationError(f"cannot read the key file {path}: {exc.strerror}") from exc
    if raw.lstrip().startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(raw)
        except ValueError as exc:
            raise AttestationError(f"{path}: not a PEM public key") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise AttestationError(f"{path}: not an Ed25519 public key")
        return {key_id_of(key): key}
    try:
        return keys_load(json.loads(raw))
    except json.JSONDecodeError as exc:
        raise AttestationError(f"{path}: neither JSON nor a PEM public key") from exc


def key_id_of(key: Ed25519PublicKey) -> str:
    """The log's key id: "ed25519:" + the first 16 hex of sha256 of the raw public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def envelope_verify(envelope: dict[str, Any], keys: dict[str, Ed25519PublicKey]) -> dict[str, Any]:
    """Check the DSSE signature with securesystemslib against the published keys; return the
    validated statement."""
    parsed = _envelope(envelope)
    if parsed.payload_type != PAYLOAD_TYPE:
        raise AttestationError(f"the envelope's payload type is not {PAYLOAD_TYPE}")
    candidates: list[Key] = [
        SSlibKey.from_crypto(key, keyid=key_id) for key_id, key in keys.items()
    ]
    try:
        parsed.verify(candidates, 1)
    except Exception as exc:  # securesystemslib raises VerificationError and friends
        raise AttestationError(
            f"signature: the envelope is not signed by a published key ({exc})"
        ) from exc
    try:
        statement = json.loads(parsed.payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AttestationError("payload: not JSON") from exc
    statement_validate(statement)
    return statement


def bundle_of(
    envelope: dict[str, Any],
    *,
    index: int,
    body: dict[str, Any],
    proof: list[str],
    head: dict[str, Any],
) -> dict[str, Any]:
    return {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "dsseEnvelope": envelope,
        "log": {"index": index, "body": body, "inclusionProof": proof, "treeHead": head},
    }


def bundle_read(data: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(envelope, log part or None) from a bundle or a bare DSSE envelope."""
    if not isinstance(data, dict):
        raise AttestationError("not an attestation bundle or DSSE envelope")
    if data.get("mediaType") == BUNDLE_MEDIA_TYPE:
        envelope, log = data.get("dsseEnvelope"), data.get("log")
        if not isinstance(envelope, dict):
            raise AttestationError("the bundle has no dsseEnvelope")
        return envelope, log if isinstance(log, dict) else None
    if "payload" in data and "signatures" in data:
        return data, None
    raise AttestationError("not an attestation bundle or DSSE envelope")
