"""Serialising export documents: the bytes written to export files and the JSON Lines mirror.

orjson, not the standard library: `json.dumps(..., indent=2)` runs the pure-Python encoder
(CPython uses its C encoder only without indentation), which made writing an export cost more
than building it. The output is UTF-8 JSON, as `ensure_ascii=False` wrote before; documents
hold only str keys and JSON-native values (the exporters build them that way), which orjson
checks: anything else raises instead of being written half-way.
"""

from __future__ import annotations

from typing import Any

import orjson


def document_bytes(document: dict[str, Any]) -> bytes:
    """One export file: indented by two spaces, ending in a newline."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def line_bytes(document: dict[str, Any]) -> bytes:
    """One JSON Lines record: compact, ending in a newline."""
    return orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE)
