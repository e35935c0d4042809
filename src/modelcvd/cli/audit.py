"""`modelcvd audit verify` (the audit chain's keyed links and its checkpoints), `modelcvd audit
checkpoint` and `modelcvd audit rotate-key`."""

from __future__ import annotations

import argparse

from modelcvd.cli.base import Command, Group, Output
from modelcvd.cli.errors import CliError, Exit

AUDIT = Group("audit", "Audit log commands.")


class AuditVerify(Command):
    group = AUDIT
    name = "verify"
    help = "Check the keyed chain against its checkpoints in the log and the witness file."
    description = (
        "Check every keyed link of the audit chain, then compare the chain with the latest "
        "checkpoint in the transparency log and with the witness file outside the database "
        "(MODELCVD_AUDIT_WITNESS_FILE). Exit 1 and say what diverged: an edited event, a "
        "rewrite with recomputed links, a deleted tail, an older database restored."
    )
    prints_data = True
    uses_database = True

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.anchoring.witness import audit_anchor_verify

        verdict = audit_anchor_verify()
        for warning in verdict.warnings:
            out.note(f"warning: {warning}")
        if not verdict.ok:
            raise CliError(
                Exit.FAILED,
                "audit chain diverged: " + "; ".join(verdict.problems),
                "treat it as tampering and compare with the last backup",
            )
        anchored = [
            f"log checkpoint #{verdict.log_checkpoint} (event #{verdict.log_last_seq})"
            if verdict.log_checkpoint is not None
            else "",
            f"witness (event #{verdict.witness_last_seq})"
            if verdict.witness_last_seq is not None
            else "",
        ]
        out.data(
            {
                "ok": True,
                "checked": verdict.checked,
                "log_checkpoint": verdict.log_checkpoint,
                "log_last_seq": verdict.log_last_seq,
                "witness_last_seq": verdict.witness_last_seq,
                "warnings": verdict.warnings,
            },
            f"audit chain intact: {verdict.checked} events"
            + (f"; matches {' and '.join(a for a in anchored if a)}" if any(anchored) else ""),
        )


class AuditCheckpoint(Command):
    group = AUDIT
    name = "checkpoint"
    help = "Anchor the audit chain's head in the transparency log and the witness file now."
    description = (
        "Verify the chain since the last checkpoint, append its head to the transparency log, "
        "sign a tree head and write both to the witness file (Celery beat does this every "
        "MODELCVD_AUDIT_CHECKPOINT_SECONDS, and `modelcvd backup` before each backup). Refused "
        "(exit 1) when the chain diverges from the log or the witness. After restoring an "
        "older backup on purpose, pass --reset-witness with a reason: the old witness is kept "
        "beside the new one and the reset is an audit event."
    )
    prints_data = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--reset-witness",
            action="store_true",
            help="accept the database as it is now (after restoring an older backup on purpose)",
        )
        parser.add_argument(
            "--reason", default="", help="why the witness is reset (required with --reset-witness)"
        )

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.anchoring.services import audit_checkpoint, audit_witness_reset
        from modelcvd.anchoring.witness import AnchorDiverged

        try:
            if args.reset_witness:
                audit_witness_reset(reason=args.reason)
            done = audit_checkpoint()
        except AnchorDiverged as exc:
            raise CliError(
                Exit.FAILED,
                "checkpoint refused, the audit chain diverged: " + "; ".join(exc.problems),
                "run `modelcvd audit verify`; after restoring an older backup on purpose, "
                "pass --reset-witness --reason",
            ) from None
        out.data(
            {
                "events": done.events,
                "last_seq": done.last_seq,
                "head": done.head,
                "log_index": done.log_index,
                "tree_size": done.tree_size,
                "root_hash": done.root_hash,
            },
            f"audit chain checkpointed: event #{done.last_seq} in log entry #{done.log_index} "
            f"(tree size {done.tree_size})",
        )


class AuditRotateKey(Command):
    group = AUDIT
    name = "rotate-key"
    help = "Link new audit events with a new HMAC key; old keys stay to verify old links."
    description = (
        "Add a new audit key to the audit key file and make it active: every later event is "
        "linked with it. Nothing is rewritten, and the old keys stay in the file, so the whole "
        "chain still verifies. Refused when the keys come from MODELCVD_AUDIT_KEY (put the new "
        "key first in that list instead)."
    )
    prints_data = True
    uses_database = True

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from django.core.exceptions import ImproperlyConfigured

        from modelcvd.core.services import audit_key_rotate

        try:
            active = audit_key_rotate()
        except ImproperlyConfigured as exc:
            raise CliError(Exit.REFUSED, str(exc)) from None
        out.data({"active": active}, f"audit key {active} is active; old keys kept")


COMMANDS: list[type[Command]] = [AuditVerify, AuditCheckpoint, AuditRotateKey]
