"""Bar charts as SVG, built from the numbers on the server: no JavaScript, no external fonts.

Each data mark is a `<rect class="mark">` carrying its series, label and value as data
attributes and a `<title>` (the browser's tooltip and a screen reader's text); every chart
is also shown as a table next to it on the dashboard. Text is escaped: program names come from
users.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280", "#4a5568")


def _fmt(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return float(step * magnitude)
    return float(10 * magnitude)


def bar_chart(
    *,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    unit: str = "",
    width: int = 640,
    height: int = 260,
    max_value: float | None = None,
) -> str:
    """Grouped vertical bars: one group per label, one bar per series. None draws no bar."""
    left, right, top, bottom = 48, 12, 28, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs in series for v in vs if v is not None]
    top_value = max_value if max_value is not None else _nice_max(max(values, default=0.0))
    group_w = plot_w / max(len(labels), 1)
    bar_w = max(2.0, (group_w * 0.8) / max(len(series), 1))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="16" class="chart-title" font-size="13" font-weight="bold">'
        f"{escape(title)}</text>",
    ]
    for i in range(5):
        tick = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e2e8f0" stroke-width="1"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
            f"{_fmt(tick)}</text>"
        )
    if unit:
        parts.append(
            f'<text x="4" y="{top - 8}" font-size="10" fill="#4a5568">{escape(unit)}</text>'
        )
    for g, label in enumerate(labels):
        x0 = left + g * group_w + group_w * 0.1
        for s, (name, vs) in enumerate(series):
            value = vs[g]
            if value is None:
                continue
            h = plot_h * min(value, top_value) / top_value if top_value else 0
            x = x0 + s * bar_w
            y = top + plot_h - h
            parts.append(
                f'<rect class="mark" x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[s % len(PALETTE)]}" '
                f'data-series="{escape(name)}" data-label="{escape(label)}" '
                f'data-value="{value:.4g}"><title>{escape(name)}, {escape(label)}: '
                f"{_fmt(value)}{escape(' ' + unit if unit else '')}</title></rect>"
            )
        parts.append(
            f'<text x="{left + g * group_w + group_w / 2:.1f}" y="{top + plot_h + 14}" '
            f'font-size="10" text-anchor="middle">{escape(label)}</text>'
        )
    parts.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="#4a5568" stroke-width="1"/>'
    )
    if len(series) > 1:
        x = left
        for s, (name, _) in enumerate(series):
            parts.append(
                f'<rect x="{x}" y="{height - 18}" width="10" height="10" '
                f'fill="{PALETTE[s % len(PALETTE)]}"/>'
                f'<text x="{x + 14}" y="{height - 9}" font-size="10">{escape(name)}</text>'
            )
            x += 14 + 7 * len(name) + 16
    parts.append("</svg>")
    return "".join(parts)
