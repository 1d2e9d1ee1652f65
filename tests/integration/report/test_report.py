"""`tickettrak report` over hand-made marts: every table number is the mart's, the HTML is
self-contained, every chart renders with data points in headless Chromium, and the CSV / JSON
exports and the terminal summary hold the marts."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.integration.report.png import colour_stats
from tickettrak.report import fmt
from tickettrak.report.marts import MARTS

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
TICKETTRAK = REPO / ".venv" / "bin" / "tickettrak"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def run_report(dsn: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETTRAK_")}
    env |= {
        "TICKETTRAK_POSTGRES_DSN": dsn,
        "TICKETTRAK_HOME": str(cwd / "home"),
        "COLUMNS": "160",
        "TICKETTRAK_LOG_FORMAT": "json",
    }
    return subprocess.run(
        [str(TICKETTRAK), "report", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def mart_rows(dsn: str) -> dict[str, dict[str, dict[str, Any]]]:
    """Every mart row as the database holds it, by mart and key (`|`-joined key columns)."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        for name, mart in MARTS.items():
            rows = conn.execute(f"select * from dwh.{name}").fetchall()
            found[name] = {"|".join(fmt.raw(r[k]) for k in mart.key): r for r in rows}
    return found


class MartValues(HTMLParser):
    """Collects every element carrying a mart value, with its text; and every chart."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[dict[str, str]] = []
        self.charts: list[dict[str, str]] = []
        self.marks: Counter[str] = Counter()
        self._open: list[dict[str, str] | None] = []
        self._chart: str | None = None
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("script", "img", "link", "iframe", "source") and (a.get("src") or a.get("href")):
            self.external.append(f"{tag} {a.get('src') or a.get('href')}")
        if tag == "svg" and "chart" in a.get("class", "").split():
            self.charts.append(a)
            self._chart = a["data-chart"]
        if self._chart and "mark" in a.get("class", "").split():
            self.marks[self._chart] += 1
        if "data-mart" in a:
            a["text"] = ""
            self.values.append(a)
            self._open.append(a)
        elif tag not in ("br", "img", "meta", "link", "rect", "circle", "line", "stop", "polyline"):
            self._open.append(None)

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._chart = None
        if (
            tag not in ("br", "img", "meta", "link", "rect", "circle", "line", "stop", "polyline")
            and self._open
        ):
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for element in self._open:
            if element is not None:
                element["text"] += data


def parse(html: str) -> MartValues:
    parser = MartValues()
    parser.feed(html)
    return parser


def shown_number(text: str) -> Decimal:
    cleaned = text.replace("\u202f", "").replace("%", "").strip()
    return Decimal(cleaned)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """Outputs, Chromium profiles and the screenshot (TICKETTRAK_TEST_KEEP_REPORT=1 keeps them)."""
    path = Path(tempfile.mkdtemp(prefix="tt-report-test-"))
    path.chmod(0o755)
    yield path
    if os.environ.get("TICKETTRAK_TEST_KEEP_REPORT") != "1":
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def report_html(marts_dsn: str, workdir: Path) -> Path:
    target = workdir / "out" / "report.html"
    result = run_report(marts_dsn, "--output", str(target), "--no-terminal", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"report: {target}"
    assert not list(target.parent.glob("*.partial"))
    return target


def test_every_table_number_is_the_marts(report_html: Path, marts_dsn: str) -> None:
    marts = mart_rows(marts_dsn)
    page = parse(report_html.read_text())
    assert page.values, "no mart value in the report"
    for element in page.values:
        row = marts[element["data-mart"]].get(element["data-key"])
        assert row is not None, f"{element['data-mart']} has no row {element['data-key']}"
        column = element["data-column"]
        assert element["data-value"] == fmt.raw(row[column]), (element, row[column])
        # What a reader sees is that value, rounded for display.
        if row[column] is None:
            assert element["text"].strip() == "—"
            continue
        shown = shown_number(element["text"].split(" at ")[0])
        value = Decimal(row[column]) * (100 if column == "price_percentile" else 1)
        places = {"median_relative_price": Decimal("0.01")}.get(column, Decimal("1"))
        assert shown == value.quantize(places), (element, row[column])

    by_mart = Counter(e["data-mart"] for e in page.values)
    assert set(by_mart) == set(MARTS)
    # Whole marts that the report shows in full, one number per row:
    shown_keys = {(e["data-mart"], e["data-key"]) for e in page.values}
    for name in ("mart_best_time_to_buy", "mart_best_weekday_to_buy"):
        assert {(name, key) for key in marts[name]} <= shown_keys, f"{name} rows missing from the tables"
    every_avg = {
        k
        for k, r in marts["mart_avg_price_by_route"].items()
        if (r["airline"] == "ALL") or r["stops"] == "all"
    }
    assert {("mart_avg_price_by_route", k) for k in every_avg} <= shown_keys
    upcoming = {
        k
        for k, r in marts["mart_optimal_purchase_dates"].items()
        if (r["departure_date"] - r["as_of_date"]).days <= 30
    }
    assert {("mart_optimal_purchase_dates", k) for k in upcoming} <= shown_keys
    assert by_mart["mart_price_dynamics"] >= 2 * 3 * 3 * 8  # 2 values x 3 points x 3 dates x 8 charts


def test_upcoming_table_shows_verdict_and_advice(report_html: Path, marts_dsn: str) -> None:
    html = report_html.read_text()
    marts = mart_rows(marts_dsn)["mart_optimal_purchase_dates"]
    soon = [r for r in marts.values() if (r["departure_date"] - r["as_of_date"]).days <= 30]
    verdicts = Counter(r["verdict"] for r in soon)
    advice = Counter(r["recommendation"] for r in soon)
    assert f"<span class='pill low'>{verdicts['low']} low</span>" in html
    assert f"<span class='pill high'>{verdicts['high']} high</span>" in html
    assert f"<span class='pill buy_now'>{advice['buy_now']} buy now</span>" in html
    assert html.count("<span class='pill low'>low</span>") == verdicts["low"]
    assert "price is low for this horizon" in html


def test_captions_say_how_much_data(report_html: Path, marts_dsn: str) -> None:
    html = report_html.read_text()
    marts = mart_rows(marts_dsn)
    offers = sum(
        r["offers_count"]
        for r in marts["mart_avg_price_by_route"].values()
        if r["trip_type"] == "round_trip" and r["airline"] == "ALL" and r["stops"] == "all"
    )
    assert f"From {fmt.count(offers)} price observations on 4 routes." in html
    dynamics = marts["mart_price_dynamics"].values()
    assert (
        f"<b>{fmt.count(sum(r['offers_count'] for r in dynamics))}</b><span>price observations</span>" in html
    )
    assert "<b>25</b><span>observation days (2025-11-26 – 2025-12-20)</span>" in html
    for heading in (
        "Average price by route",
        "By airline",
        "Direct vs with stops",
        "Price history of chosen departure dates",
        "Best time to buy",
        "Which weekday to buy on",
        "Price calendar",
        "Upcoming departures: buy now or wait?",
    ):
        assert f">{heading}" in html


def test_report_is_self_contained(report_html: Path) -> None:
    html = report_html.read_text()
    page = parse(html)
    assert page.external == []
    assert not re.search(r"url\(\s*['\"]?https?:", html)
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", html)
    assert "@import" not in html


def test_every_chart_renders_with_data_points_in_chromium(
    report_html: Path, chromium: str, workdir: Path
) -> None:
    page = parse(report_html.read_text())
    expected_charts = (
        {f"avg-price-{t}" for t in ("round_trip", "one_way")}
        | {f"avg-price-{k}-{t}" for k in ("airline", "stops") for t in ("round_trip", "one_way")}
        | {
            f"history-{o}-{d}-{t}"
            for o, d in (("MOW", "DXB"), ("LED", "DXB"), ("DXB", "MOW"), ("KZN", "AUH"))
            for t in ("round_trip", "one_way")
        }
        | {
            f"best-time-{o}-{d}-{t}"
            for o, d in (("MOW", "DXB"), ("LED", "DXB"), ("DXB", "MOW"), ("KZN", "AUH"))
            for t in ("round_trip", "one_way")
        }
        | {"best-time-all", "best-weekday", "calendar-round_trip", "calendar-one_way"}
    )
    assert {c["data-chart"] for c in page.charts} == expected_charts

    url = report_html.as_uri()
    profile = workdir / f"chromium-{os.getpid()}"
    dom = subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}-dom",
            "--window-size=1280,2000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = parse(dom.stdout)
    assert 'data-render-checked="true"' in dom.stdout, "the page's render check did not run"
    for chart in rendered.charts:
        drawn = int(chart.get("data-rendered-marks", "0"))
        assert drawn > 0, f"chart {chart['data-chart']} rendered no data point"
        assert drawn == rendered.marks[chart["data-chart"]], (
            f"chart {chart['data-chart']}: some marks have no size"
        )
    assert rendered.marks["calendar-round_trip"] == 4 * 52  # 4 routes x 52 departure dates
    assert rendered.marks["best-weekday"] == 8 * 7

    screenshot = workdir / "report.png"
    shot = subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}-shot",
            "--window-size=1280,3000",
            "--force-device-scale-factor=0.3",
            f"--screenshot={screenshot}",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert shot.returncode == 0 and screenshot.exists(), shot.stderr[-2000:]
    colours, drawn_share = colour_stats(screenshot, step=1)
    assert colours > 200, f"screenshot looks blank: {colours} colours"
    assert drawn_share > 0.15, (
        f"screenshot looks blank: {drawn_share:.0%} of pixels differ from the background"
    )


def test_csv_export_holds_every_mart(marts_dsn: str, workdir: Path) -> None:
    target = workdir / "csv"
    result = run_report(marts_dsn, "--format", "csv", "--output", str(target), "--no-terminal", cwd=workdir)
    assert result.returncode == 0, result.stderr
    marts = mart_rows(marts_dsn)
    for name, mart in MARTS.items():
        with (target / f"{name}.csv").open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == len(marts[name])
        for row in rows:
            db_row = marts[name]["|".join(row[k] for k in mart.key)]
            assert all(row[c] == fmt.raw(db_row[c]) for c in mart.all_columns)


def test_json_export_and_route_filter(marts_dsn: str, workdir: Path) -> None:
    target = workdir / "marts.json"
    result = run_report(
        marts_dsn,
        "--format",
        "json",
        "--output",
        str(target),
        "--route",
        "MOW-DXB",
        "--no-terminal",
        cwd=workdir,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(target.read_text())
    marts = mart_rows(marts_dsn)
    for name, mart in MARTS.items():
        rows = document["marts"][name]
        expected = {k: r for k, r in marts[name].items() if (r["origin"], r["destination"]) == ("MOW", "DXB")}
        assert len(rows) == len(expected) > 0
        for row in rows:
            db_row = expected["|".join(fmt.raw(row[k]) for k in mart.key)]
            for column in mart.all_columns:
                value = db_row[column]
                if isinstance(value, Decimal):
                    assert Decimal(str(row[column])) == value
                else:
                    assert row[column] == (fmt.raw(value) if hasattr(value, "isoformat") else value)


def test_terminal_summary(marts_dsn: str, workdir: Path) -> None:
    target = workdir / "term" / "report.html"
    result = run_report(
        marts_dsn, "--output", str(target), "--route", "LED-DXB", "--route", "KZN-AUH", cwd=workdir
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Average price by route (RUB" in out and "Best time to buy" in out and "Low prices now" in out
    assert "LED → DXB" in out and "KZN → AUH" in out and "MOW → DXB" not in out
    assert "30-59 days" in out
    assert target.exists() and "MOW → DXB" not in target.read_text()


def test_missing_marts_stop_with_one_line(empty_dsn: str, workdir: Path) -> None:
    result = run_report(empty_dsn, "--output", str(workdir / "none.html"), cwd=workdir)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: dwh.mart_avg_price_by_route does not exist: "
        "run `tickettrak transform` (dbt) before the report"
    )
    assert "Traceback" not in result.stderr
    assert not (workdir / "none.html").exists()


def test_empty_marts_give_a_report_that_says_so(empty_marts_dsn: str, workdir: Path) -> None:
    target = workdir / "empty" / "report.html"
    result = run_report(empty_marts_dsn, "--output", str(target), cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "the marts are empty (run collect, load and transform first)" in result.stdout
    html = target.read_text()
    page = parse(html)
    assert page.values == [] and sum(page.marks.values()) == 0
    assert {c["data-chart"] for c in page.charts} == {"avg-price", "price-history", "best-time", "calendar"}
    for message in (
        "mart_avg_price_by_route is empty.",
        "no price history for the focus routes",
        "no upcoming departures in mart_optimal_purchase_dates",
    ):
        assert message in html


def test_bad_route_option(marts_dsn: str, workdir: Path) -> None:
    result = run_report(marts_dsn, "--route", "Moscow", cwd=workdir)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --route must look like MOW-DXB (two IATA codes), got 'Moscow'"
