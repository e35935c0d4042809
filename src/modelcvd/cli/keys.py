"""`modelcvd keys rotate` and `modelcvd keys retire`: key-encryption keys."""

from __future__ import annotations

import argparse

from modelcvd.cli.base import Command, Group, Output
from modelcvd.cli.errors import CliError, Exit

KEYS = Group("keys", "Key-encryption key commands.")


class KeysRotate(Command):
    group = KEYS
    name = "rotate"
    help = "Re-wrap every data key under a new KEK (resumable)."
    description = "Re-wrap every data key under a new KEK; rerun to resume."
    prints_data = True
    takes_long = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help="data keys re-wrapped per transaction (default: %(default)s)",
        )
        parser.add_argument(
            "--new-key", action="store_true", help="start a new rotation even if one is unfinished"
        )

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.core.keys import keys_rotate

        with out.progress("keys rotate"):
            result = keys_rotate(batch_size=args.batch_size, resume=not args.new_key)
        out.data(
            {"active": result.active, "rewrapped": result.rewrapped, "remaining": result.remaining},
            f"active key {result.active}: {result.rewrapped} data keys re-wrapped, "
            f"{result.remaining} left",
        )


class KeysRetire(Command):
    group = KEYS
    name = "retire"
    help = "Drop an old KEK once nothing is wrapped by it."
    prints_data = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "kek_id", help="the old key's id (each `keys rotate` prints the new active one)"
        )

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from django.core.exceptions import ImproperlyConfigured

        from modelcvd.core.sealing import keyring_retire

        try:
            ring = keyring_retire(args.kek_id)
        except ImproperlyConfigured as exc:
            # The keyring refuses by rule: the active key, or one still in use.
            raise CliError(Exit.REFUSED, str(exc)) from None
        out.data({"retired": args.kek_id, "active": ring.active}, f"{args.kek_id} retired")


COMMANDS: list[type[Command]] = [KeysRotate, KeysRetire]
