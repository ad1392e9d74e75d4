"""The Grafana dashboards, as code: the one source of ``deploy/grafana/dashboards``.

Plain dicts in Grafana's dashboard JSON model (schemaVersion 39), so the JSON a
reviewer reads is exactly what is committed.  ``python -m wirewatch.dashboards``
rewrites the files; ``--check`` fails when the committed JSON differs from this
source (CI and ``tests/test_dashboards.py`` run it).

Every PromQL expression here is evaluated against a real Prometheus scraping a
real run by ``tests/test_prometheus_e2e.py``; ``queries()`` lists them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATASOURCE_UID = "wirewatch-prometheus"
DATASOURCE = {"type": "prometheus", "uid": DATASOURCE_UID}
FOLDER = "wirewatch"
OUT_DIR = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards" / FOLDER

# Alerts and claims are sparse (a few a minute): a fixed window gives a readable
# count and a quantile with enough observations behind it.
SPARSE = "15m"
RATE = "$__rate_interval"
FAILURES = "wirewatch_poller_feed_consecutive_failures"
LAST_SUCCESS = "wirewatch_poller_feed_last_success_timestamp_seconds"
OUTLET = '{outlet=~"$outlet"}'


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""
    instant: bool = False


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    kind: str = "timeseries"  # timeseries | stat | table | bargauge
    unit: str = "short"
    width: int = 12
    height: int = 8
    description: str = ""
    stack: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...]
    outlet_variable: bool = False
    tags: tuple[str, ...] = ("wirewatch",)


def _q(expr: str, legend: str = "", *, instant: bool = False) -> Query:
    return Query(" ".join(expr.split()), legend, instant)


def _hq(q: float, metric: str, window: str, by: str = "", legend: str = "") -> Query:
    by_clause = f"le, {by}" if by else "le"
    return _q(f"histogram_quantile({q}, sum by ({by_clause}) (rate({metric}_bucket[{window}])))", legend)


# --------------------------------------------------------------------------- overview
OVERVIEW = Dashboard(
    uid="wirewatch-overview",
    title="wirewatch / overview",
    description="Is every stage moving, how fresh are the alerts, is the processor keeping up.",
    panels=(
        Panel("Feeds by state", (_q("sum by (state) (wirewatch_poller_feeds)", "{{state}}", instant=True),),
              kind="stat", width=6, height=5,
              description="Feeds the poller knows, by state (ok, failing, paused, pending)."),
        Panel("Alerts in the last hour",
              (_q("sum by (type) (increase(wirewatch_alerts_total[1h]))", "{{type}}", instant=True),),
              kind="stat", width=6, height=5),
        Panel("Consumer lag", (_q("sum(wirewatch_consumer_lag_messages)", "messages", instant=True),),
              kind="stat", width=6, height=5,
              description="Messages written but not yet consumed, all processor topics."),
        Panel("Dead letters in the last hour",
              (_q("sum(increase(wirewatch_deadletter_messages_total[1h]))", "dead letters", instant=True),),
              kind="stat", width=6, height=5, extra={"thresholds": [("green", None), ("red", 1)]}),
        Panel("Throughput per stage",
              (_q(f"sum(rate(wirewatch_poller_items_published_total[{RATE}]))", "poller: items published"),
               _q(f"sum by (stage) (rate(wirewatch_processed_messages_total[{RATE}]))", "{{stage}}")),
              unit="ops", description="Messages per second through each stage."),
        Panel("Freshness (p50 / p99)",
              (_hq(0.99, "wirewatch_alert_freshness_fetched_seconds", SPARSE, legend="p99 fetched → alert"),
               _hq(0.5, "wirewatch_alert_freshness_fetched_seconds", SPARSE, legend="p50 fetched → alert"),
               _hq(0.99, "wirewatch_alert_freshness_published_seconds", SPARSE,
                   legend="p99 published → alert")),
              unit="s", description="Time from a story's fetch (what wirewatch controls) and from its "
                                    "publication (what readers feel) to its alert, over 15 minutes."),
        Panel("Consumer lag by topic", (_q("sum by (topic) (wirewatch_consumer_lag_messages)", "{{topic}}"),),
              description="Growing lag means the processor is not keeping up."),
        Panel("Alerts by type (per 15 min)",
              (_q(f"sum by (type) (increase(wirewatch_alerts_total[{SPARSE}]))", "{{type}}"),)),
        Panel("Dedup: stories in, duplicates by kind, unique (per second)",
              (_q("sum(rate(wirewatch_dedup_stories_total[$__rate_interval]))", "in"),
               _q("sum by (kind) (rate(wirewatch_dedup_duplicates_total[$__rate_interval]))", "{{kind}}"),
               _q("sum(rate(wirewatch_dedup_unique_total[$__rate_interval]))", "unique")),
              unit="ops"),
        Panel("Claims by category and contradictions by kind (per 15 min)",
              (_q(f"sum by (category) (increase(wirewatch_extract_claims_total[{SPARSE}]))", "{{category}}"),
               _q(f"sum by (kind) (increase(wirewatch_ledger_contradictions_total[{SPARSE}]))",
                  "contradiction: {{kind}}")),
              ),
        Panel("Error classes (per 15 min)",
              (_q('sum by (error_class) (increase(wirewatch_poller_fetches_total{outcome="error"}[15m]))',
                  "fetch: {{error_class}}"),
               _q("sum by (error_class) (increase(wirewatch_deadletter_messages_total[15m]))",
                  "dead letter: {{error_class}}")),
              description="Failed fetches and dead-lettered messages by stable error class."),
        Panel("Dead letters by stage (per second)",
              (_q(f"sum by (stage) (rate(wirewatch_deadletter_messages_total[{RATE}]))", "{{stage}}"),),
              unit="ops"),
        Panel("Processing time (p95)",
              (_hq(0.95, "wirewatch_extract_nlp_duration_seconds", RATE, legend="NLP per story"),
               _hq(0.95, "wirewatch_dedup_duration_seconds", RATE, legend="dedup per story"),
               _hq(0.95, "wirewatch_poller_fetch_duration_seconds", RATE, legend="fetch per feed")),
              unit="s"),
        Panel("State held: dedup window and claim ledger",
              (_q("sum(wirewatch_dedup_window_stories)", "dedup window (stories)"),
               _q("sum(wirewatch_ledger_claims)", "ledger (claims)"))),
        Panel("Kafka messages per topic (faust sensor)",
              (_q("sum by (topic) (rate(faust_messages_received_per_topic_total[$__rate_interval]))",
                  "in: {{topic}}"),
               _q(f"sum by (topic) (rate(faust_topic_messages_sent_total[{RATE}]))", "out: {{topic}}")),
              unit="ops", width=24,
              description="faust's own stream metrics (name_prefix=faust; its latencies are in ms). faust "
                          "labels a sent message's topic topic.<name>; the poller's sends to the raw topic "
                          "are not faust's (see items published per outlet)."),
    ),
)

# ------------------------------------------------------------------------------ feeds
FEEDS = Dashboard(
    uid="wirewatch-feeds",
    title="wirewatch / feeds",
    description="Per-outlet feed health: is every feed alive and producing stories.",
    outlet_variable=True,
    panels=(
        Panel("Outlet health",
              (_q(f"time() - max by (outlet) ({LAST_SUCCESS}{OUTLET})",
                  "since last success", instant=True),
               _q(f"max by (outlet) ({FAILURES}{OUTLET})",
                  "consecutive failures", instant=True),
               _q(f"sum by (outlet) (increase(wirewatch_poller_items_published_total{OUTLET}[1h]))",
                  "items in the last hour", instant=True)),
              kind="table", width=24, height=9, extra={"column_units": {"since last success": "s"}},
              description="One row per outlet (the bounded outlet label; feed URLs are never labels)."),
        Panel("Items published per outlet (per second)",
              (_q(f"sum by (outlet) (rate(wirewatch_poller_items_published_total{OUTLET}[{RATE}]))",
                  "{{outlet}}"),),
              unit="ops", stack=True),
        Panel("Time since last successful fetch",
              (_q(f"time() - max by (outlet) ({LAST_SUCCESS}{OUTLET})",
                  "{{outlet}}"),),
              unit="s"),
        Panel("Consecutive failures (worst feed of each outlet)",
              (_q(f"max by (outlet) ({FAILURES}{OUTLET})", "{{outlet}}"),)),
        Panel("Feeds by state", (_q("sum by (state) (wirewatch_poller_feeds)", "{{state}}"),), stack=True),
        Panel("Fetch outcomes (per second)",
              (_q(f"sum by (outcome) (rate(wirewatch_poller_fetches_total[{RATE}]))", "{{outcome}}"),),
              unit="ops", stack=True),
        Panel("Not-modified ratio",
              (_q(f'sum(rate(wirewatch_poller_fetches_total{{outcome="not_modified"}}[{RATE}])) '
                  f"/ sum(rate(wirewatch_poller_fetches_total[{RATE}]))", "304 / all fetches"),),
              unit="percentunit",
              description="Share of fetches answered 304 (conditional GETs save the publisher's bandwidth)."),
        Panel("Fetch errors by class (per hour)",
              (_q('sum by (error_class) (increase(wirewatch_poller_fetches_total{outcome="error"}[1h]))',
                  "{{error_class}}"),)),
        Panel("Fetch duration (p50 / p95)",
              (_hq(0.5, "wirewatch_poller_fetch_duration_seconds", RATE, legend="p50"),
               _hq(0.95, "wirewatch_poller_fetch_duration_seconds", RATE, legend="p95")),
              unit="s"),
        Panel("Bytes received and items per fetch",
              (_q("sum(rate(wirewatch_poller_fetched_bytes_total[$__rate_interval]))", "bytes/s"),
               _q(f"sum(rate(wirewatch_poller_items_per_fetch_sum[{RATE}]))"
                  f" / sum(rate(wirewatch_poller_items_per_fetch_count[{RATE}]))", "items per fetch")),
              unit="short"),
        Panel("Next poll delay (p50 / p95)",
              (_hq(0.5, "wirewatch_poller_next_poll_delay_seconds", "1h", legend="p50"),
               _hq(0.95, "wirewatch_poller_next_poll_delay_seconds", "1h", legend="p95")),
              unit="s",
              description="Adaptive polling: the delay chosen after each fetch, over 1 hour."),
        Panel("Items not published and fields cut (per hour)",
              (_q("sum by (feed, reason) (increase(wirewatch_poller_items_dropped_total[1h]))",
                  "{{feed}}: {{reason}}"),
               _q("sum by (feed, field) (increase(wirewatch_poller_fields_trimmed_total[1h]))",
                  "{{feed}}: {{field}} cut")),
              description="Nothing is dropped without a word: items a poll did not publish (over the "
                          "500-item cap, empty, malformed, too large) and fields cut to their cap, per "
                          "feed. `wirewatch feeds list` shows the same with the last example."),
        Panel("Poller self-protection",
              (_q("max(wirewatch_poller_network_breaker_open)", "network breaker open (1 = we are offline)"),
               _q("sum(increase(wirewatch_poller_parse_worker_restarts_total[1h]))",
                  "parse workers restarted (per hour)")),
              description="While the breaker is open, failures are blamed on our network, not on the feeds."),
    ),
)

DASHBOARDS: dict[str, Dashboard] = {"overview.json": OVERVIEW, "feeds.json": FEEDS}


# ------------------------------------------------------------------------- rendering
def _target(query: Query, ref: str, table: bool) -> dict[str, Any]:
    t: dict[str, Any] = {
        "datasource": DATASOURCE,
        "editorMode": "code",
        "expr": query.expr,
        "legendFormat": query.legend or "__auto",
        "range": not query.instant,
        "instant": query.instant,
        "refId": ref,
    }
    if table:
        t["format"] = "table"
    return t


def _panel_json(panel: Panel, pid: int, x: int, y: int) -> dict[str, Any]:
    table = panel.kind == "table"
    targets = [_target(q, chr(ord("A") + i), table) for i, q in enumerate(panel.queries)]
    steps = [{"color": c, "value": v} for c, v in panel.extra.get("thresholds", [("green", None)])]
    defaults: dict[str, Any] = {"unit": panel.unit, "thresholds": {"mode": "absolute", "steps": steps}}
    options: dict[str, Any]
    transformations: list[dict[str, Any]] = []
    if panel.kind == "timeseries":
        defaults["custom"] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never",
                              "stacking": {"mode": "normal" if panel.stack else "none", "group": "A"}}
        options = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                   "tooltip": {"mode": "multi", "sort": "desc"}}
    elif panel.kind == "stat":
        options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                   "colorMode": "value", "graphMode": "none", "textMode": "value_and_name",
                   "justifyMode": "auto", "orientation": "auto"}
    elif panel.kind == "table":
        options = {"showHeader": True, "cellHeight": "sm"}
        # One row per outlet: join the instant queries on the outlet label and name
        # each value column after its query's legend.
        renames = {f"Value #{t['refId']}": q.legend for t, q in zip(targets, panel.queries, strict=True)}
        transformations = [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": renames}},
        ]
    else:
        raise ValueError(f"unknown panel kind {panel.kind!r}")
    overrides = [{"matcher": {"id": "byName", "options": col},
                  "properties": [{"id": "unit", "value": unit}]}
                 for col, unit in panel.extra.get("column_units", {}).items()]
    out: dict[str, Any] = {
        "id": pid,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": defaults, "overrides": overrides},
        "options": options,
        "targets": targets,
    }
    if transformations:
        out["transformations"] = transformations
    return out


def _layout(panels: tuple[Panel, ...]) -> Iterator[tuple[Panel, int, int]]:
    # Left to right in rows of 24 grid units, as Grafana itself lays them out.
    x = y = row_h = 0
    for p in panels:
        if x + p.width > 24:
            x, y, row_h = 0, y + row_h, 0
        yield p, x, y
        x += p.width
        row_h = max(row_h, p.height)


def render(dash: Dashboard) -> dict[str, Any]:
    """The Grafana JSON model of ``dash`` (no ``id``: Grafana assigns it on import)."""
    templating: list[dict[str, Any]] = []
    if dash.outlet_variable:
        q = "label_values(wirewatch_poller_items_published_total, outlet)"
        templating.append({
            "name": "outlet", "label": "Outlet", "type": "query", "datasource": DATASOURCE,
            "query": {"query": q, "refId": "outlet"}, "definition": q,
            "refresh": 2, "multi": True, "includeAll": True, "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "sort": 1, "options": [], "hide": 0,
        })
    return {
        "uid": dash.uid,
        "title": dash.title,
        "description": dash.description,
        "tags": list(dash.tags),
        "timezone": "utc",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "annotations": {"list": []},
        "links": [{"title": "wirewatch", "type": "dashboards", "tags": ["wirewatch"], "asDropdown": False}],
        "templating": {"list": templating},
        "panels": [_panel_json(p, i + 1, x, y) for i, (p, x, y) in enumerate(_layout(dash.panels))],
    }


def to_json(dash: Dashboard) -> str:
    return json.dumps(render(dash), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def queries(dash: Dashboard) -> list[tuple[str, Query]]:
    """Every (panel title, query) of ``dash``, in panel order."""
    return [(p.title, q) for p in dash.panels for q in p.queries]


def expand(expr: str, *, rate_interval: str = "1m", outlet: str = ".*") -> str:
    """Replace the Grafana variables so Prometheus itself can evaluate ``expr``."""
    return expr.replace("$__rate_interval", rate_interval).replace("$outlet", outlet)


def write(out_dir: Path = OUT_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, dash in DASHBOARDS.items():
        path = out_dir / name
        path.write_text(to_json(dash), encoding="utf-8")
        paths.append(path)
    return paths


def stale(out_dir: Path = OUT_DIR) -> list[str]:
    """Dashboard files under ``out_dir`` that differ from this source (or are extra/missing)."""
    problems = []
    for name, dash in DASHBOARDS.items():
        path = out_dir / name
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif path.read_text(encoding="utf-8") != to_json(dash):
            problems.append(f"{path}: differs from wirewatch.dashboards (run python -m wirewatch.dashboards)")
    found = out_dir.glob("*.json") if out_dir.is_dir() else iter(())
    extra = sorted(p.name for p in found if p.name not in DASHBOARDS)
    problems += [f"{out_dir / n}: not produced by wirewatch.dashboards" for n in extra]
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m wirewatch.dashboards", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT_DIR, help="dashboards directory")
    ap.add_argument("--check", action="store_true", help="fail if the committed JSON differs from the source")
    args = ap.parse_args(argv)
    if args.check:
        problems = stale(args.out)
        for p in problems:
            print(p, file=sys.stderr)
        return 1 if problems else 0
    for path in write(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
