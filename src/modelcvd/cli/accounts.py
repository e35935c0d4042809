"""`modelcvd createadmin` and `modelcvd token create`: accounts and API tokens."""

from __future__ import annotations

import argparse
import os

from modelcvd.cli.base import Command, Group, Output, user_named
from modelcvd.cli.errors import CliError, Exit

TOKEN = Group("token", "Manage API tokens.")

# Kept here, not imported: the parser is built before Django is set up.
SCOPES = ["read", "submit", "triage", "admin"]


class CreateAdmin(Command):
    name = "createadmin"
    help = "Create an administrator (password from MODELCVD_ADMIN_PASSWORD or a prompt)."
    prints_data = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("username", help="the new administrator's username")
        parser.add_argument("--email", default="", help="their e-mail address")

    def run(self, args: argparse.Namespace, out: Output) -> None:
        import getpass

        from django.db import transaction

        from modelcvd.accounts.models import Role
        from modelcvd.accounts.selectors import user_by_username
        from modelcvd.accounts.services import membership_grant, user_create

        password = os.environ.get("MODELCVD_ADMIN_PASSWORD") or getpass.getpass("Password: ")
        if len(password) < 10:
            raise CliError(Exit.USAGE, "the password must have at least 10 characters")
        if user_by_username(args.username):
            raise CliError(
                Exit.REFUSED, f"user {args.username!r} exists already", "choose another username"
            )
        with transaction.atomic():
            user = user_create(username=args.username, password=password, email=args.email)
            membership_grant(user=user, role=Role.ADMIN, organisation=None, actor=None)
        out.data(
            {"username": args.username, "role": "admin"},
            f"administrator {args.username} created",
        )


class TokenCreate(Command):
    group = TOKEN
    name = "create"
    help = "Print a new API token for USERNAME."
    description = "Print a new API token; it is shown once and never stored."
    prints_data = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("username", help="the account the token acts as")
        parser.add_argument(
            "--scope",
            action="append",
            required=True,
            choices=SCOPES,
            help="what the token may do; repeat for several scopes",
        )
        parser.add_argument("--name", default="", help="a label to recognise the token by")
        parser.add_argument(
            "--days", type=int, default=90, help="expiry in days; 0 for none (default: 90)"
        )

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from datetime import timedelta

        from modelcvd.accounts.services import token_create

        user = user_named(args.username)
        token, secret = token_create(
            user=user,
            scopes=args.scope,
            name=args.name,
            expires_in=timedelta(days=args.days) if args.days else None,
        )
        out.data(
            {
                "token": secret,
                "username": user.username,
                "scopes": token.scopes,
                "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            },
            secret,
        )


COMMANDS: list[type[Command]] = [CreateAdmin, TokenCreate]
