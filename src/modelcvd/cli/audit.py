"""`modelcvd audit verify` (check the audit chain's keyed links and its checkpoints) and
`modelcvd audit rotate-key`."""

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


COMMANDS: list[type[Command]] = [AuditVerify, AuditRotateKey]
