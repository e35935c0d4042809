"""`modelcvd two-factor require` and `modelcvd two-factor reset`: the second factor."""

from __future__ import annotations

import argparse

from modelcvd.cli.base import Command, Group, Output, user_named
from modelcvd.cli.errors import CliError, Exit

TWO_FACTOR = Group("two-factor", "Second-factor (TOTP) commands.")


class TwoFactorRequire(Command):
    group = TWO_FACTOR
    name = "require"
    help = "Require a second factor of every member of an organisation (--off: stop)."
    description = (
        "Require a second factor of every member of organisation SLUG, as staff always need "
        "one: from their next request, a member's session that has not given a code is "
        "anonymous until they give one (or set up an authenticator app). Audited."
    )
    prints_data = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("slug", help="the organisation's slug")
        parser.add_argument(
            "--off", action="store_true", help="stop requiring it (staff still always need one)"
        )

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.accounts.selectors import organisation_by_slug
        from modelcvd.accounts.services import organisation_two_factor_set

        organisation = organisation_by_slug(args.slug)
        if organisation is None:
            raise CliError(Exit.NOT_FOUND, f"no organisation {args.slug!r}")
        organisation_two_factor_set(organisation=organisation, required=not args.off, actor=None)
        required = organisation.require_two_factor
        out.data(
            {"organisation": organisation.slug, "require_two_factor": required},
            f"{organisation.slug}: second factor {'required' if required else 'not required'}"
            " of its members",
        )


class TwoFactorReset(Command):
    group = TWO_FACTOR
    name = "reset"
    help = "Remove a user's authenticator app and recovery codes (a lost phone)."
    description = (
        "Remove USERNAME's authenticator app and recovery codes, for someone who lost both. "
        "Their sessions owe a code again at once; where their role or organisation requires a "
        "second factor they set up a new app at their next sign-in. Audited with the reason."
    )
    prints_data = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("username", help="whose second factor to remove")
        parser.add_argument(
            "--reason", required=True, help="why (kept on the audit chain), e.g. a ticket"
        )

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.accounts.services import two_factor_reset

        user = user_named(args.username)
        if not args.reason.strip():
            raise CliError(Exit.USAGE, "--reason must not be empty")
        removed = two_factor_reset(user=user, actor=None, reason=args.reason)
        out.data(
            {"username": user.username, "removed": removed},
            f"{user.username}: second factor removed"
            if removed
            else f"{user.username} had no second factor",
        )


COMMANDS: list[type[Command]] = [TwoFactorRequire, TwoFactorReset]
