"""`modelcvd submit` and `modelcvd schema`: the report format, from any machine (no database)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from modelcvd.cli.base import Command, Output, read_text
from modelcvd.cli.errors import CliError, Exit, server_failure


class Submit(Command):
    name = "submit"
    help = "Submit a report file (YAML or JSON) to a server."
    prints_data = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", help="the report, .yaml or .json (see `modelcvd schema`)")
        parser.add_argument("--server", required=True, help="e.g. http://127.0.0.1:8000")
        parser.add_argument(
            "--token", help="API token with the submit scope (default: $MODELCVD_TOKEN)"
        )

    def run(self, args: argparse.Namespace, out: Output) -> None:
        import time
        import uuid

        import httpx
        import yaml

        token = args.token or os.environ.get("MODELCVD_TOKEN")
        if not token:
            raise CliError(Exit.USAGE, "no API token", "pass --token or set MODELCVD_TOKEN")
        path = Path(args.file)
        text = read_text(path)
        try:
            document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            kind = "JSON" if path.suffix == ".json" else "YAML"
            raise CliError(Exit.USAGE, f"{path} is not valid {kind}: {exc}") from None
        url = args.server.rstrip("/") + "/api/v1/reports"
        # One key for every attempt: a retry after a timeout returns the report the first
        # attempt made, if it got through, instead of filing it twice.
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
        for attempt in range(3):
            try:
                response = httpx.post(url, json=document, headers=headers, timeout=30)
                break
            except httpx.TransportError as exc:
                if attempt == 2 or isinstance(exc, httpx.ConnectError):
                    raise CliError(Exit.FAILED, f"cannot reach {url}: {exc}") from None
                time.sleep(2**attempt)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise CliError(Exit.FAILED, f"cannot reach {url}: {exc}") from None
        if response.status_code != 201:
            raise server_failure(response)
        created = response.json()
        out.data(
            created,
            f"report #{created['id']} submitted; case #{created['case_id']} "
            f"({created['case_state']})",
        )


class Schema(Command):
    name = "schema"
    help = "Print the JSON Schema of the report format."
    prints_data = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("name", choices=["report"], help="which schema")

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.reports.document import report_json_schema

        # A schema is JSON either way; --json is accepted so scripts may pass it everywhere.
        out.data(report_json_schema())


COMMANDS: list[type[Command]] = [Submit, Schema]
