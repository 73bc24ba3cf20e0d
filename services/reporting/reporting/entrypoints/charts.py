"""Server-side SVG charts: no script, no external resource, numbers written on the chart."""

from __future__ import annotations

from html import escape

WIDTH, BAR_H, GAP, LABEL_W = 640, 26, 10, 140


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def bar_chart(items: list[tuple[str, float | None]], *, title: str, target: float | None = None) -> str:
    """Horizontal bars, one per item, each labelled with its value as a percentage. A dashed
    line marks the target when one is given."""
    scale_max = max([v for _, v in items if v is not None] + [target or 0, 0.01])
    plot = WIDTH - LABEL_W - 80
    height = 30 + len(items) * (BAR_H + GAP)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img" '
             f'aria-label="{escape(title)}">', f'<title>{escape(title)}</title>']
    for i, (label, value) in enumerate(items):
        y = 20 + i * (BAR_H + GAP)
        w = 0 if value is None else round(plot * value / scale_max, 1)
        parts.append(f'<text x="{LABEL_W - 8}" y="{y + BAR_H * 0.7}" text-anchor="end" font-size="14">{escape(label)}</text>')
        parts.append(f'<rect class="bar" x="{LABEL_W}" y="{y}" width="{w}" height="{BAR_H}" fill="#c0392b"/>')
        parts.append(f'<text class="value" x="{LABEL_W + w + 6}" y="{y + BAR_H * 0.7}" font-size="14">{percent(value)}</text>')
    if target is not None:
        x = LABEL_W + round(plot * target / scale_max, 1)
        parts.append(f'<line x1="{x}" y1="10" x2="{x}" y2="{height - 4}" stroke="#2c3e50" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{x + 4}" y="12" font-size="12">目标 {percent(target)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(points: list[tuple[str, int]], *, title: str) -> str:
    """A line through the counts, each point labelled with its count and its week."""
    height, left, bottom = 240, 40, 200
    top = max([n for _, n in points] + [1])
    step = (WIDTH - left - 40) / max(len(points) - 1, 1)
    xy = [(round(left + i * step, 1), round(bottom - (bottom - 30) * n / top, 1)) for i, (_, n) in enumerate(points)]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img" '
             f'aria-label="{escape(title)}">', f'<title>{escape(title)}</title>',
             f'<line x1="{left}" y1="{bottom}" x2="{WIDTH - 20}" y2="{bottom}" stroke="#999"/>',
             '<polyline fill="none" stroke="#2980b9" stroke-width="2" points="'
             + " ".join(f"{x},{y}" for x, y in xy) + '"/>']
    for (label, n), (x, y) in zip(points, xy):
        parts.append(f'<circle cx="{x}" cy="{y}" r="4" fill="#2980b9"/>')
        parts.append(f'<text class="value" x="{x}" y="{y - 8}" text-anchor="middle" font-size="13">{n}</text>')
        parts.append(f'<text x="{x}" y="{bottom + 18}" text-anchor="middle" font-size="11">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
