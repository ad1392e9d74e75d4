"""The overview PNG: drawn from Prometheus's query API, failing in one clear line.

A tiny stand-in for Prometheus's HTTP API answers with canned series; the real
Prometheus is exercised by tests/test_prometheus_e2e.py.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from wirewatch import dashboards
from wirewatch.dashboard_png import legend, main, render_png
from wirewatch.errors import ConfigError


class _Handler(BaseHTTPRequestHandler):
    asked: list[str]  # set per server
    mode = "ok"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        url = urlparse(self.path)
        q = parse_qs(url.query)
        self.asked.append(q["query"][0])
        if self.mode == "error":
            body = {"status": "error", "errorType": "bad_data", "error": "parse error at char 5"}
            return self._send(400, body)
        if self.mode == "html":
            return self._send(502, None)
        now = time.time()
        result: list[dict[str, object]]
        if url.path == "/api/v1/query_range":
            values = [[now - 60 + i * 10, str(i)] for i in range(7)]
            result = [{"metric": {"stage": "dedup", "type": "new_claim", "topic": "t"}, "values": values}]
        else:
            result = [{"metric": {"state": "ok", "type": "new_claim"}, "value": [now, "3"]}]
        self._send(200, {"status": "success", "data": {"resultType": "matrix", "result": result}})

    def _send(self, code: int, body: object) -> None:
        data = b"<html>bad gateway</html>" if body is None else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json" if body is not None else "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def fake_prometheus() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("H", (_Handler,), {"asked": [], "mode": "ok"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_png_asks_every_overview_query_with_variables_expanded(
        fake_prometheus: tuple[str, type[_Handler]], tmp_path: Path) -> None:
    url, handler = fake_prometheus
    out = render_png(url, tmp_path / "sub" / "overview.png", minutes=10)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    overview = dashboards.queries(dashboards.OVERVIEW)
    expected = {dashboards.expand(q.expr, rate_interval="60s") for _, q in overview}
    assert set(handler.asked) == expected
    assert not any("$" in q for q in handler.asked)


def test_png_fails_in_one_line_on_a_rejected_query(
        fake_prometheus: tuple[str, type[_Handler]], tmp_path: Path) -> None:
    url, handler = fake_prometheus
    handler.mode = "error"
    with pytest.raises(ConfigError, match=r"rejected .*parse error at char 5"):
        render_png(url, tmp_path / "x.png")
    handler.mode = "html"
    with pytest.raises(ConfigError, match="HTTP 502, not JSON"):
        render_png(url, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_png_cli_reports_an_unreachable_prometheus(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--prometheus", "http://127.0.0.1:9", "--out", str(tmp_path / "x.png")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot reach Prometheus at http://127.0.0.1:9") and "\n" not in err


def test_legend_follows_grafana_templates() -> None:
    q = dashboards.Query("x", "dead letter: {{error_class}}")
    assert legend(q, {"error_class": "timeout"}) == "dead letter: timeout"
    auto = dashboards.Query("sum by (topic) (x)")
    assert legend(auto, {"topic": "a", "instance": "h:1"}) == "topic=a"
