"""The HTML report: one self-contained file (inline CSS and SVG, no network), built from the marts.

Every number in a table is a mart value: its cell carries `data-mart`, `data-key` (the mart's key
columns joined by `|`), `data-column` and `data-value` (the value exactly as the mart holds it),
so a reader can trace it and a test can compare it. Charts may aggregate (their captions say
how); tables never do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from html import escape
from typing import Any

from tickettrak.report import fmt
from tickettrak.report.charts import Band, DotChart, DotRow, HeatCell, HeatMap, LineChart, Series, color
from tickettrak.report.data import ReportData, Route
from tickettrak.report.marts import MARTS, Row

ALL = ("ALL", "all")  # airline, stops of the "every offer" rows of mart_avg_price_by_route
# Relative prices at 1 + this and above get the dearest colour.
RELATIVE_SCALE_TOP = Decimal("0.30")


# --- small building blocks -----------------------------------------------------------------------
def key_of(mart: str, row: Row) -> str:
    return "|".join(fmt.raw(row[k]) for k in MARTS[mart].key)


def num_cell(mart: str, row: Row, column: str, text: str, css: str = "num", title: str = "") -> str:
    tip = f' title="{escape(title)}"' if title else ""
    return (
        f'<td class="{css}" data-mart="{mart}" data-key="{escape(key_of(mart, row))}" '
        f'data-column="{column}" data-value="{escape(fmt.raw(row[column]))}"{tip}>{escape(text)}</td>'
    )


def value_span(mart: str, row: Row, column: str, text: str, title: str = "") -> str:
    """A mart value inside a table cell (when one cell shows two values)."""
    tip = f' title="{escape(title)}"' if title else ""
    return (
        f'<span data-mart="{mart}" data-key="{escape(key_of(mart, row))}" data-column="{column}" '
        f'data-value="{escape(fmt.raw(row[column]))}"{tip}>{escape(text)}</span>'
    )


def table(
    headers: Sequence[str],
    body: Iterable[str],
    css: str = "",
    numeric_from: int = 1,
    numeric_to: int | None = None,
) -> str:
    last = len(headers) if numeric_to is None else numeric_to
    head = "".join(
        f'<th class="{"num" if numeric_from <= i < last else ""}">{escape(h)}</th>'
        for i, h in enumerate(headers)
    )
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def figure(chart: str, caption: str, css: str = "") -> str:
    return f'<figure class="{css}">{chart}<figcaption>{caption}</figcaption></figure>'


def details(summary: str, content: str, open_: bool = False) -> str:
    return f"<details{' open' if open_ else ''}><summary>{escape(summary)}</summary>{content}</details>"


def weighted_avg(rows: Sequence[Row]) -> float | None:
    """Offer-weighted average of avg_price over rows (e.g. the months of one route)."""
    offers = sum(int(r["offers_count"]) for r in rows)
    if not offers:
        return None
    return float(sum(Decimal(r["avg_price"]) * int(r["offers_count"]) for r in rows) / offers)


def route_of(row: Row) -> Route:
    return row["origin"], row["destination"]


def label(row: Row) -> str:
    return fmt.route(row["origin"], row["destination"])


def trip_types(rows: Iterable[Row]) -> list[str]:
    present = {r["trip_type"] for r in rows}
    return [t for t in fmt.TRIP_TYPES if t in present]


def plural(n: int, word: str) -> str:
    return f"{fmt.count(n)} {word}{'' if n == 1 else 's'}"


# --- sections ------------------------------------------------------------------------------------
def section_avg_price(data: ReportData) -> str:
    cur = data.currency
    rows = data.avg_price
    if not rows:
        return _empty_section("avg-price", "Average price by route", "mart_avg_price_by_route is empty.")
    months = sorted({r["departure_month"] for r in rows})
    span = f"{fmt.month(months[0])} – {fmt.month(months[-1])}" if len(months) > 1 else fmt.month(months[0])
    parts = [
        '<section id="avg-price"><h2>Average price by route</h2>',
        f'<p class="lead">What a ticket costs on each route, over departures in {span}. Prices are '
        f"in {cur}; one-way and round-trip prices are kept apart (a round trip is the price of both "
        "legs).</p>",
    ]
    for trip in trip_types(rows):
        trip_rows = [r for r in rows if r["trip_type"] == trip]
        base = [r for r in trip_rows if (r["airline"], r["stops"]) == ALL]
        by_route: dict[Route, list[Row]] = defaultdict(list)
        for r in base:
            by_route[route_of(r)].append(r)
        averages = {rt: weighted_avg(rs) for rt, rs in by_route.items()}
        ordered = sorted(by_route, key=lambda rt: (averages[rt] or 0, rt))
        offers = sum(int(r["offers_count"]) for r in base)
        chart_rows = []
        for rt in ordered:
            lowest = min(Decimal(r["min_price"]) for r in by_route[rt])
            avg = averages[rt] or 0.0
            chart_rows.append(
                DotRow(
                    fmt.route(*rt),
                    {
                        "average": (avg, f"{fmt.route(*rt)}: average {fmt.price(avg)} {cur}"),
                        "cheapest seen": (
                            float(lowest),
                            f"{fmt.route(*rt)}: cheapest seen {fmt.price(lowest)} {cur}",
                        ),
                    },
                )
            )
        chart = DotChart(
            f"avg-price-{trip}",
            chart_rows,
            ["average", "cheapest seen"],
            fmt.price,
            bar_series="average",
            x_label=f"price, {cur}",
        ).render()
        parts.append(f"<h3>{fmt.TRIP_LABEL[trip].capitalize()}</h3>")
        parts.append(
            figure(
                chart,
                (
                    f"Bars: the average price per route ({fmt.TRIP_LABEL[trip]}, every airline, every "
                    "offer), "
                    f"weighted by offers over the departure months; dots: the cheapest offer seen. From "
                    f"{plural(offers, 'price observation')} on {plural(len(by_route), 'route')}."
                ),
            )
        )
        parts.append(_avg_pivot(base, months, "avg_price", "Average price by departure month", cur))
        parts.append(_airline_and_stops(trip, trip_rows, cur))
    parts.append("</section>")
    return "".join(parts)


def _avg_pivot(
    rows: Sequence[Row], months: Sequence[date], column: str, title: str, cur: str, row_label: Any = label
) -> str:
    grid: dict[str, dict[date, Row]] = defaultdict(dict)
    for r in rows:
        grid[row_label(r)][r["departure_month"]] = r
    body = []
    for name in sorted(grid):
        cells = []
        for m in months:
            found = grid[name].get(m)
            if found is None:
                cells.append('<td class="num muted">—</td>')
                continue
            tip = (
                f"median {fmt.price(found['median_price'])}, min {fmt.price(found['min_price'])}, "
                f"max {fmt.price(found['max_price'])} {cur}; {found['offers_count']} offers, "
                f"{found['departure_dates_count']} departure dates"
            )
            cells.append(
                num_cell("mart_avg_price_by_route", found, column, fmt.price(found[column]), title=tip)
            )
        body.append(f"<tr><th>{escape(name)}</th>{''.join(cells)}</tr>")
    return f"<h4>{escape(title)} ({cur})</h4>" + table(
        ["route", *[fmt.month(m) for m in months]], body, "pivot"
    )


def _airline_and_stops(trip: str, rows: Sequence[Row], cur: str) -> str:
    months = sorted({r["departure_month"] for r in rows})
    airline_rows = [r for r in rows if r["airline"] != "ALL" and r["stops"] == "all"]
    stops_rows = [r for r in rows if r["airline"] == "ALL" and r["stops"] != "all"]
    out = []
    for rows_, series_of, name, noun in (
        (airline_rows, lambda r: r["airline"], "airline", "each airline"),
        (stops_rows, lambda r: fmt.STOPS_LABEL[r["stops"]], "stops", "direct and with-stops offers"),
    ):
        groups: dict[Route, dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
        for r in rows_:
            groups[route_of(r)][series_of(r)].append(r)
        frequency: dict[str, int] = defaultdict(int)
        for r in rows_:
            frequency[series_of(r)] += int(r["offers_count"])
        series = sorted(frequency, key=lambda s: (-frequency[s], s))
        if name == "stops":
            series = [s for s in ("direct", "with stops") if s in frequency]
        chart_rows = []
        for rt in sorted(groups):
            values = {}
            for s, rs in groups[rt].items():
                avg = weighted_avg(rs)
                if avg is not None:
                    values[s] = (
                        avg,
                        f"{fmt.route(*rt)} · {s}: average {fmt.price(avg)} {cur} "
                        f"({sum(int(r['offers_count']) for r in rs)} offers)",
                    )
            chart_rows.append(DotRow(fmt.route(*rt), values))
        offers = sum(frequency.values())
        title = "By airline" if name == "airline" else "Direct vs with stops"
        chart = DotChart(
            f"avg-price-{name}-{trip}", chart_rows, series, fmt.price, x_label=f"price, {cur}"
        ).render()
        caption = (
            f"The average price per route for {noun} ({fmt.TRIP_LABEL[trip]}), weighted by "
            f"offers over the departure months. From {plural(offers, 'price observation')}."
        )
        if name == "stops":
            caption += " Direct: no transfer on either leg."
        pivot = _avg_pivot(
            rows_,
            months,
            "avg_price",
            f"{title}: average price by departure month",
            cur,
            row_label=lambda r, f=series_of: f"{label(r)} · {f(r)}",
        )
        out.append(f"<h4>{title} — {fmt.TRIP_LABEL[trip]}</h4>")
        out.append(figure(chart, caption))
        out.append(details(f"Table: {title.lower()}, by departure month", pivot))
    return "".join(out)


def section_price_history(data: ReportData) -> str:
    cur = data.currency
    by_chart: dict[tuple[str, str, str], dict[date, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for r in data.dynamics:
        by_chart[(r["origin"], r["destination"], r["trip_type"])][r["departure_date"]].append(r)
    head = (
        '<section id="price-history"><h2>Price history of chosen departure dates</h2>'
        '<p class="lead">How the cheapest offer for a departure date moved as the date came closer: '
        f"one line per departure date, for {_focus_text(data.focus_routes)}. The dates are spread over the "
        "calendar (nearest, farthest, between) among those observed on the most days. Time runs left "
        "to right: departure is at 0.</p>"
    )
    if not by_chart:
        return (
            head + figure(_empty("price-history", "no price history for the focus routes"), "") + "</section>"
        )
    cards = []
    for (origin, destination, trip), dates in sorted(by_chart.items()):
        series = []
        for i, (dep, rows) in enumerate(sorted(dates.items())):
            points = [
                (
                    float(r["days_before_departure"]),
                    float(r["min_price"]),
                    f"departure {dep}, observed {r['observed_date']} "
                    f"({r['days_before_departure']} days before): "
                    f"{fmt.price(r['min_price'])} {cur}, {r['offers_count']} offers",
                )
                for r in rows
            ]
            series.append(Series(f"departs {dep:%d %b}", points, color(i)))
        observations = sum(len(rows) for rows in dates.values())
        chart = LineChart(
            f"history-{origin}-{destination}-{trip}",
            series,
            fmt.price,
            x_label="days before departure",
            y_label=cur,
            x_reversed=True,
            x_include=(0.0,),
            width=560,
            height=260,
        ).render()
        caption = (
            f"<b>{fmt.route(origin, destination)}, {fmt.TRIP_LABEL[trip]}</b>: cheapest offer per "
            f"observation day for {plural(len(dates), 'departure date')} "
            f"({plural(observations, 'observation day')} in all)."
        )
        cards.append(f'<div class="card">{figure(chart, caption)}{_history_table(dates, cur)}</div>')
    return head + f'<div class="grid wide">{"".join(cards)}</div></section>'


def _focus_text(routes: Sequence[Route]) -> str:
    if not routes:
        return "the focus routes (none has data yet)"
    return f"the {plural(len(routes), 'focus route')} ({', '.join(fmt.route(*r) for r in routes)})"


def _history_table(dates: dict[date, list[Row]], cur: str) -> str:
    body = []
    for dep, rows in sorted(dates.items()):
        by_day = sorted(rows, key=lambda r: r["observed_date"])
        first, latest = by_day[0], by_day[-1]
        cheapest = min(by_day, key=lambda r: (r["min_price"], r["observed_date"]))
        cells = "".join(
            '<td class="num">'
            + value_span(
                "mart_price_dynamics",
                r,
                "min_price",
                fmt.price(r["min_price"]),
                f"observed {r['observed_date']}",
            )
            + ' <small class="muted">at '
            + value_span("mart_price_dynamics", r, "days_before_departure", str(r["days_before_departure"]))
            + " d</small></td>"
            for r in (first, cheapest, latest)
        )
        body.append(f"<tr><th>{dep:%d %b %Y}</th><td class='num'>{len(rows)}</td>{cells}</tr>")
    return table(
        ["departure", "days seen", f"first seen, {cur}", f"cheapest, {cur}", f"latest, {cur}"],
        body,
        "compact",
    )


def section_best_time(data: ReportData) -> str:
    rows = data.best_time
    head = (
        '<section id="best-time"><h2>Best time to buy</h2>'
        '<p class="lead">How many days before departure the price is lowest. Each value is the median, '
        "over departure dates, of the day's cheapest price divided by the lowest price that departure "
        "date ever had: 1.00 = its best price, 1.20 = 20% above it. The best booking window (green) is "
        "the lowest median among the windows backed by enough departure dates; the number under each "
        "window says how many it has, so a lower but thinly backed point can lose.</p>"
    )
    if not rows:
        return (
            head
            + figure(_empty("best-time", "mart_best_time_to_buy is empty (too few observation days?)"), "")
            + "</section>"
        )
    groups: dict[tuple[str, str, str], list[Row]] = defaultdict(list)
    for r in rows:
        groups[(r["origin"], r["destination"], r["trip_type"])].append(r)
    for rs in groups.values():
        rs.sort(key=lambda r: r["bucket_order"])
    focus = set(data.focus_routes)
    cards = [
        _best_time_card(key, rs)
        for key, rs in sorted(groups.items(), key=lambda kv: (kv[0][2] != "round_trip", kv[0]))
        if (key[0], key[1]) in focus
    ]
    curves = f'<h3>Curves for the focus routes</h3><div class="grid">{"".join(cards)}</div>' if cards else ""
    return (
        head
        + curves
        + _best_time_heatmap(groups)
        + details("Table: median relative price by booking window", _best_time_table(groups))
        + _weekday_part(data)
        + "</section>"
    )


def _best_time_card(key: tuple[str, str, str], rs: Sequence[Row]) -> str:
    origin, destination, trip = key
    points = [
        (
            float(r["bucket_order"]),
            float(r["median_relative_price"]),
            f"{r['days_bucket']} days before: median {fmt.ratio(r['median_relative_price'])}× the "
            f"eventual minimum ({r['observations_count']} observations of "
            f"{r['departure_dates_count']} dates)",
        )
        for r in rs
    ]
    best = next((r for r in rs if r["is_best_bucket"]), None)
    band = highlight = None
    if best is not None:
        order = float(best["bucket_order"])
        band = Band(order - 0.45, order + 0.45, "best")
        highlight = (order, float(best["median_relative_price"]), f"best window: {best['days_bucket']} days")
    ticks = [(float(i), b) for i, b in enumerate(reversed(fmt.BUCKET_ORDER), start=1)]
    notes = {float(r["bucket_order"]): f"n={r['departure_dates_count']}" for r in rs}
    chart = LineChart(
        f"best-time-{origin}-{destination}-{trip}",
        [Series("median", points, color(0))],
        fmt.ratio,
        x_ticks=ticks,
        x_notes=notes,
        x_include=(0.5, 6.5),
        x_reversed=True,
        band=band,
        highlight=highlight,
        reference_y=(1.0, "best price"),
        x_label="days before departure (n = departure dates)",
        width=360,
        height=214,
        margin=(16, 12, 54, 44),
    ).render()
    observations = sum(int(r["observations_count"]) for r in rs)
    verdict = (
        f"best {best['days_bucket']} days ahead ({fmt.ratio(best['median_relative_price'])}×)"
        if best
        else "no window has enough departure dates yet"
    )
    caption = (
        f"<b>{fmt.route(origin, destination)}, {fmt.TRIP_LABEL[trip]}</b>: {verdict}; "
        f"{plural(observations, 'observation')}."
    )
    return f'<div class="card">{figure(chart, caption)}</div>'


def _best_time_heatmap(groups: dict[tuple[str, str, str], list[Row]]) -> str:
    names: list[str] = []
    cells: dict[tuple[str, str], HeatCell] = {}
    columns = [f"{b} d" for b in fmt.BUCKET_ORDER]
    for (origin, destination, trip), rs in sorted(groups.items(), key=lambda kv: (kv[0][2], kv[0])):
        name = f"{fmt.route(origin, destination)} · {fmt.TRIP_LABEL[trip]}"
        names.append(name)
        for r in rs:
            value = Decimal(r["median_relative_price"])
            cells[(name, f"{r['days_bucket']} d")] = HeatCell(
                # One scale for every row: the values share a unit (× the best price).
                float((value - 1) / RELATIVE_SCALE_TOP),
                f"{name}, {r['days_bucket']} days before: median {fmt.ratio(value)}× the best price "
                f"({r['departure_dates_count']} departure dates, {r['observations_count']} observations)"
                + (" — the best window" if r["is_best_bucket"] else ""),
                fmt.ratio(value),
                bool(r["is_best_bucket"]),
            )
    observations = sum(int(r["observations_count"]) for rs in groups.values() for r in rs)
    chart = HeatMap(
        "best-time-all",
        names,
        columns,
        cells,
        cell_height=18,
        width=700,
        label_width=190,
        legend=("1.00 (the best price)", f"≥ {1 + RELATIVE_SCALE_TOP:.2f}"),
    ).render()
    caption = (
        f"Every route ({plural(len(names), 'route and trip type')}): the median relative price by booking "
        "window, far from departure on the left; one colour scale for all rows (green = the best price, "
        "red = 30% or more above it), the outlined cell is the route's best window. From "
        f"{plural(observations, 'observation')}."
    )
    return "<h3>Every route</h3>" + figure(chart, caption)


def _best_time_table(groups: dict[tuple[str, str, str], list[Row]]) -> str:
    body = []
    for (origin, destination, trip), rs in sorted(groups.items()):
        by_bucket = {r["days_bucket"]: r for r in rs}
        cells = []
        for bucket in fmt.BUCKET_ORDER:
            found = by_bucket.get(bucket)
            if found is None:
                cells.append('<td class="num muted">—</td>')
                continue
            css = "num best" if found["is_best_bucket"] else "num"
            tip = (
                f"{found['observations_count']} observations of {found['departure_dates_count']} "
                "departure dates"
            )
            cells.append(
                num_cell(
                    "mart_best_time_to_buy",
                    found,
                    "median_relative_price",
                    fmt.ratio(found["median_relative_price"]),
                    css,
                    tip,
                )
            )
        best = next((r["days_bucket"] for r in rs if r["is_best_bucket"]), "—")
        body.append(
            f"<tr><th>{fmt.route(origin, destination)}</th><td>{fmt.TRIP_LABEL[trip]}</td>"
            f"{''.join(cells)}<td>{escape(best)}</td></tr>"
        )
    return table(
        ["route", "trip", *[f"{b} days" for b in fmt.BUCKET_ORDER], "best window"],
        body,
        "pivot",
        numeric_from=2,
        numeric_to=8,
    )


def _weekday_part(data: ReportData) -> str:
    rows = data.best_weekday
    if not rows:
        return ""
    groups: dict[tuple[str, str, str], dict[int, Row]] = defaultdict(dict)
    for r in rows:
        groups[(r["origin"], r["destination"], r["trip_type"])][int(r["purchase_weekday"])] = r
    names = [f"{fmt.route(o, d)} · {fmt.TRIP_LABEL[t]}" for o, d, t in sorted(groups)]
    cells: dict[tuple[str, str], HeatCell] = {}
    body = []
    for name, (_, by_day) in zip(names, sorted(groups.items()), strict=True):
        values = [Decimal(r["median_relative_price"]) for r in by_day.values()]
        lo, hi = min(values), max(values)
        table_cells = []
        for weekday, day_name in enumerate(fmt.WEEKDAYS, start=1):
            found = by_day.get(weekday)
            if found is None:
                table_cells.append('<td class="num muted">—</td>')
                continue
            value = Decimal(found["median_relative_price"])
            cells[(name, day_name)] = HeatCell(
                float((value - lo) / (hi - lo)) if hi > lo else 0.5,
                f"{name}, bought on {found['weekday_name']}: median {fmt.ratio(value)}× the eventual minimum "
                f"({found['observations_count']} observations)",
                fmt.ratio(value),
                bool(found["is_best_weekday"]),
            )
            css = "num best" if found["is_best_weekday"] else "num"
            table_cells.append(
                num_cell("mart_best_weekday_to_buy", found, "median_relative_price", fmt.ratio(value), css)
            )
        body.append(f"<tr><th>{escape(name)}</th>{''.join(table_cells)}</tr>")
    observations = sum(int(r["observations_count"]) for r in rows)
    chart = HeatMap(
        "best-weekday",
        names,
        list(fmt.WEEKDAYS),
        cells,
        cell_height=20,
        width=720,
        label_width=190,
        legend=("cheaper day", "dearer day"),
    ).render()
    caption = (
        "Median relative price by the weekday the price was seen (the day you would buy), per route; "
        "colours compare the weekdays of one route, the outlined cell is its best weekday. From "
        f"{plural(observations, 'observation')}."
    )
    return (
        "<h3>Which weekday to buy on</h3>"
        + figure(chart, caption)
        + details(
            "Table: median relative price by purchase weekday", table(["route", *fmt.WEEKDAYS], body, "pivot")
        )
    )


def section_calendar(data: ReportData) -> str:
    cur = data.currency
    rows = data.upcoming
    head = (
        '<section id="calendar"><h2>Price calendar</h2>'
        '<p class="lead">The latest cheapest price of every upcoming departure date, route by route: '
        "green is the route's cheapest date, red its dearest (colours are scaled per route, so routes "
        "with different price levels read the same way). Hover a cell for the price.</p>"
    )
    if not rows:
        return (
            head
            + figure(_empty("calendar", "no upcoming departures in mart_optimal_purchase_dates"), "")
            + "</section>"
        )
    out = [head]
    for trip in trip_types(rows):
        trip_rows = [r for r in rows if r["trip_type"] == trip]
        dates = sorted({r["departure_date"] for r in trip_rows})
        all_days = [dates[0] + timedelta(days=i) for i in range((dates[-1] - dates[0]).days + 1)]
        columns = [d.isoformat() for d in all_days]
        column_labels = _calendar_labels(all_days)
        by_route: dict[str, list[Row]] = defaultdict(list)
        for r in trip_rows:
            by_route[label(r)].append(r)
        cells = {}
        for name, rs in by_route.items():
            prices = [Decimal(r["latest_min_price"]) for r in rs]
            lo, hi = min(prices), max(prices)
            for r in rs:
                value = Decimal(r["latest_min_price"])
                cells[(name, r["departure_date"].isoformat())] = HeatCell(
                    float((value - lo) / (hi - lo)) if hi > lo else 0.5,
                    f"{name}, departs {r['departure_date']:%a %d %b %Y}: {fmt.price(value)} {cur} "
                    f"(seen {r['latest_observed_date']}, {r['verdict']})",
                )
        names = sorted(by_route)
        chart = HeatMap(
            f"calendar-{trip}", names, columns, cells, column_labels=column_labels, cell_height=16, width=1100
        ).render()
        caption = (
            f"{fmt.TRIP_LABEL[trip].capitalize()}: {plural(len(names), 'route')} × "
            f"{plural(len(dates), 'departure date')} ({dates[0]} – {dates[-1]}), "
            f"{plural(len(trip_rows), 'price')}; grey = no offer seen for that date."
        )
        out.append(f"<h3>{fmt.TRIP_LABEL[trip].capitalize()}</h3>" + figure(chart, caption, "scroll"))
    out.append("</section>")
    return "".join(out)


def _calendar_labels(days: Sequence[date]) -> dict[str, str]:
    """Axis labels: the first day of each month, and the first column unless a month starts
    within its first week (the two labels would overlap)."""
    labels = {d.isoformat(): f"{d:%d %b}" for d in days if d.day == 1}
    if days and days[0].day != 1 and not any(d.day == 1 for d in days[:8]):
        labels[days[0].isoformat()] = f"{days[0]:%d %b}"
    return labels


def section_upcoming(data: ReportData) -> str:
    cur = data.currency
    as_of: dict[tuple[str, str, str], date] = {}
    for r in data.upcoming:
        key = (r["origin"], r["destination"], r["trip_type"])
        seen = r.get("as_of_date") or r["latest_observed_date"]
        as_of[key] = max(as_of.get(key, seen), seen)
    rows = [
        r
        for r in data.upcoming
        if r["departure_date"]
        <= as_of[(r["origin"], r["destination"], r["trip_type"])] + timedelta(days=data.upcoming_days)
    ]
    rows.sort(
        key=lambda r: (r["origin"], r["destination"], r["trip_type"] != "round_trip", r["departure_date"])
    )
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r["verdict"]] += 1
        counts[r["recommendation"]] += 1
    has_reason = any("recommendation_reason" in r for r in rows)
    body = []
    for r in rows:
        reason = (
            f"<td class='reason'>{escape(r.get('recommendation_reason') or '')}</td>" if has_reason else ""
        )
        body.append(
            f"<tr><th>{label(r)}</th><td>{fmt.TRIP_LABEL[r['trip_type']]}</td>"
            f"<td>{r['departure_date']:%a %d %b %Y}</td>"
            + num_cell(
                "mart_optimal_purchase_dates", r, "days_before_departure", str(r["days_before_departure"])
            )
            + num_cell(
                "mart_optimal_purchase_dates",
                r,
                "latest_min_price",
                fmt.price(r["latest_min_price"]),
                title=f"seen {r['latest_observed_date']}",
            )
            + num_cell(
                "mart_optimal_purchase_dates",
                r,
                "price_percentile",
                fmt.percent(r["price_percentile"]),
                title=f"among {r['history_observations']} past prices at this horizon",
            )
            + f"<td><span class='pill {r['verdict']}'>{r['verdict']}</span></td>"
            + f"<td><span class='pill {r['recommendation']}'>"
            + f"{r['recommendation'].replace('_', ' ')}</span></td>"
            + reason
            + "</tr>"
        )
    total = len(data.upcoming)
    summary = (
        f"{plural(len(rows), 'departure')} in the next {data.upcoming_days} days of "
        f"{fmt.count(total)} upcoming: <span class='pill low'>{counts['low']} low</span> "
        f"<span class='pill typical'>{counts['typical']} typical</span> "
        f"<span class='pill high'>{counts['high']} high</span> · "
        f"<span class='pill buy_now'>{counts['buy_now']} buy now</span> "
        f"<span class='pill wait'>{counts['wait']} wait</span>"
    )
    headers = [
        "route",
        "trip",
        "departure",
        "days left",
        f"latest price, {cur}",
        "percentile",
        "verdict",
        "advice",
        *(["why"] if has_reason else []),
    ]
    return (
        '<section id="upcoming"><h2>Upcoming departures: buy now or wait?</h2>'
        '<p class="lead">For each upcoming departure date, the latest cheapest price and where it sits among '
        "the route's past prices at the same distance from departure (percentile: 0% = cheaper than "
        "everything seen, 100% = dearer). Low ≤ 33%, high ≥ 67%. Advice: buy now when the price is low or "
        f"the route's best booking window has been reached; otherwise wait.</p><p>{summary}</p>"
        + f'<div class="scroll tall">{table(headers, body, "upcoming", numeric_from=3, numeric_to=6)}</div>'
        + "<p class='note'>The CSV / JSON export (<code>tickettrak report --format csv</code>) has every "
        "upcoming date.</p></section>"
    )


def _empty(chart_id: str, message: str) -> str:
    from tickettrak.report.charts import empty_chart

    return empty_chart(chart_id, message)


def _empty_section(section_id: str, title: str, message: str) -> str:
    return f'<section id="{section_id}"><h2>{title}</h2>{figure(_empty(section_id, message), "")}</section>'


# --- the page ------------------------------------------------------------------------------------
STYLE = """
:root{--ink:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#f8fafc;--card:#fff;--accent:#2563eb}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
  font:14px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}
