"""Verification: replay a reported attack N times on a pinned artifact and judge each trial.

`engine/` is pure Python (no Django) so it runs from the CLI, a Celery worker or a notebook;
`modelcvd.cli.verify` is the `modelcvd verify` command built on it.
"""
