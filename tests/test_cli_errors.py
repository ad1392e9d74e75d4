"""Bad configuration ends in one clear line on stderr, not a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from .conftest import WIREWATCH


def _run(args: list[str], tmp_path: Path, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    e.update({"WIREWATCH_DATA_DIR": str(tmp_path / "data"), "WIREWATCH_METRICS_PORT": "0"})
    e.update(env)
    return subprocess.run([str(WIREWATCH), *args], env=e, cwd=tmp_path, capture_output=True, text=True,
                          timeout=timeout)


def _one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and " INFO " not in ln]
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [ln for ln in lines if ln.startswith("wirewatch: error:")]
    assert len(errors) == 1, proc.stderr
    for n in needles:
        assert n in errors[0], errors[0]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unknown_feed_url_scheme(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - url: gopher://example.org/feed\n    outlet: Gopher News\n")
    _one_line_error(_run(["run", "--feeds", str(feeds)], tmp_path), "gopher")


def test_unreadable_feeds_file(tmp_path: Path) -> None:
    _one_line_error(_run(["run", "--feeds", str(tmp_path / "nope.yaml")], tmp_path), "nope.yaml")


def test_broker_that_does_not_answer(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - url: https://example.org/feed.xml\n    outlet: Example\n")
    port = _closed_port()
    proc = _run(["run", "--feeds", str(feeds)], tmp_path, WIREWATCH_KAFKA_BOOTSTRAP=f"127.0.0.1:{port}",
                WIREWATCH_BROKER_TIMEOUT_SECONDS="3")
    _one_line_error(proc, f"127.0.0.1:{port}")


def test_invalid_setting(tmp_path: Path) -> None:
    _one_line_error(_run(["replay", "x.xml", "--out", "o"], tmp_path, WIREWATCH_TOPIC_PARTITIONS="many"),
                    "WIREWATCH_TOPIC_PARTITIONS")


def test_replay_missing_feed_file(tmp_path: Path) -> None:
    _one_line_error(_run(["replay", "missing.xml", "--out", "o"], tmp_path), "missing.xml")


def test_client_command_without_a_broker(tmp_path: Path) -> None:
    _one_line_error(_run(["tail", "--timeout", "1"], tmp_path), "WIREWATCH_KAFKA_BOOTSTRAP")
