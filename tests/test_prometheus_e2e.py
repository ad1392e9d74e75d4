"""A real Prometheus scrapes a real `wirewatch run`; every panel and rule is evaluated.

Starts `wirewatch run` (embedded broker, demo feeds served locally, poller and
processor) with its /metrics on a free port, and Debian's `prometheus` binary
on 127.0.0.1 scraping it every second with the real alerting rules loaded.
Then, through Prometheus's HTTP API:

* every PromQL expression of every dashboard panel returns at least one series
  with a number in it (range queries over the run, as Grafana asks them; stat
  and table panels as instant queries), and the panels that show the pipeline
  moving show it moving;
* every alerting rule evaluates without error, both as a query and inside
  Prometheus's own rule manager (an empty result is fine: they fire on failure);
* every wirewatch series Prometheus stored has bounded labels;
* the overview PNG renders from this Prometheus.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from wirewatch import dashboards, metrics
from wirewatch.dashboard_png import PrometheusAPI, render_png

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "deploy" / "prometheus" / "rules" / "wirewatch.yml"
START_TIMEOUT = 240.0  # embedded broker + spaCy model load on a busy 2-core machine
DATA_TIMEOUT = 300.0   # demo feeds through every stage
RATE_INTERVAL = "5m"   # covers the whole run, so a burst at start-up is still in the window

# Panels whose numbers must move in a run over the demo feeds (not merely exist at 0).
# The faust sensor's per-topic counters are created at 0 (metrics.install_faust_sensor,
# the "sent" ones under faust's own "topic.<name>" label) and survive rebalances, so its
# panel moves too: faust used to delete them at every rebalance, and they came back at N.
MUST_MOVE = {
    "Kafka messages per topic (faust sensor)",
    "Feeds by state", "Throughput per stage", "Freshness (p50 / p99)", "Alerts by type (per 15 min)",
    "Alerts in the last hour", "Dedup: stories in, duplicates by kind, unique (per second)",
    "Claims by category and contradictions by kind (per 15 min)",
    "Items published per outlet (per second)", "Fetch outcomes (per second)", "Fetch duration (p50 / p95)",
    "Outlet health",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        # The process group: `wirewatch run` may have children (the embedded broker).
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode} before answering {url}:\n{_tail(log)}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{what} did not answer {url} within {timeout:.0f} s:\n{_tail(log)}")


@dataclass
class Run:
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            pytest.fail(f"wirewatch run exited with {self.proc.returncode}:\n{_tail(self.log)}")


@pytest.fixture(scope="module")
def metrics_port() -> int:
    return _free_port()


@pytest.fixture(scope="module")
def prometheus(metrics_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusAPI]:
    """A real Prometheus scraping the run's port every second, with the real rules loaded.

    Started before the run, so its first scrapes see the counters at their start.
    """
    binary = shutil.which("prometheus")
    assert binary, "prometheus missing: run `bash deploy/ensure-tools.sh`"
    tmp = tmp_path_factory.mktemp("prometheus")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "wirewatch-run",
                            "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]}],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = _free_port()
    log = tmp / "prometheus.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [binary, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            cwd=tmp, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    api = PrometheusAPI(f"http://127.0.0.1:{port}")
    try:
        _wait_http(f"{api.url}/-/ready", proc, log, 60, "prometheus")
        yield api
    finally:
        api.close()
        _stop(proc)


@pytest.fixture(scope="module")
def run(metrics_port: int, prometheus: PrometheusAPI,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """`wirewatch run` on the demo feeds, its /metrics on the port Prometheus scrapes."""
    exe = Path(sys.executable).with_name("wirewatch")
    assert exe.exists(), f"{exe} missing: `pip install -e .` installs the wirewatch console script"
    tmp = tmp_path_factory.mktemp("wirewatch-run")
    env = {**os.environ, "WIREWATCH_METRICS_PORT": str(metrics_port), "WIREWATCH_WEB_PORT": str(_free_port()),
           "WIREWATCH_DATA_DIR": str(tmp / "data"), "WIREWATCH_LOG_LEVEL": "INFO"}
    env.pop("WIREWATCH_KAFKA_BOOTSTRAP", None)  # the embedded broker
    log = tmp / "wirewatch.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(exe), "run"], cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_http(f"http://127.0.0.1:{metrics_port}/metrics", proc, log, START_TIMEOUT, "wirewatch run")
        yield Run(metrics_port, proc, log)
    finally:
        _stop(proc)


_OUTLET_SERIES = 'wirewatch_poller_items_published_total{outlet="Demo Wire Service"}'


def _add_feed_at_run_time(run: Run) -> None:
    tmp = run.log.parent
    source = sorted((Path(__file__).parent / "fixtures" / "eval" / "sudan" / "feeds").glob("*.xml"))[0]
    feed = tmp / "more-news.xml"
    feed.write_bytes(source.read_bytes())
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    env["WIREWATCH_DATA_DIR"] = str(tmp / "data")
    exe = Path(sys.executable).with_name("wirewatch")
    r = subprocess.run([str(exe), "feeds", "add", feed.as_uri(), "--outlet", "Demo Wire Service",
                        "--id", "more-news"], cwd=tmp, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def _has_number(result: list[dict[str, Any]], *, moving: bool = False) -> bool:
    values = [float(v) for s in result for _, v in (s.get("values") or [s["value"]])]
    finite = [v for v in values if math.isfinite(v)]
    return bool(finite) and (not moving or any(v > 0 for v in finite))


Results = dict[tuple[str, str, str], list[dict[str, Any]]]  # (dashboard uid, panel, expr) -> result


def _evaluate(api: PrometheusAPI, start: float) -> Results:
    end = time.time()
    out = {}
    for dash in dashboards.DASHBOARDS.values():
        for panel in dash.panels:
            for q in panel.queries:
                expr = dashboards.expand(q.expr, rate_interval=RATE_INTERVAL)
                key = (dash.uid, panel.title, q.expr)
                if q.instant:
                    out[key] = api.query(expr, at=end)
                else:
                    out[key] = api.query_range(expr, start, end, 2)
    return out


def _missing(results: Results) -> list[str]:
    bad = []
    for (uid, title, expr), result in results.items():
        if not _has_number(result):
            bad.append(f"no data: {uid} / {title}: {expr}")
        elif title in MUST_MOVE and not any(_has_number(r, moving=True) for (u, t, _), r in results.items()
                                            if (u, t) == (uid, title)):
            bad.append(f"never above zero: {uid} / {title}: {expr}")
    return bad


@pytest.fixture(scope="module")
def panel_results(run: Run, prometheus: PrometheusAPI) -> Results:
    """Every panel's result, once the demo run has filled them (or the deadline passed)."""
    start = time.time() - 5
    deadline = time.monotonic() + DATA_TIMEOUT
    added = False
    while True:
        if not added and _has_number(prometheus.query(_OUTLET_SERIES, at=time.time())):
            # More news for an outlet once Prometheus has scraped its counter: the demo
            # feeds are read in the first seconds, perhaps before the first scrape, so
            # counters that first appear at N would never be seen to rise.  (A fixed delay
            # raced a slow start: the poller read the added feed with the demo feeds.)
            added = True
            _add_feed_at_run_time(run)
        results = _evaluate(prometheus, start)
        if run.proc.poll() is not None:  # a crashed run fails now, with its log, not at the deadline
            missing = "\n".join(_missing(results)) or "(none)"
            pytest.fail(f"wirewatch run exited with {run.proc.returncode}; panels still missing:\n{missing}\n"
                        f"--- log:\n{_tail(run.log)}")
        if not _missing(results) or time.monotonic() > deadline:
            # A few more scrapes so rates and quantiles have a second point after the last change.
            time.sleep(3)
            return _evaluate(prometheus, start)
        time.sleep(3)


