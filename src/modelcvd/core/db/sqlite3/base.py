"""The SQLite DatabaseWrapper of modelcvd (see the package docstring)."""

from __future__ import annotations

from typing import Any

from django.db.backends.sqlite3 import base, operations

from modelcvd.core.appendonly import AUDIT_TABLE, SQLITE_CREATE, SQLITE_DROP


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(
        self,
        style: Any,
        tables: Any,
        *,
        reset_sequences: bool = False,
        allow_cascade: bool = False,
    ) -> list[str]:
        statements: list[str] = super().sql_flush(
            style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        if not any(self.quote_name(AUDIT_TABLE) in statement for statement in statements):
            return statements
        return [*SQLITE_DROP, *statements, *SQLITE_CREATE]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
