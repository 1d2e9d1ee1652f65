"""Report building blocks without a database: chart primitives, formats, route parsing, and the
choice of departure dates for the price-history charts."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from itertools import pairwise

import pytest

from tickettrak.report import fmt
from tickettrak.report.charts import (
    Band,
    DotChart,
    DotRow,
    HeatCell,
    HeatMap,
    LineChart,
    Series,
    nice_ticks,
    ramp,
)
from tickettrak.report.data import parse_route, pick_focus_routes


@pytest.mark.parametrize(
    ("low", "high", "first", "last"),
    [
        (7466.0, 36239.0, 0.0, 40000.0),
        (12000.0, 16000.0, 12000.0, 16000.0),
        (1.0, 1.32, 1.0, 1.4),
        (0.0, 1.0, 0.0, 1.0),
        (5.0, 5.0, 5.0, 5.5),
    ],
)
def test_nice_ticks_cover_the_range_in_round_steps(
    low: float, high: float, first: float, last: float
) -> None:
    ticks = nice_ticks(low, high)
    assert ticks[0] == first and ticks[-1] == last
    steps = {round(b - a, 9) for a, b in pairwise(ticks)}
    assert len(steps) == 1
    mantissa = f"{steps.pop():e}".split("e")[0]
    assert float(mantissa) in (1.0, 2.0, 5.0)


def test_ramp_goes_green_to_red() -> None:
    assert ramp(0) == "#1a9850" and ramp(1) == "#d73027" and ramp(0.5) == "#fee08b"
    assert ramp(-3) == ramp(0) and ramp(7) == ramp(1)


def test_line_chart_marks_every_point_and_the_best_window() -> None:
    chart = LineChart(
        "c1",
        [Series("a", [(1, 1.2, "p1"), (2, 1.0, "p2"), (3, 1.1, "p3")]), Series("b", [(1, 1.3, "q1")])],
        fmt.ratio,
        band=Band(1.6, 2.4, "best"),
        highlight=(2, 1.0, "best window"),
        x_reversed=True,
    ).render()
    assert chart.startswith('<svg class="chart" data-chart="c1"')
    assert chart.count('class="mark"') == 4 and chart.count('class="mark best"') == 1
    assert 'class="band"' in chart and "<title>p2</title>" in chart
    # reversed axis: x=1 is right of x=3
    xs = [float(x) for x in re.findall(r'<circle class="mark" cx="([\d.]+)"', chart)[:3]]
    assert xs[0] > xs[1] > xs[2]


def test_empty_charts_say_so() -> None:
    for chart in (
        LineChart("e1", [], fmt.price).render(),
        DotChart("e2", [], ["x"], fmt.price).render(),
        HeatMap("e3", [], [], {}).render(),
    ):
        assert "no data for this chart" in chart and 'class="mark"' not in chart


def test_dot_chart_bars_and_dots() -> None:
    rows = [DotRow("MOW → DXB", {"average": (16000.0, "avg"), "cheapest seen": (12000.0, "min")})]
    chart = DotChart("d", rows, ["average", "cheapest seen"], fmt.price, bar_series="average").render()
    assert chart.count('<rect class="mark"') == 1 and chart.count('<circle class="mark"') == 1


def test_heat_map_outlines_drawn_last() -> None:
    cells = {("r", "a"): HeatCell(0, "t1", "1.00", outline=True), ("r", "b"): HeatCell(1, "t2")}
    chart = HeatMap("h", ["r"], ["a", "b", "c"], cells).render()
    assert chart.count('class="mark"') == 2
    assert chart.count('fill="#f3f4f6"') == 1  # the missing cell is grey, not a mark
    assert chart.rindex('stroke="#111827"') > chart.rindex('class="mark"')


def test_formats() -> None:
    assert fmt.price(Decimal("15687.00")) == "15\u202f687" and fmt.price(None) == "—"
    assert fmt.ratio(Decimal("1.0750")) == "1.08" and fmt.percent(Decimal("0.4200")) == "42%"
    assert fmt.raw(date(2026, 1, 1)) == "2026-01-01" and fmt.raw(True) == "true" and fmt.raw(None) == ""
    assert fmt.raw(Decimal("15687.00")) == "15687.00"


@pytest.mark.parametrize(
    ("text", "route"),
    [("MOW-DXB", ("MOW", "DXB")), ("led->auh", ("LED", "AUH")), ("kzn dxb", ("KZN", "DXB"))],
)
def test_parse_route(text: str, route: tuple[str, str]) -> None:
    assert parse_route(text) == route


@pytest.mark.parametrize("text", ["Moscow", "MOW", "MOW-DXB-AUH", "M0W-DXB"])
def test_parse_route_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="--route must look like MOW-DXB"):
        parse_route(text)


def test_focus_routes_are_the_most_observed() -> None:
    def row(o: str, d: str, airline: str, stops: str, offers: int) -> dict[str, object]:
        return {"origin": o, "destination": d, "airline": airline, "stops": stops, "offers_count": offers}

    rows = [
        row("MOW", "DXB", "ALL", "all", 10),
        row("MOW", "DXB", "ALL", "all", 15),
        row("LED", "DXB", "ALL", "all", 20),
        row("KZN", "AUH", "SU", "all", 99),
        row("KZN", "AUH", "ALL", "direct", 99),
        row("KZN", "AUH", "ALL", "all", 1),
    ]
    assert pick_focus_routes(rows, 2) == [("MOW", "DXB"), ("LED", "DXB")]
