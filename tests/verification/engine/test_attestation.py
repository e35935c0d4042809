"""The attestation statement and its DSSE envelope, without a database: the in-toto bindings
accept the statement, securesystemslib verifies the envelope, and one flipped byte of the
signature or of the payload is refused."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from in_toto_attestation.v1.statement import STATEMENT_TYPE_URI

from modelcvd.verification.engine.attestation import (
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    AttestationError,
    RunFacts,
    bundle_read,
    envelope_sign,
    envelope_verify,
    key_id_of,
    log_body,
    statement_of,
)

SUMMARY: dict[str, Any] = {
    "trials": 40,
    "successes": 9,
    "rate": 0.225,
    "clopper_pearson": [0.11, 0.39],
    "confidence": 0.95,
    "target": {"name": "chat-7b", "revision": "a" * 40, "weights_digest": "b" * 64, "kind": ""},
    "judge": {"name": "refusal-keywords", "revision": "1", "weights_digest": "", "kind": "rule"},
    "pinned": None,
    "identity_mismatches": [],
    "replayable": False,
    "replay_note": "",
    "prompt_digest": "c" * 64,
    "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 128},
    "base_seed": 2**63 - 25,
    "p0": 0.05,
    "p_value": 0.0001,
    "alpha": 0.05,
    "verdict": "reproduced",
    "sequential": None,
    "elapsed_s": 1.5,
}


def facts(**artifact: str) -> RunFacts:
    return RunFacts(
        run_id=7,
        instance="https://cvd.example",
        finished_at="2026-12-06T19:00:00+00:00",
        judge_name="refusal",
        target_uri_kind="hf",
        artifact={"provider": "vendor-a", "name": "chat-7b", "manifest_digest": "d" * 64}
        | artifact,
        summary=SUMMARY,
    )


@pytest.fixture(scope="module")
def key() -> tuple[str, Ed25519PrivateKey]:
    private = Ed25519PrivateKey.generate()
    return key_id_of(private.public_key()), private


def test_the_statement_is_in_toto_v1_with_the_manifest_digest_as_subject() -> None:
    statement = statement_of(facts())
    assert statement["_type"] == STATEMENT_TYPE_URI
    assert statement["predicateType"] == PREDICATE_TYPE
    assert statement["subject"][0]["digest"] == {"sha256": "d" * 64}
    assert statement["subject"][0]["annotations"] == {"digestOf": "manifest"}
    predicate = statement["predicate"]
    assert (predicate["n"], predicate["successes"]) == (40, 9)
    assert predicate["seeds"]["base"] == str(2**63 - 25)  # exact, as a string
    assert predicate["interval"]["method"] == "clopper-pearson"
    assert (predicate["interval"]["lower"], predicate["interval"]["upper"]) == (0.11, 0.39)
    assert predicate["spec"] == {"digest": {"hmac-sha256": "c" * 64}, "keyed": True}
    assert predicate["judge"]["name"] == "refusal"
    assert predicate["sampling"] == {"temperature": 0.7, "topP": 0.95, "maxTokens": 128}
    assert predicate["verdict"] == "reproduced"


def test_without_a_manifest_the_weights_digest_is_the_subject_and_without_either_none() -> None:
    statement = statement_of(facts(manifest_digest="", weights_digest="e" * 64))
    assert statement["subject"][0]["digest"] == {"sha256": "e" * 64}
    assert statement["subject"][0]["annotations"] == {"digestOf": "weights"}
    with pytest.raises(AttestationError, match="no recorded digest"):
        statement_of(facts(manifest_digest=""))


def test_the_envelope_verifies_and_keeps_integers(key: tuple[str, Ed25519PrivateKey]) -> None:
    key_id, private = key
    envelope = envelope_sign(statement_of(facts()), key_id=key_id, private_key=private)
    assert envelope["payloadType"] == PAYLOAD_TYPE
    assert envelope["signatures"][0]["keyid"] == key_id
    statement = envelope_verify(envelope, {key_id: private.public_key()})
    assert statement["predicate"]["n"] == 40 and isinstance(statement["predicate"]["n"], int)
    assert bundle_read(envelope) == (envelope, None)
    assert (
        log_body(envelope)["payload_sha256"]
        != log_body(
            envelope_sign(
                statement_of(facts(manifest_digest="f" * 64)), key_id=key_id, private_key=private
            )
        )["payload_sha256"]
    )


def _flip(text: str, at: int) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[at] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_a_flipped_byte_of_signature_or_payload_or_another_key_is_refused(
    key: tuple[str, Ed25519PrivateKey],
) -> None:
    key_id, private = key
    keys = {key_id: private.public_key()}
    envelope = envelope_sign(statement_of(facts()), key_id=key_id, private_key=private)

    bad_signature = json.loads(json.dumps(envelope))
    bad_signature["signatures"][0]["sig"] = _flip(envelope["signatures"][0]["sig"], 10)
    with pytest.raises(AttestationError, match="signature"):
        envelope_verify(bad_signature, keys)

    payload = base64.b64decode(envelope["payload"])
    at = payload.index(b'"successes":9') + len('"successes":')
    bad_payload = dict(envelope, payload=_flip(envelope["payload"], at))  # 9 -> 8
    with pytest.raises(AttestationError, match="signature"):
        envelope_verify(bad_payload, keys)

    other = Ed25519PrivateKey.generate()
    with pytest.raises(AttestationError, match="signature"):
        envelope_verify(envelope, {key_id: other.public_key()})
    with pytest.raises(AttestationError, match="DSSE"):
        envelope_verify({"payload": "x"}, keys)
