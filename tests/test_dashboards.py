"""The committed Grafana dashboards are what wirewatch.dashboards produces, and they are sound.

Soundness that needs no Prometheus: every query parses (promtool), names only
metrics that exist, uses the provisioned datasource uid, and the panels tile
the grid.  Whether every query returns data from a real run is
tests/test_prometheus_e2e.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from wirewatch import dashboards, metrics

ROOT = Path(__file__).resolve().parents[1]
GRAFANA = ROOT / "deploy" / "grafana"
SUFFIXES = {"counter": ("_total", "_created"), "gauge": ("",), "info": ("_info",),
            "histogram": ("_bucket", "_sum", "_count", "_created"), "summary": ("_sum", "_count", "_created")}


def _exported_names() -> set[str]:
    """Every sample name wirewatch and faust's sensor (name_prefix=faust) can export."""
    from faust.sensors.prometheus import FaustMetrics
    from prometheus_client import CollectorRegistry

    names = {m._name + s for m in vars(metrics).values() if isinstance(m, MetricWrapperBase)
             for s in SUFFIXES[str(m._type)]}
    faust = FaustMetrics.create(CollectorRegistry(), "faust")
    names |= {m._name + s for m in faust if isinstance(m, MetricWrapperBase) for s in SUFFIXES[str(m._type)]}
    return names


def _metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\b((?:wirewatch|faust)_[a-z0-9_]+)\b", expr))


ALL_QUERIES = [(d.uid, title, q) for d in dashboards.DASHBOARDS.values()
               for title, q in dashboards.queries(d)]


# ---------------------------------------------------------------- one source of truth
def test_committed_json_is_what_the_source_generates() -> None:
    assert dashboards.stale() == []
    for name, dash in dashboards.DASHBOARDS.items():
        committed = json.loads((dashboards.OUT_DIR / name).read_text(encoding="utf-8"))
        assert committed == dashboards.render(dash)


def test_check_fails_on_a_hand_edited_dashboard(tmp_path: Path) -> None:
    dashboards.write(tmp_path)
    assert dashboards.main(["--check", "--out", str(tmp_path)]) == 0
    path = tmp_path / "overview.json"
    model = json.loads(path.read_text())
    model["panels"][0]["title"] = "edited in the Grafana UI"
    path.write_text(json.dumps(model, indent=2) + "\n")
    (tmp_path / "orphan.json").write_text("{}\n")
    problems = dashboards.stale(tmp_path)
    assert any("overview.json: differs" in p for p in problems)
    assert any("orphan.json: not produced" in p for p in problems)
    assert dashboards.main(["--check", "--out", str(tmp_path)]) == 1


# ---------------------------------------------------------------- provisioning and uids
def test_every_panel_uses_the_provisioned_datasource_uid() -> None:
    prov = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yaml").read_text())
    (ds,) = prov["datasources"]
    assert ds["uid"] == dashboards.DATASOURCE_UID and ds["type"] == "prometheus"
    for dash in dashboards.DASHBOARDS.values():
        model = dashboards.render(dash)
        for panel in model["panels"]:
            assert panel["datasource"]["uid"] == ds["uid"]
            assert all(t["datasource"]["uid"] == ds["uid"] for t in panel["targets"])
        for var in model["templating"]["list"]:
            assert var["datasource"]["uid"] == ds["uid"]


def test_dashboard_provider_points_at_the_generated_folder() -> None:
    prov = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "wirewatch.yaml").read_text())
    (provider,) = prov["providers"]
    assert provider["type"] == "file" and provider["options"]["foldersFromFilesStructure"] is True
    # foldersFromFilesStructure: the subdirectory name is the Grafana folder.
    assert dashboards.OUT_DIR.parent == GRAFANA / "dashboards"
    assert dashboards.OUT_DIR.name == dashboards.FOLDER


def test_dashboard_uids_are_stable_and_there_is_no_id() -> None:
    models = [dashboards.render(d) for d in dashboards.DASHBOARDS.values()]
    # Changing a uid breaks every bookmark and link: change it here on purpose only.
    assert [m["uid"] for m in models] == ["wirewatch-overview", "wirewatch-feeds"]
    assert all("id" not in m for m in models)


@pytest.mark.parametrize("dash", list(dashboards.DASHBOARDS.values()), ids=lambda d: d.uid)
def test_panels_have_unique_ids_and_tile_the_grid(dash: dashboards.Dashboard) -> None:
    panels = dashboards.render(dash)["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for p in panels:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24, p["title"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not mine & cells, f"{p['title']} overlaps another panel"
        cells |= mine
        assert p["targets"], p["title"]
        assert len({t["refId"] for t in p["targets"]}) == len(p["targets"])


# ---------------------------------------------------------------- what the panels ask
@pytest.mark.parametrize(("uid", "title", "query"), ALL_QUERIES,
                         ids=lambda v: getattr(v, "expr", str(v))[:60])
def test_every_query_names_only_exported_metrics(uid: str, title: str, query: dashboards.Query) -> None:
    names = _metric_names(query.expr)
    assert names, f"{uid}/{title}: no wirewatch or faust metric in {query.expr}"
    unknown = names - _exported_names()
    assert not unknown, f"{uid}/{title}: {sorted(unknown)} are not exported"


def test_every_query_parses_as_promql(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: run `bash deploy/ensure-tools.sh`"
    # promtool has no offline PromQL parser of its own, but it parses every rule
    # expression: wrap each panel query in a recording rule.
    rules = [{"record": f"panel:query_{i}", "expr": dashboards.expand(q.expr)}
             for i, (_, _, q) in enumerate(ALL_QUERIES)]
    path = tmp_path / "panels.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    done = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules)} rules found" in done.stdout


def test_promql_check_catches_a_broken_query(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "p", "rules": [
        {"record": "panel:bad", "expr": "sum by (stage (rate(wirewatch_processed_messages_total[1m]))"}]}]}))
    done = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0


def test_overview_covers_what_an_operator_asks() -> None:
    exprs = " ".join(q.expr for _, q in dashboards.queries(dashboards.OVERVIEW))
    for needed in (
        "wirewatch_processed_messages_total", "wirewatch_poller_items_published_total",  # throughput
        "wirewatch_alert_freshness_fetched_seconds_bucket",                               # freshness
        "wirewatch_alert_freshness_published_seconds_bucket",
        "wirewatch_consumer_lag_messages",                                                # lag
        "wirewatch_alerts_total",                                                         # alerts by type
        "wirewatch_poller_fetches_total", "wirewatch_deadletter_messages_total",          # error classes
        "wirewatch_poller_feeds",                                                         # feeds by state
        "faust_messages_received_per_topic_total",                                        # faust sensor
    ):
        assert needed in exprs, needed
    assert "by (error_class)" in exprs and "by (type)" in exprs and "by (state)" in exprs


def test_feeds_dashboard_is_per_outlet_through_a_variable() -> None:
    model = dashboards.render(dashboards.FEEDS)
    (var,) = model["templating"]["list"]
    assert var["name"] == "outlet" and var["includeAll"] and var["allValue"] == ".*"
    per_outlet = [q.expr for _, q in dashboards.queries(dashboards.FEEDS) if "by (outlet)" in q.expr]
    assert len(per_outlet) >= 4
    assert all('outlet=~"$outlet"' in e for e in per_outlet)


def test_expand_leaves_no_grafana_variable() -> None:
    for _, _, q in ALL_QUERIES:
        assert "$" not in dashboards.expand(q.expr)
