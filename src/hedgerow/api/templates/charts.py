"""Insight results drawn as inline SVG on the server: the shared page needs no script and no network.

Every drawn series carries its numbers in `data-*` attributes so what is shown can be checked.
"""

from __future__ import annotations

from html import escape
from typing import Any

PALETTE = ("#1d4aff", "#621da6", "#42827e", "#ce0e74", "#f14f58", "#7c440e", "#529a0a", "#0476fb")
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28


def _number(value: Any) -> str:
    number = float(value or 0)
    return str(int(number)) if number.is_integer() else f"{number:.2f}".rstrip("0").rstrip(".")


def _values(series: dict[str, Any]) -> str:
    return ",".join(_number(v) for v in series.get("data") or [])


def _legend(results: list[dict[str, Any]], key: str) -> str:
    items = "".join(
        f'<li><span class="hr-swatch" style="background:{PALETTE[i % len(PALETTE)]}"></span>'
        f"{escape(str(s.get('label', '')))} <b>{_number(s.get(key))}</b></li>"
        for i, s in enumerate(results)
    )
    return f'<ul class="hr-legend">{items}</ul>'


def line_chart(results: list[dict[str, Any]]) -> str:
    labels: list[str] = results[0].get("labels") or []
    points = max((len(s.get("data") or []) for s in results), default=0)
    top = max((float(v or 0) for s in results for v in s.get("data") or []), default=0.0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (plot_w * i / (points - 1) if points > 1 else plot_w / 2)

    def y(v: Any) -> float:
        return TOP + plot_h - plot_h * float(v or 0) / top

    parts = [
        f'<svg class="hr-chart hr-line" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'data-points="{points}" data-max="{_number(top)}" xmlns="http://www.w3.org/2000/svg">',
        f'<line class="hr-axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}"/>',
        f'<text class="hr-tick" x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end">{_number(top)}</text>',
        f'<text class="hr-tick" x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end">0</text>',
    ]
    for i in sorted({0, points // 2, points - 1}) if points else []:
        if i < len(labels):
            anchor = "start" if i == 0 else "end" if i == points - 1 else "middle"
            parts.append(
                f'<text class="hr-tick" x="{x(i):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">'
                f"{escape(labels[i])}</text>"
            )
    for index, series in enumerate(results):
        data = series.get("data") or []
        colour = PALETTE[index % len(PALETTE)]
        coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(data))
        parts.append(
            f'<g class="hr-series" data-label="{escape(str(series.get("label", "")))}" '
            f'data-values="{_values(series)}">'
            f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )
        for i, v in enumerate(data):
            label = labels[i] if i < len(labels) else ""
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}">'
                f"<title>{escape(label)}: {_number(v)}</title></circle>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts) + _legend(results, "count")


def value_chart(results: list[dict[str, Any]]) -> str:
    if len(results) == 1:
        value = _number(results[0].get("aggregated_value"))
        return f'<div class="hr-bold-number" data-value="{value}">{value}</div>' + _legend(
            results, "aggregated_value"
        )
    top = max((float(s.get("aggregated_value") or 0) for s in results), default=0.0) or 1.0
    row_h = 26
    height = row_h * len(results) + 8
    parts = [
        f'<svg class="hr-chart hr-bars" viewBox="0 0 {WIDTH} {height}" role="img" xmlns="http://www.w3.org/2000/svg">'
    ]
    for index, series in enumerate(results):
        amount = float(series.get("aggregated_value") or 0)
        width = (WIDTH - 220) * amount / top
        y = 4 + index * row_h
        label = escape(str(series.get("label", "")))
        colour = PALETTE[index % len(PALETTE)]
        parts.append(
            f'<g class="hr-series" data-label="{label}" data-value="{_number(amount)}">'
            f'<text class="hr-tick" x="0" y="{y + 16}">{label[:28]}</text>'
            f'<rect x="180" y="{y}" width="{width:.1f}" height="{row_h - 6}" fill="{colour}"/>'
            f'<text class="hr-tick" x="{184 + width:.1f}" y="{y + 16}">{_number(amount)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render_result(result: list[dict[str, Any]] | None) -> str:
    if not result:
        return '<p class="hr-empty">No data for this insight yet.</p>'
    if all("aggregated_value" in s for s in result):
        return value_chart(result)
    return line_chart(result)
