"""Full-text search on PostgreSQL: a GIN index over the tsvector of the public text.

The expression is exactly what `SearchVector("search_text", config="english")` compiles to,
so the registry's search uses it. SQLite has no tsvector: there the registry falls back to
word matching (selectors._full_text), and this migration does nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

INDEX = (
    "CREATE INDEX IF NOT EXISTS advisory_search_gin ON advisories_advisory USING gin "
    "(to_tsvector('english'::regconfig, COALESCE((search_text)::text, '')))"
)


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX)


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS advisory_search_gin")


class Migration(migrations.Migration):
    dependencies = [("advisories", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
