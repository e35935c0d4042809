"""Bounded checks on untrusted JSON, done without recursion.

Python's json parser (and every walk over what it returns) recurses once per nesting level, so
a body of a few kilobytes of `[[[[...` ends in RecursionError, a 500. Here the depth is
measured on the raw bytes before anything parses them, with a loop and one counter; the walk
for NUL characters keeps its own stack. MAX_JSON_DEPTH (docs/settings.md) is far above any
document the platform reads (a report is about five levels deep) and far below the
interpreter's recursion limit.
"""

from __future__ import annotations

import re
from typing import Any

# A JSON string (skipped whole, so brackets inside it do not count) or one bracket.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_OPEN = frozenset({b"[", b"{"})
_CLOSE = frozenset({b"]", b"}"})


def json_too_deep(body: bytes, limit: int) -> bool:
    """Whether the JSON text in `body` nests arrays and objects deeper than `limit`. Invalid
    JSON is judged by the same count (the parser rejects it afterwards anyway)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # too few brackets to nest that deep: the common case, at C speed
    depth = 0
    for match in _TOKEN.finditer(body):
        token = match.group()
        if token in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif token in _CLOSE:
            depth -= 1
    return False


def nul_path(value: Any) -> str | None:
    """The dotted path of the first string (value or key) holding a NUL character, if any;
    "" when it is the document itself."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path
            continue
        if isinstance(item, dict):
            pairs: list[tuple[Any, Any]] = list(item.items())
        elif isinstance(item, list):
            pairs = list(enumerate(item))
        else:
            continue
        children = []
        for key, child in pairs:
            child_path = f"{path}.{key}".strip(".")
            if isinstance(key, str) and "\x00" in key:
                return child_path
            children.append((child, child_path))
        stack.extend(reversed(children))  # depth-first, in document order
    return None
