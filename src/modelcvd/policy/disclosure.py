"""Disclosure levels: who may read which field of an advisory. Pure: no Django.

AI findings are dual-use, so an advisory is not one document but three nested ones:

| level    | who                                   | adds                                             |
|----------|---------------------------------------|--------------------------------------------------|
| public   | anyone, every registry channel        | title, summary, technique class, harm category,  |
|          |                                       | affected artifacts and versions, severity,       |
|          |                                       | mitigations safe to state, credits, references,  |
|          |                                       | the imported source records, the payload         |
|          |                                       | commitment                                       |
| defender | vetted defenders                      | measurements (counts, exact interval and where   |
|          |                                       | they come from), detection indicators, detailed  |
|          |                                       | mitigations                                      |
| vendor   | the case's vendors and coordinators   | the full reproduction (unsealed, audited)        |
| never    | nobody                                | held-out benchmark items: never rendered at all  |

No level shows a rate without its counts and their origin: the public level shows no rate at
all (a band such as "90-100 %" would be a rate without counts), the defender level shows each
measurement as k of n with its exact interval and provenance.

Every channel (web page, API, exports, Atom feed, JSON Lines, e-mail) renders through
`redact`, at `channel_level(reader, channel)`: the reader's level, capped by what the channel
may carry. Registry-wide channels (list, feed, JSONL mirror) are public by construction;
exports and e-mail stop at defender, because interchange documents and SMTP are not sealed
channels and the reproduction travels only on pages and API answers that audit the unseal.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum, StrEnum
from typing import Any

from modelcvd.vocabulary import DisclosureLevel


class Level(IntEnum):
    """Ordered: a reader at a level reads every field at that level or below. The names are
    the vocabulary's `DisclosureLevel` (an import-time check keeps the two in step); this adds
    the order."""

    PUBLIC = 1
    DEFENDER = 2
    VENDOR = 3
    NEVER = 99  # above every reader: held-out benchmark items

    @property
    def term(self) -> DisclosureLevel:
        """The level's name as stored and exported."""
        return DisclosureLevel[self.name]

    @property
    def label(self) -> str:
        return self.term.value

    @classmethod
    def of(cls, term: DisclosureLevel) -> Level:
        return cls[term.name]

    @classmethod
    def parse(cls, text: str) -> Level:
        try:
            return cls.of(DisclosureLevel(text.strip().lower()))
        except ValueError:
            raise ValueError(f"unknown disclosure level {text!r}; one of {LEVEL_NAMES}") from None


assert [level.name for level in Level] == [term.name for term in DisclosureLevel]
LEVEL_NAMES = DisclosureLevel.values

# The level of each field of the full advisory document. A field missing here is a bug, not
# a default: `redact` refuses documents with unknown fields rather than guessing.
FIELD_LEVELS: dict[str, Level] = {
    "id": Level.PUBLIC,
    "state": Level.PUBLIC,
    "revision": Level.PUBLIC,
    "title": Level.PUBLIC,
    "summary": Level.PUBLIC,
    "cve_id": Level.PUBLIC,
    "aliases": Level.PUBLIC,
    "technique": Level.PUBLIC,
    "harm_category": Level.PUBLIC,
    "affected": Level.PUBLIC,
    "severity": Level.PUBLIC,
    "mitigations": Level.PUBLIC,
    "credits": Level.PUBLIC,
    "references": Level.PUBLIC,
    "commitment": Level.PUBLIC,
    "published": Level.PUBLIC,
    "modified": Level.PUBLIC,
    "withdrawn_reason": Level.PUBLIC,
    "sources": Level.PUBLIC,
    "measurements": Level.DEFENDER,
    "detection_indicators": Level.DEFENDER,
    "mitigation_details": Level.DEFENDER,
    "reproduction": Level.VENDOR,
}

# Fields the reader's level decides; the metadata fields are added by `redact` itself.
META_FIELDS = ("disclosure_level", "withheld")


class Channel(StrEnum):
    """Where an advisory is rendered."""

    PAGE = "page"
    API = "api"
    EXPORT = "export"
    EMAIL = "email"
    FEED = "feed"
    JSONL = "jsonl"
    REGISTRY = "registry"  # the list and search, web and API

    @property
    def ceiling(self) -> Level:
        """The highest level the channel may carry."""
        return CHANNEL_CEILING[self]


CHANNEL_CEILING: dict[Channel, Level] = {
    Channel.PAGE: Level.VENDOR,
    Channel.API: Level.VENDOR,
    Channel.EXPORT: Level.DEFENDER,
    Channel.EMAIL: Level.DEFENDER,
    Channel.FEED: Level.PUBLIC,
    Channel.JSONL: Level.PUBLIC,
    Channel.REGISTRY: Level.PUBLIC,
}


def channel_level(reader: Level, channel: Channel) -> Level:
    """The level a reader gets on a channel: their own, capped by the channel's ceiling."""
    return min(reader, channel.ceiling)


def field_levels(*, reproduction_level: Level = Level.VENDOR) -> dict[str, Level]:
    """FIELD_LEVELS with the advisory's own choice for the reproduction (NEVER for held-out
    benchmark items). The reproduction can be raised, never lowered below vendor."""
    if reproduction_level < Level.VENDOR:
        raise ValueError("the reproduction is never below the vendor level")
    return {**FIELD_LEVELS, "reproduction": reproduction_level}


def fields_at(level: Level, *, reproduction_level: Level = Level.VENDOR) -> frozenset[str]:
    """The names of the fields a reader at `level` is entitled to."""
    levels = field_levels(reproduction_level=reproduction_level)
    return frozenset(name for name, needed in levels.items() if needed <= level)


def redact(
    document: Mapping[str, Any], level: Level, *, reproduction_level: Level = Level.VENDOR
) -> dict[str, Any]:
    """The document as a reader at `level` may see it: entitled fields only, plus
    `disclosure_level` and `withheld` (the names of the fields left out, so a reader knows
    what exists without seeing it). The one redaction every channel goes through."""
    levels = field_levels(reproduction_level=reproduction_level)
    unknown = set(document) - set(levels)
    if unknown:
        raise ValueError(f"fields without a disclosure level: {sorted(unknown)}")
    shown = {k: v for k, v in document.items() if levels[k] <= level}
    shown["disclosure_level"] = level.label
    shown["withheld"] = sorted(k for k, needed in levels.items() if needed > level)
    return shown


TLP_BY_LEVEL: dict[Level, str] = {
    Level.PUBLIC: "WHITE",
    Level.DEFENDER: "GREEN",
    Level.VENDOR: "AMBER",
}


def tlp_for(level: Level) -> str:
    """CSAF 2.0 TLP 1.0 label for a document rendered at `level`."""
    if level == Level.NEVER:
        raise ValueError("nothing is rendered at the 'never' level")
    return TLP_BY_LEVEL[level]
