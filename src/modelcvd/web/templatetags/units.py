"""Units people read: durations in days, shares as percentages, everywhere the same."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def days(hours: float | None) -> str:
    """Hours as days with one decimal ("-" when unknown): the unit the charts use."""
    if hours is None:
        return "-"
    return f"{hours / 24:.1f}"


@register.filter
def percent(share: float | None) -> str:
    """A share in [0, 1] as a percentage ("-" when unknown)."""
    if share is None:
        return "-"
    return f"{share * 100:.1f} %"
