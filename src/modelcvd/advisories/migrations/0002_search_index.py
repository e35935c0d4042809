"""Full-text search on PostgreSQL: `search_vector` kept from `search_text` by a trigger (so
bulk inserts and every save keep it current), with a GIN index. Stored rather than computed
per query: ranking needs the vector of every matching row, and recomputing it from the text
cost seconds per query at 100,000 advisories. SQLite has no tsvector: there the registry
matches words in search_text (selectors._full_text) and this migration does nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

CREATE = [
    "DROP TRIGGER IF EXISTS advisory_search_vector ON advisories_advisory",
    "CREATE TRIGGER advisory_search_vector BEFORE INSERT OR UPDATE ON advisories_advisory "
    "FOR EACH ROW EXECUTE FUNCTION "
    "tsvector_update_trigger(search_vector, 'pg_catalog.english', search_text)",
    "UPDATE advisories_advisory SET search_text = search_text",
    "CREATE INDEX IF NOT EXISTS advisory_search_gin ON advisories_advisory "
    "USING gin (search_vector)",
]
DROP = [
    "DROP INDEX IF EXISTS advisory_search_gin",
    "DROP TRIGGER IF EXISTS advisory_search_vector ON advisories_advisory",
]


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("advisories", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
