"""Django's SQLite backend with one change: a flush keeps the audit table append-only.

A flush empties tables with DELETE (SQLite has no TRUNCATE), which the audit table's
append-only triggers refuse. The flush (`backup_restore`, `manage.py flush`, the test suite's
teardown) drops them before its DELETE and creates them again after it; Django runs the flush
in one transaction, and SQLite's DDL is transactional, so no other connection ever sees the
table without its triggers.
"""
