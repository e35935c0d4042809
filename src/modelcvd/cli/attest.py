"""`modelcvd attest ...`: signed verification attestations (docs/attestations.md).

    modelcvd attest export RUN_ID -o FILE [--user NAME]
    modelcvd attest verify FILE [--model DIR] [--key FILE | --server URL]

`export` runs on the instance (it reads the database and signs with the instance key); `verify`
needs no database: the published key (a file, or the server's well-known URL) and the file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from modelcvd.cli.base import Command, Group, Output, read_text, user_named
from modelcvd.cli.errors import CliError, Exit
from modelcvd.vocabulary import LogEntryKind

ATTEST = Group("attest", "Signed verification attestations (in-toto, DSSE).")

KEYS_PATH = "/.well-known/modelcvd/log-keys.json"
ENTRY_PATH = "/api/v1/log/entry"


class Export(Command):
    group = ATTEST
    name = "export"
    help = "Write a finished run's signed attestation bundle to a file."
    description = (
        "Sign the run's in-toto Statement as a DSSE envelope with the instance key, append it to "
        "the transparency log (once), and write the bundle: the envelope, its log entry, an "
        "inclusion proof and the signed tree head, so `attest verify` works offline."
    )
    prints_data = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("run_id", type=int, help="the verification run's id")
        parser.add_argument(
            "-o", "--output", type=Path, required=True, help="the file to write (JSON)"
        )
        parser.add_argument(
            "--user",
            default="",
            help="export as this account (refused unless it may read the run); "
            "default: the operator",
        )

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.verification.models import VerificationRun
        from modelcvd.verification.selectors import run_get_visible
        from modelcvd.verification.services import attestation_export

        actor = user_named(args.user) if args.user else None
        if actor is not None:
            run = run_get_visible(actor=actor, run_id=args.run_id)
        else:
            found = VerificationRun.objects.filter(pk=args.run_id).first()
            if found is None:
                raise CliError(Exit.NOT_FOUND, f"no verification run #{args.run_id}")
            run = found
        bundle = attestation_export(actor=actor, run=run)
        try:
            args.output.write_text(
                json.dumps(bundle, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        except OSError as exc:
            raise CliError(Exit.USAGE, f"cannot write {args.output}: {exc.strerror}") from None
        index = bundle["log"]["index"]
        out.data(
            {"run": run.pk, "file": str(args.output), "log_index": index},
            f"attestation of run #{run.pk} written to {args.output} (log entry {index})",
        )


def _fetch(base: str, path: str, params: dict[str, Any] | None = None) -> Any:
    # The CLI is the operator's own client: it goes direct (a server's requests go through
    # core.egress).
    import httpx

    url = base.rstrip("/") + path
    try:
        response = httpx.get(url, params=params, timeout=30)
    except httpx.HTTPError as exc:
        raise CliError(Exit.FAILED, f"cannot reach {url}: {exc}") from None
    if response.status_code == 404 and path == ENTRY_PATH:
        raise CliError(Exit.FAILED, f"inclusion: {base} has no log entry for this attestation")
    if response.status_code != 200:
        raise CliError(Exit.FAILED, f"{url} answered {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise CliError(Exit.FAILED, f"{url} did not answer JSON") from None


def server_log_part(base: str, envelope: dict[str, Any]) -> dict[str, Any]:
    """The server's entry for this payload (found by its ref, so a bare envelope works too),
    with its inclusion proof in the server's latest signed tree head. The body checked is the
    one recomputed from the envelope, not the server's copy."""
    from modelcvd.verification.engine.attestation import log_body, log_ref

    query = {"kind": LogEntryKind.ATTESTATION.value, "ref": log_ref(envelope)}
    answer = _fetch(base, ENTRY_PATH, query)
    inclusion, head = answer.get("inclusion"), answer.get("tree_head")
    if not inclusion or not head:
        raise CliError(
            Exit.FAILED,
            "inclusion: the server has not signed a tree head that covers this entry yet",
            "retry after the instance signs its next tree head (on its beat schedule)",
        )
    return {
        "index": int(inclusion["index"]),
        "body": log_body(envelope),
        "inclusionProof": list(inclusion["path"]),
        "treeHead": head,
    }


class Verify(Command):
    group = ATTEST
    name = "verify"
    help = "Check an attestation's signature, log inclusion and subject digest."
    description = (
        "Check the DSSE signature against the instance's published key, the statement's "
        "inclusion in the transparency log (the bundle's proof offline, or a fresh proof from "
        "--server), and, with --model, the subject digest against the model directory "
        "(recomputed as `artifact digest` does). Exit 1 naming every check that failed."
    )
    prints_data = True
    takes_long = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="the bundle (or a bare DSSE envelope)")
        parser.add_argument(
            "--model", type=Path, help="the model directory whose digest must be the subject"
        )
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument(
            "--key",
            type=Path,
            help="the published keys: the instance's log-keys.json, or one PEM public key",
        )
        source.add_argument(
            "--server",
            help="the instance's base URL: its published keys and a fresh inclusion proof",
        )

    def run(self, args: argparse.Namespace, out: Output) -> int:
        from modelcvd.verification.attestation_check import attestation_check
        from modelcvd.verification.engine.attestation import (
            AttestationError,
            bundle_read,
            keys_file_load,
            keys_load,
        )

        try:
            data = json.loads(read_text(args.file, "attestation"))
        except json.JSONDecodeError as exc:
            raise CliError(Exit.USAGE, f"{args.file} is not JSON: {exc}") from None
        try:
            envelope, _ = bundle_read(data)
            log_part = None
            if args.server:
                keys = keys_load(_fetch(args.server, KEYS_PATH))
                log_part = server_log_part(args.server, envelope)
            else:
                keys = keys_file_load(args.key)
        except AttestationError as exc:
            raise CliError(Exit.USAGE, str(exc)) from None
        with out.progress("attest verify"):
            report = attestation_check(data, keys=keys, model_dir=args.model, log_part=log_part)
        result = report.to_dict()
        if report.failures:
            out.data(result, "\n".join(f"FAILED {f}" for f in report.failures))
            raise CliError(
                Exit.FAILED,
                "attestation not verified: " + "; ".join(report.failures),
                "do not trust this attestation",
            )
        out.data(result, "verified: " + ", ".join(report.passed))
        return 0


COMMANDS: list[type[Command]] = [Export, Verify]
