"""The audit chain anchored outside the database it protects (issue 18, item 2).

`core` keeps the keyed audit chain and must not know the transparency log; this small app
imports both. A checkpoint appends the chain's head (events, last seq, last link) to the
transparency log as an AUDIT_CHECKPOINT entry, signs a tree head, and writes both into the
witness file (settings.AUDIT_WITNESS_FILE, 0600, outside the database). `audit_anchor_verify`
compares the database's chain with the latest checkpoint in the log and with the witness, so a
deleted tail or an older database restored is named. See docs/audit.md.
"""
