"""Charts as inline SVG strings: no JavaScript library, nothing to download, renders offline.

Every chart is an `<svg class="chart" data-chart="<id>">`; every drawn data point (a bar, a dot,
a line vertex, a heat-map cell) carries `class="mark"` and a `<title>` tooltip, so a test (or a
screen reader) can count what was drawn. Sizes are in viewBox units; the page scales them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif"
AXIS = "#6b7280"
GRID = "#e5e7eb"
INK = "#111827"
PALETTE = ("#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#0ea5e9", "#ec4899", "#84cc16", "#64748b")
# Heat-map ramp: cheap (green) -> middle (pale yellow) -> dear (red).
RAMP = ((26, 152, 80), (254, 224, 139), (215, 48, 39))

Formatter = Callable[[float], str]


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def ramp(t: float) -> str:
    """Colour for t in [0, 1] on the cheap-to-dear ramp."""
    t = min(1.0, max(0.0, t))
    low, high, u = (RAMP[0], RAMP[1], t * 2) if t < 0.5 else (RAMP[1], RAMP[2], (t - 0.5) * 2)
    r, g, b = (round(a + (b - a) * u) for a, b in zip(low, high, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (the usual 1-2-5 steps)."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0]
    if high <= low:
        high = low + (abs(low) * 0.1 or 1.0)
    raw = (high - low) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def _svg_open(chart_id: str, width: int, height: int, label: str) -> str:
    return (
        f'<svg class="chart" data-chart="{escape(chart_id)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg" style="{FONT};max-width:100%;height:auto">'
    )


def _text(
    x: float,
    y: float,
    text: str,
    *,
    anchor: str = "start",
    size: int = 11,
    fill: str = AXIS,
    weight: str = "normal",
    extra: str = "",
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}" '
        f'font-weight="{weight}"{extra}>{escape(text)}</text>'
    )


def _legend(items: Sequence[tuple[str, str]], x: float, y: float) -> str:
    parts = []
    for name, fill in items:
        parts.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" rx="2" fill="{fill}"/>')
        parts.append(_text(x + 14, y, name, fill=INK))
        x += 22 + 6.5 * len(name)
    return "".join(parts)


def empty_chart(chart_id: str, message: str, width: int = 640, height: int = 80) -> str:
    """A visible placeholder (never an empty canvas) when a chart has nothing to show."""
    return (
        _svg_open(chart_id, width, height, message)
        + f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="#f9fafb" stroke="{GRID}"/>'
        + _text(width / 2, height / 2 + 4, message, anchor="middle", size=13)
        + "</svg>"
    )


# --- line chart ----------------------------------------------------------------------------------
@dataclass
class Series:
    name: str
    points: list[tuple[float, float, str]]  # x, y, tooltip
    color: str = PALETTE[0]


@dataclass
class Band:
    """A shaded x range with a label (e.g. the best booking window)."""

    x0: float
    x1: float
    label: str


@dataclass
class LineChart:
    chart_id: str
    series: list[Series]
    y_format: Formatter
    x_label: str = ""
    y_label: str = ""
    x_ticks: list[tuple[float, str]] | None = None  # explicit ticks; else numeric ticks
    x_reversed: bool = False  # True: larger x on the left (days before departure count down)
    x_include: tuple[float, ...] = ()  # x values the axis must reach (e.g. 0 = departure day)
    x_notes: dict[float, str] = field(default_factory=dict)  # small text under some x ticks
    y_from_zero: bool = False
    band: Band | None = None
    highlight: tuple[float, float, str] | None = None  # one point drawn large (x, y, label)
    reference_y: tuple[float, str] | None = None  # a dashed horizontal line (y, label)
    width: int = 640
    height: int = 280
    legend: bool = True
    margin: tuple[int, int, int, int] = field(default=(20, 16, 44, 64))  # top, right, bottom, left

    def render(self) -> str:
        points = [p for s in self.series for p in s.points]
        if not points:
            return empty_chart(self.chart_id, "no data for this chart", self.width)
        top, right, bottom, left = self.margin
        if self.legend and len(self.series) > 1:
            top += 18
        xs = [p[0] for p in points] + [t[0] for t in self.x_ticks or []] + list(self.x_include)
        ys = [p[1] for p in points] + ([self.reference_y[0]] if self.reference_y else [])
        x_lo, x_hi = min(xs), max(xs)
        if x_hi == x_lo:
            x_lo, x_hi = x_lo - 1, x_hi + 1
        y_ticks = nice_ticks(0 if self.y_from_zero else min(ys), max(ys))
        y_lo, y_hi = y_ticks[0], y_ticks[-1]
        plot_w, plot_h = self.width - left - right, self.height - top - bottom

        def px(x: float) -> float:
            u = (x - x_lo) / (x_hi - x_lo)
            return left + (1 - u if self.x_reversed else u) * plot_w

        def py(y: float) -> float:
            return top + (1 - (y - y_lo) / (y_hi - y_lo)) * plot_h

        out = [_svg_open(self.chart_id, self.width, self.height, self.chart_id)]
        if self.band is not None:
            a, b = sorted((px(self.band.x0), px(self.band.x1)))
            out.append(
                f'<rect class="band" x="{a:.1f}" y="{top}" width="{b - a:.1f}" height="{plot_h}" '
                f'fill="#dcfce7"/>'
            )
            out.append(
                _text((a + b) / 2, top + 12, self.band.label, anchor="middle", fill="#15803d", weight="600")
            )
        for tick in y_ticks:
            y = py(tick)
            out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
            out.append(_text(left - 6, y + 4, self.y_format(tick), anchor="end"))
        x_ticks = self.x_ticks or [(t, f"{t:g}") for t in nice_ticks(x_lo, x_hi, 6) if x_lo <= t <= x_hi]
        for value, label in x_ticks:
            out.append(_text(px(value), top + plot_h + 16, label, anchor="middle"))
        for value, note in self.x_notes.items():
            out.append(_text(px(value), top + plot_h + 29, note, anchor="middle", size=9, fill="#9ca3af"))
        out.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" '
            f'stroke="{AXIS}"/>'
        )
        if self.x_label:
            out.append(_text(left + plot_w / 2, self.height - 6, self.x_label, anchor="middle"))
        if self.y_label:
            out.append(
                _text(
                    14,
                    top + plot_h / 2,
                    self.y_label,
                    anchor="middle",
                    extra=f' transform="rotate(-90 14 {top + plot_h / 2:.1f})"',
                )
            )
        if self.reference_y is not None:
            y = py(self.reference_y[0])
            out.append(
                f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{AXIS}" '
                f'stroke-dasharray="4 3"/>'
            )
            out.append(_text(left + 4, y - 4, self.reference_y[1]))
        for s in self.series:
            ordered = sorted(s.points)
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y, _ in ordered)
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{s.color}" stroke-width="2" '
                f'stroke-linejoin="round"/>'
            )
            for x, y, tip in ordered:
                out.append(
                    f'<circle class="mark" cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{s.color}">'
                    f"<title>{escape(tip)}</title></circle>"
                )
        if self.highlight is not None:
            x, y, label = self.highlight
            out.append(
                f'<circle class="mark best" cx="{px(x):.1f}" cy="{py(y):.1f}" r="6.5" fill="none" '
                f'stroke="#15803d" stroke-width="2.5"><title>{escape(label)}</title></circle>'
            )
        if self.legend and len(self.series) > 1:
            out.append(_legend([(s.name, s.color) for s in self.series], left, 14))
        out.append("</svg>")
        return "".join(out)


# --- horizontal bars and dots --------------------------------------------------------------------
@dataclass
class DotRow:
    label: str
    values: dict[str, tuple[float, str]]  # series name -> (value, tooltip)


@dataclass
class DotChart:
    """Rows of labelled values on one price axis: a bar for `bar_series`, dots for the others."""

    chart_id: str
    rows: list[DotRow]
    series: list[str]
    x_format: Formatter
    bar_series: str | None = None
    x_label: str = ""
    width: int = 720
    row_height: int = 22
    label_width: int = 110

    def render(self) -> str:
        values = [v for row in self.rows for v, _ in row.values.values()]
        if not values:
            return empty_chart(self.chart_id, "no data for this chart", self.width)
        colors = {name: color(i) for i, name in enumerate(self.series)}
        top, bottom, right = 30, 34, 56
        height = top + bottom + self.row_height * len(self.rows)
        ticks = nice_ticks(0 if self.bar_series else min(values), max(values))
        lo, hi = ticks[0], ticks[-1]
        plot_w = self.width - self.label_width - right

        def px(x: float) -> float:
            return self.label_width + (x - lo) / (hi - lo) * plot_w

        out = [_svg_open(self.chart_id, self.width, height, self.chart_id)]
        for tick in ticks:
            x = px(tick)
            out.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" y2="{height - bottom}" stroke="{GRID}"/>'
            )
            out.append(_text(x, height - bottom + 14, self.x_format(tick), anchor="middle"))
        if self.x_label:
            out.append(_text(self.label_width + plot_w / 2, height - 4, self.x_label, anchor="middle"))
        for i, row in enumerate(self.rows):
            cy = top + self.row_height * i + self.row_height / 2
            out.append(_text(self.label_width - 8, cy + 4, row.label, anchor="end", fill=INK))
            dots = [(name, row.values[name]) for name in self.series if name in row.values]
            for name, (value, tip) in dots:
                if name == self.bar_series:
                    x0 = px(lo)
                    out.append(
                        f'<rect class="mark" x="{x0:.1f}" y="{cy - 7:.1f}" width="{px(value) - x0:.1f}" '
                        f'height="14" rx="2" fill="{colors[name]}" fill-opacity="0.85">'
                        f"<title>{escape(tip)}</title></rect>"
                    )
                    out.append(_text(px(value) + 4, cy + 4, self.x_format(value), fill=INK, size=10))
            others = [(name, v) for name, v in dots if name != self.bar_series]
            if len(others) > 1:
                xs = [px(v) for _, (v, _) in others]
                out.append(
                    f'<line x1="{min(xs):.1f}" x2="{max(xs):.1f}" y1="{cy:.1f}" y2="{cy:.1f}" '
                    f'stroke="#9ca3af" stroke-width="2"/>'
                )
            for name, (value, tip) in others:
                out.append(
                    f'<circle class="mark" cx="{px(value):.1f}" cy="{cy:.1f}" r="5" fill="{colors[name]}" '
                    f'stroke="white" stroke-width="1"><title>{escape(tip)}</title></circle>'
                )
        if len(self.series) > 1 or self.bar_series is None:
            out.append(_legend([(n, colors[n]) for n in self.series], self.label_width, 14))
        out.append("</svg>")
        return "".join(out)


# --- heat map ------------------------------------------------------------------------------------
@dataclass
class HeatCell:
    shade: float  # 0 = cheapest colour .. 1 = dearest colour
    tooltip: str
    text: str = ""  # printed inside the cell when it is wide enough
    outline: bool = False  # drawn with a dark border (e.g. the best weekday)


@dataclass
class HeatMap:
    chart_id: str
    rows: list[str]
    columns: list[str]
    cells: dict[tuple[str, str], HeatCell]
    column_labels: dict[str, str] | None = None  # which columns get an axis label (default: all)
    cell_width: float = 0.0  # 0: fit the width
    cell_height: int = 16
    width: int = 960
    label_width: int = 110
    legend: tuple[str, str] = ("cheaper", "dearer")

    def render(self) -> str:
        if not self.cells:
            return empty_chart(self.chart_id, "no data for this chart", self.width)
        top, bottom = 34, 28
        cell_w = self.cell_width or (self.width - self.label_width - 10) / max(1, len(self.columns))
        width = int(self.label_width + cell_w * len(self.columns) + 10)
        height = top + bottom + self.cell_height * len(self.rows)
        out = [_svg_open(self.chart_id, width, height, self.chart_id)]
        outlines: list[str] = []
        labels = self.column_labels if self.column_labels is not None else {c: c for c in self.columns}
        for j, column in enumerate(self.columns):
            if column in labels:
                x = self.label_width + cell_w * j
                out.append(
                    _text(
                        x + (cell_w / 2 if self.column_labels is None else 0),
                        top - 8,
                        labels[column],
                        anchor="middle" if self.column_labels is None else "start",
                    )
                )
                if self.column_labels is not None:
                    out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" y2="{top}" stroke="{AXIS}"/>')
        for i, row in enumerate(self.rows):
            y = top + self.cell_height * i
            out.append(_text(self.label_width - 8, y + self.cell_height / 2 + 4, row, anchor="end", fill=INK))
            for j, column in enumerate(self.columns):
                cell = self.cells.get((row, column))
                x = self.label_width + cell_w * j
                if cell is None:
                    out.append(
                        f'<rect x="{x:.1f}" y="{y}" width="{cell_w:.2f}" height="{self.cell_height}" '
                        f'fill="#f3f4f6"/>'
                    )
                    continue
                stroke = ' stroke="white" stroke-width="0.5"'
                if cell.outline:  # drawn again on top once every cell is down, so no neighbour hides it
                    outlines.append(
                        f'<rect x="{x + 1:.1f}" y="{y + 1}" width="{cell_w - 2:.2f}" '
                        f'height="{self.cell_height - 2}" fill="none" stroke="#111827" stroke-width="2"/>'
                    )
                out.append(
                    f'<rect class="mark" x="{x:.1f}" y="{y}" width="{cell_w:.2f}" '
                    f'height="{self.cell_height}" '
                    f'fill="{ramp(cell.shade)}"{stroke}><title>{escape(cell.tooltip)}</title></rect>'
                )
                if cell.text and cell_w >= 34:
                    out.append(
                        _text(
                            x + cell_w / 2,
                            y + self.cell_height / 2 + 4,
                            cell.text,
                            anchor="middle",
                            fill=INK,
                            size=10,
                        )
                    )
        out.extend(outlines)
        # legend: the ramp
        lx, ly = self.label_width, height - 14
        stops = "".join(f'<stop offset="{t:.2f}" stop-color="{ramp(t)}"/>' for t in (0, 0.25, 0.5, 0.75, 1))
        gradient_id = f"ramp-{self.chart_id}"
        out.append(f'<defs><linearGradient id="{escape(gradient_id)}">{stops}</linearGradient></defs>')
        out.append(_text(lx, ly + 9, self.legend[0], fill=INK))
        gx = lx + 8 + 6.5 * len(self.legend[0])
        out.append(
            f'<rect x="{gx:.1f}" y="{ly}" width="120" height="10" fill="url(#{escape(gradient_id)})"/>'
        )
        out.append(_text(gx + 126, ly + 9, self.legend[1], fill=INK))
        out.append("</svg>")
        return "".join(out)
