"""Disclosure levels (pure): ordering, the fields per level, redaction, channels, TLP."""

from __future__ import annotations

import pytest

from modelcvd.interop.advisory import TLP_BY_LEVEL as INTEROP_TLP
from modelcvd.policy.disclosure import (
    CHANNEL_CEILING,
    FIELD_LEVELS,
    Channel,
    Level,
    channel_level,
    fields_at,
    redact,
    tlp_for,
)

FULL = {name: f"value of {name}" for name in FIELD_LEVELS}


def test_levels_are_ordered_and_never_is_above_everyone() -> None:
    assert Level.PUBLIC < Level.DEFENDER < Level.VENDOR < Level.NEVER
    assert Level.parse(" Defender ") == Level.DEFENDER
    with pytest.raises(ValueError, match="unknown disclosure level"):
        Level.parse("secret")


def test_each_level_adds_exactly_its_fields() -> None:
    public = fields_at(Level.PUBLIC)
    defender = fields_at(Level.DEFENDER)
    vendor = fields_at(Level.VENDOR)
    assert {"title", "summary", "technique", "harm_category", "affected", "severity"} <= public
    assert {"mitigations", "credits", "references", "commitment", "sources"} <= public
    # No rate without its counts and origin: the public level has no success-rate band.
    assert not any("rate" in name or "band" in name for name in public)
    assert defender - public == {"measurements", "detection_indicators", "mitigation_details"}
    assert vendor - defender == {"reproduction"}
    assert fields_at(Level.NEVER) == frozenset(FIELD_LEVELS)


def test_redact_keeps_the_entitled_fields_and_names_the_withheld() -> None:
    shown = redact(FULL, Level.DEFENDER)
    assert set(shown) - {"disclosure_level", "withheld"} == fields_at(Level.DEFENDER)
    assert shown["disclosure_level"] == "defender"
    assert shown["withheld"] == ["reproduction"]
    assert "value of reproduction" not in str(shown)


def test_held_out_reproduction_is_withheld_even_from_the_vendor() -> None:
    shown = redact(FULL, Level.VENDOR, reproduction_level=Level.NEVER)
    assert "reproduction" not in shown and shown["withheld"] == ["reproduction"]
    with pytest.raises(ValueError, match="never below the vendor"):
        redact(FULL, Level.VENDOR, reproduction_level=Level.DEFENDER)


def test_redact_refuses_a_field_without_a_level() -> None:
    with pytest.raises(ValueError, match="without a disclosure level"):
        redact({**FULL, "system_prompt": "x"}, Level.PUBLIC)


def test_channels_cap_the_level() -> None:
    assert set(CHANNEL_CEILING) == set(Channel)
    assert channel_level(Level.VENDOR, Channel.PAGE) == Level.VENDOR
    assert channel_level(Level.VENDOR, Channel.EXPORT) == Level.DEFENDER
    assert channel_level(Level.VENDOR, Channel.EMAIL) == Level.DEFENDER
    for channel in (Channel.FEED, Channel.JSONL, Channel.REGISTRY):
        assert channel_level(Level.VENDOR, channel) == Level.PUBLIC
    assert channel_level(Level.PUBLIC, Channel.API) == Level.PUBLIC


def test_tlp_follows_the_level_and_agrees_with_the_csaf_exporter() -> None:
    for level in (Level.PUBLIC, Level.DEFENDER, Level.VENDOR):
        assert tlp_for(level) == INTEROP_TLP[level.label]
    with pytest.raises(ValueError, match="never"):
        tlp_for(Level.NEVER)
