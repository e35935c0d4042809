"""`modelcvd audit verify`: check the audit log's hash chain."""

from __future__ import annotations

import argparse

from modelcvd.cli.base import Command, Group, Output
from modelcvd.cli.errors import CliError, Exit

AUDIT = Group("audit", "Audit log commands.")


class AuditVerify(Command):
    group = AUDIT
    name = "verify"
    help = "Check the whole hash chain."
    description = "Check the whole hash chain; exit 1 and name the first broken link if any."
    prints_data = True
    uses_database = True

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.core.audit import audit_verify

        verdict = audit_verify()
        if not verdict.ok:
            raise CliError(
                Exit.FAILED,
                f"audit chain broken at event #{verdict.broken_seq}: {verdict.problem}",
                "treat it as tampering and compare with the last backup",
            )
        out.data(
            {"ok": True, "checked": verdict.checked},
            f"audit chain intact: {verdict.checked} events",
        )


COMMANDS: list[type[Command]] = [AuditVerify]