def test_every_dashboard_panel_returns_data(run: Run, panel_results: Results) -> None:
    run.check_alive()  # still running after the demo feeds went through
    bad = _missing(panel_results)
    assert not bad, "\n".join(bad)
    assert len(panel_results) == sum(len(dashboards.queries(d)) for d in dashboards.DASHBOARDS.values())


def test_every_alert_rule_evaluates(prometheus: PrometheusAPI,
                                    panel_results: Results) -> None:
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    for rule in rules:
        prometheus.query(rule["expr"])  # raises on a PromQL or evaluation error; empty is fine
    # And Prometheus's own rule manager evaluated every rule without error.
    body = httpx.get(f"{prometheus.url}/api/v1/rules", timeout=10).json()
    loaded = {r["name"]: r for g in body["data"]["groups"] for r in g["rules"]}
    assert set(loaded) == {r["alert"] for r in rules}
    for name, r in loaded.items():
        assert r["health"] == "ok", f"{name}: {r.get('lastError')}"
    # A healthy demo run: nothing about dead letters or dead targets may be firing.
    firing = {a["labels"]["alertname"] for a in
              httpx.get(f"{prometheus.url}/api/v1/alerts", timeout=10).json()["data"]["alerts"]}
    assert not firing & {"WirewatchDeadLetters", "WirewatchTargetDown"}, firing


def test_scraped_wirewatch_series_have_bounded_labels(
        prometheus: PrometheusAPI, panel_results: Results) -> None:
    series = prometheus.query('{__name__=~"wirewatch_.+"}')
    assert len(series) > 50
    pairs = [(s["metric"]["__name__"], {k: v for k, v in s["metric"].items() if k != "__name__"})
             for s in series]
    assert metrics.label_problems(pairs) == []


def test_overview_png_renders_from_this_prometheus(
        prometheus: PrometheusAPI, panel_results: Results,
        tmp_path: Path) -> None:
    out = render_png(prometheus.url, tmp_path / "overview.png", minutes=5)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 50_000  # eleven panels of lines, not an empty canvas
