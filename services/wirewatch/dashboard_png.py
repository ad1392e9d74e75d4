"""Draw the overview dashboard's panels as a PNG, straight from Prometheus.

For checking a dashboard's story by eye without Grafana: the same PromQL as
``wirewatch.dashboards.OVERVIEW`` (with Grafana's variables expanded), fetched
through Prometheus's ``/api/v1/query_range`` and ``/api/v1/query`` and drawn with
matplotlib.  ``python -m wirewatch.dashboard_png --prometheus URL --out FILE``.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from .dashboards import OVERVIEW, Dashboard, Panel, Query, expand
from .errors import ConfigError

_UNITS = {"ops": "per second", "s": "seconds", "percentunit": "ratio", "short": ""}
_LEGEND_VAR = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def legend(query: Query, labels: dict[str, str]) -> str:
    """The series name Grafana would show: the legend template, or the labels."""
    if query.legend and query.legend != "__auto":
        return _LEGEND_VAR.sub(lambda m: labels.get(m.group(1), ""), query.legend)
    shown = {k: v for k, v in labels.items() if k not in ("job", "instance")}
    return ", ".join(f"{k}={v}" for k, v in sorted(shown.items())) or query.expr[:40]


class PrometheusAPI:
    """The two Prometheus HTTP API calls a dashboard needs."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.client = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self.client.close()

    def _get(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        try:
            resp = self.client.get(f"{self.url}{path}", params=params)
        except httpx.HTTPError as exc:
            raise ConfigError(f"cannot reach Prometheus at {self.url}: {exc}") from None
        try:
            body = resp.json()
        except ValueError:
            raise ConfigError(f"{self.url} answered HTTP {resp.status_code}, not JSON") from None
        if body.get("status") != "success":
            why = body.get("error", resp.status_code)
            raise ConfigError(f"Prometheus rejected {params.get('query')!r}: {why}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        return self._get("/api/v1/query", params)

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        return self._get("/api/v1/query_range",
                         {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"})


def _stat_line(api: PrometheusAPI, panel: Panel, end: float, rate_interval: str) -> str:
    parts = []
    for q in panel.queries:
        for s in api.query(expand(q.expr, rate_interval=rate_interval), at=end):
            value = float(s["value"][1])
            parts.append(f"{legend(q, s['metric'])}={value:.4g}")
    return f"{panel.title}: " + (", ".join(parts) if parts else "no data")


def render_png(prometheus_url: str, out: Path, *, minutes: float = 15,
               dashboard: Dashboard = OVERVIEW) -> Path:
    """Draw ``dashboard``'s time-series panels over the last ``minutes`` into ``out`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")  # no display: a file, in CI or over ssh
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    if minutes <= 0:
        raise ConfigError(f"minutes must be positive, got {minutes}")
    end = time.time()
    start = end - minutes * 60
    step = max(1.0, minutes * 60 / 240)  # about 240 points per series
    # Grafana's $__rate_interval is at least four scrapes; a minute covers 15 s scrapes.
    rate_interval = f"{max(60, int(4 * step))}s"
    api = PrometheusAPI(prometheus_url)
    try:
        stats = [_stat_line(api, p, end, rate_interval) for p in dashboard.panels if p.kind == "stat"]
        series_panels = [p for p in dashboard.panels if p.kind == "timeseries"]
        ncols = 2
        nrows = max(1, math.ceil(len(series_panels) / ncols))
        fig, axes = plt.subplots(nrows, ncols, figsize=(16, 3.4 * nrows + 1.2), squeeze=False)
        for ax, panel in zip(axes.flat, series_panels, strict=False):
            drawn = zeros = 0
            for q in panel.queries:
                for s in api.query_range(expand(q.expr, rate_interval=rate_interval), start, end, step):
                    xs = [datetime.fromtimestamp(float(t), UTC) for t, _ in s["values"]]
                    ys = [float(v) for _, v in s["values"]]
                    # Known label values exist at zero (metrics._init_known_labels); a legend
                    # of twenty "0" error classes hides the ones that matter.
                    if not any(y for y in ys if math.isfinite(y)):
                        zeros += 1
                        continue
                    ax.plot(xs, ys, linewidth=1.2, label=legend(q, s["metric"]))
                    drawn += 1
            ax.set_title(panel.title, fontsize=10, loc="left")
            ax.set_ylabel(_UNITS.get(panel.unit, panel.unit), fontsize=8)
            locator = mdates.AutoDateLocator(tz=UTC)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=UTC))
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
            ax.set_xlim(datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
            if drawn:
                ax.legend(fontsize=7, loc="upper left", ncol=2 if drawn > 4 else 1)
            note = f"{zeros} series at 0 all the time" if zeros else ""
            if not drawn:
                note = note or "no data"
                ax.text(0.5, 0.5, note, transform=ax.transAxes, ha="center", va="center", color="grey")
            elif note:
                ax.text(0.99, 0.02, note, transform=ax.transAxes, ha="right", va="bottom", color="grey",
                        fontsize=7)
        for ax in list(axes.flat)[len(series_panels):]:
            ax.set_visible(False)
        t0, t1 = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
        when = f"{t0:%Y-%m-%d %H:%M}–{t1:%H:%M} UTC"
        fig.suptitle(f"{dashboard.title}   {when}   ({prometheus_url})", fontsize=12, x=0.01, ha="left")
        fig.text(0.01, 1 - 0.9 / fig.get_figheight(), "\n".join(stats),
                 fontsize=8, va="top", family="monospace")
        fig.tight_layout(rect=(0, 0, 1, 1 - (1.0 + 0.12 * len(stats)) / fig.get_figheight()))
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=90)
        plt.close(fig)
    finally:
        api.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m wirewatch.dashboard_png",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--prometheus", default="http://127.0.0.1:9090", help="Prometheus base URL")
    ap.add_argument("--out", type=Path, default=Path("wirewatch-overview.png"))
    ap.add_argument("--minutes", type=float, default=15.0, help="time range to draw, ending now")
    args = ap.parse_args(argv)
    try:
        print(render_png(args.prometheus, args.out, minutes=args.minutes))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
