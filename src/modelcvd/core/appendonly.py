"""The audit table's append-only triggers, one definition for the migration and the backend.

On PostgreSQL a row trigger refuses UPDATE and DELETE (TRUNCATE, which a flush uses, needs
table ownership; docs/deploy.md). On SQLite two triggers refuse them too. A SQLite flush (a
restore, the test suite's teardown) drops them for its DELETE and creates them again in the
same transaction (core.db.sqlite3). None of this stops someone who can run DDL on the database:
the keyed links and the checkpoints outside it are what detect that (docs/audit.md).
"""

from __future__ import annotations

AUDIT_TABLE = "core_auditevent"

PG_CREATE = """
CREATE OR REPLACE FUNCTION modelcvd_audit_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION USING
    MESSAGE = 'core_auditevent is append-only: ' || TG_OP || ' refused',
    ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER core_auditevent_append_only BEFORE UPDATE OR DELETE ON core_auditevent
  FOR EACH ROW EXECUTE FUNCTION modelcvd_audit_append_only();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent;
DROP FUNCTION IF EXISTS modelcvd_audit_append_only();
"""

# One statement each: Django's SQLite cursor executes one statement at a time.
SQLITE_CREATE = [
    f"CREATE TRIGGER IF NOT EXISTS {AUDIT_TABLE}_no_{op.lower()} BEFORE {op} ON {AUDIT_TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{AUDIT_TABLE} is append-only: {op} refused'); END"
    for op in ("UPDATE", "DELETE")
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {AUDIT_TABLE}_no_{op}" for op in ("update", "delete")]
