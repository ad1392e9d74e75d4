"""A small run of the pipeline benchmark, so that it cannot rot.

No timing is asserted (speed lives in benchmarks/): only that every phase ran, the
table has its rows, and the counts are the ones the corpus implies.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks"
sys.path.insert(0, str(BENCH))

import corpus  # noqa: E402  (benchmarks/ is not a package)
from wirewatch.models import FeedRecord, utcnow  # noqa: E402
from wirewatch.poller.parse import parse_feed  # noqa: E402

ROWS = (
    "poller: items/s", "processor: raw stories/s", "processor: unique stories/s",
    "processor: duplicate stories/s", "latency p50/p95/p99", "broker (tansu)", "BASELINE: stories/s",
    "BASELINE: latency", "ratio: unique/s vs baseline", "of which per hop",
)


def test_corpus_is_reproducible_and_has_the_documented_mix(tmp_path: Path) -> None:
    items = corpus.build(300, seed=7)
    assert [(i.kind, i.title, i.paragraphs) for i in items] == [
        (i.kind, i.title, i.paragraphs) for i in corpus.build(300, seed=7)]
    mix = corpus.mix(items)
    assert mix["syndicated"] + mix["update"] + mix["repoll"] >= 0.6 * len(items)
    assert 0 < mix["conflict_originals"] < mix["original"]
    originals = [i for i in items if i.kind == "original"]
    assert all(400 <= i.words <= 1000 for i in originals)
    # every item parses back from the written feeds, re-polls in a later snapshot
    paths = corpus.write_feeds(items, tmp_path)
    parsed = []
    for p in paths:
        feed = FeedRecord(feed_id=p.stem, url=f"http://127.0.0.1/{p.name}", outlet=p.stem,
                          updated_at=utcnow())
        parsed += parse_feed(p.read_bytes(), feed).items
    assert len(parsed) == len(items)
    assert {s.url for s in parsed} == {i.link for i in items}


@pytest.mark.e2e
@pytest.mark.model
def test_pipeline_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "res.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_pipeline.py"), "--stories", "30", "--dups", "200",
         "--latency-seconds", "4", "--sample", "3", "--quiet", "--json", str(out),
         "--workdir", str(tmp_path / "w")],
        capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for row in ROWS:
        assert row in proc.stdout, f"missing row {row!r}:\n{proc.stdout}"
    res = json.loads(out.read_text())
    mix, p = res["mix"], res["processor"]
    assert res["poller"]["items"] == 30
    assert p["raw"] == 30
    # every item is either sent to NLP (unique or update) or recognised as a copy
    assert 0 < p["to_nlp"] < 30
    assert p["to_nlp"] >= mix["original"] - 2  # templates may make two originals look alike, rarely
    assert p["claims"] > 0 and res["alerts_phase2"] > 0
    assert res["dups"]["flagged"] == 200
    assert res["latency"]["stories_with_alert"] > 0
    # the latency split by hop: every hop found for the stories with an alert, none negative
    stages = res["latency"]["stages"]
    assert set(stages) == {"poll", "dedup", "extract", "ledger"}
    assert all(len(v) == 3 and 0 <= v[0] <= v[2] for v in stages.values()), stages
    assert res["baseline"]["stories"] == 30 and res["baseline"]["seconds"] > 0
    assert all(v > 0 for v in res["peak_mb"].values())


@pytest.mark.e2e
def test_broker_benchmark_runs_against_the_embedded_broker() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_broker.py"), "--held", "20,40", "--probes", "3"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "embedded broker (Tansu, memory storage)" in proc.stdout
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [r.split(" | ")[0] for r in rows] == ["| 20", "| 40"], proc.stdout
    header = next(line for line in proc.stdout.splitlines() if line.startswith("| batches held"))
    assert "broker CPU ms/fetch" in header and "fetches unanswered" in header and "ratio" in header


def test_broker_benchmark_rejects_bad_counts_in_one_line() -> None:
    proc = subprocess.run([sys.executable, str(BENCH / "bench_broker.py"), "--held", "40,20"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "--held must be ascending counts of at least 1, got '40,20'" in proc.stderr
    assert "Traceback" not in proc.stderr