header{background:linear-gradient(120deg,#1e3a8a,#2563eb);color:#fff;padding:28px 40px 22px}
header h1{margin:0 0 4px;font-size:26px}
header p{margin:0;opacity:.9}
.stats{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}
.stat{background:rgba(255,255,255,.12);border-radius:10px;padding:8px 14px;min-width:130px}
.stat b{display:block;font-size:20px}
.stat span{font-size:12px;opacity:.85}
nav{padding:10px 40px;background:#fff;border-bottom:1px solid var(--line);position:sticky;top:0;z-index:1}
nav a{margin-right:18px;color:var(--accent);text-decoration:none;font-weight:500}
main{max-width:1240px;margin:0 auto;padding:8px 32px 40px}
section{background:var(--card);border:1px solid var(--line);border-radius:12px;
  padding:18px 24px;margin:22px 0}
h2{margin:4px 0 6px;font-size:20px}
h3{margin:18px 0 6px;font-size:16px}
h4{margin:14px 0 6px;font-size:14px;color:#374151}
.lead{color:#374151;max-width:900px;margin-top:0}
figure{margin:8px 0 14px}
figcaption{color:var(--muted);font-size:12.5px;margin-top:4px;max-width:900px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:14px}
.grid.wide{grid-template-columns:repeat(auto-fill,minmax(520px,1fr))}
.card{border:1px solid var(--line);border-radius:10px;padding:10px 12px}
table{border-collapse:collapse;font-size:12.5px;margin:6px 0 12px;width:auto}
th,td{padding:3px 9px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
thead th{position:sticky;top:0;background:#f1f5f9;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.best{background:#dcfce7;font-weight:700}
td.muted{color:#cbd5e1}
small.muted{color:var(--muted)}
td.reason{color:var(--muted)}
table.compact{margin-top:2px}
details{margin:4px 0 10px}
summary{cursor:pointer;color:var(--accent);font-weight:500}
.scroll{overflow-x:auto}
.scroll.tall{max-height:620px;overflow-y:auto;border:1px solid var(--line);border-radius:8px}
.scroll.tall table{margin:0}
.pill{display:inline-block;padding:0 8px;border-radius:999px;font-size:12px;font-weight:600}
.pill.low,.pill.buy_now{background:#dcfce7;color:#166534}
.pill.typical{background:#f1f5f9;color:#334155}
.pill.high,.pill.wait{background:#fee2e2;color:#991b1b}
.note{color:var(--muted);font-size:12.5px}
footer{color:var(--muted);font-size:12px;text-align:center;padding:10px 0 30px}
"""

# Runs once the page is laid out: counts the drawn marks of every chart (getBBox needs layout), so
# a headless browser's DOM dump says whether each chart really rendered. The report needs no JS.
RENDER_CHECK = """
for (const svg of document.querySelectorAll('svg.chart')) {
  let drawn = 0;
  for (const mark of svg.querySelectorAll('.mark')) {
    const box = mark.getBBox();
    if (box.width > 0 && box.height > 0) drawn++;
  }
  svg.setAttribute('data-rendered-marks', String(drawn));
}
document.documentElement.setAttribute('data-render-checked', 'true');
"""


def render_html(data: ReportData, generated_at: datetime) -> str:
    cov = data.coverage
    observed = f"{cov.first_observed} – {cov.last_observed}" if cov.first_observed else "none yet"
    scope = (
        ("routes " + ", ".join(fmt.route(*r) for r in data.route_filter))
        if data.route_filter
        else "every route"
    )
    stats = "".join(
        f'<div class="stat"><b>{escape(value)}</b><span>{escape(name)}</span></div>'
        for value, name in (
            (fmt.count(cov.routes), "routes"),
            (fmt.count(cov.observation_days), f"observation days ({observed})"),
            (fmt.count(cov.observations), "price observations"),
            (fmt.count(cov.departure_dates), "departure dates"),
            (data.currency, "currency"),
        )
    )
    sections = [
        section_avg_price(data),
        section_price_history(data),
        section_best_time(data),
        section_calendar(data),
        section_upcoming(data),
    ]
    nav = "".join(
        f'<a href="#{i}">{t}</a>'
        for i, t in (
            ("avg-price", "Average price"),
            ("price-history", "Price history"),
            ("best-time", "Best time to buy"),
            ("calendar", "Price calendar"),
            ("upcoming", "Upcoming: buy or wait"),
        )
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>TicketTrak report — {escape(observed)}</title><style>{STYLE}</style></head><body>"
        "<header><h1>TicketTrak — flight prices, Russia ↔ UAE</h1>"
        f"<p>Aviasales price sightings collected daily, analysed by dbt; {escape(scope)}. "
        f"Generated {generated_at:%Y-%m-%d %H:%M} UTC.</p><div class='stats'>{stats}</div></header>"
        f"<nav>{nav}</nav><main>{''.join(sections)}</main>"
        "<footer>Source: PostgreSQL marts dwh.mart_avg_price_by_route, mart_price_dynamics, "
        "mart_best_time_to_buy, mart_best_weekday_to_buy, mart_optimal_purchase_dates · "
        "tickettrak report</footer>"
        f"<script>{RENDER_CHECK}</script></body></html>"
    )
