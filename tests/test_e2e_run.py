"""End to end on real components: `wirewatch run` (embedded Tansu broker, demo feeds
served over HTTP on 127.0.0.1, poller, faust processor) read back with aiokafka.

Checks the walking skeleton's promises: new_claim and contradiction alerts arrive
within 60 s, every message on every topic validates against its schema, kcat can
subscribe to the contradictions, and Ctrl-C stops everything, the broker included.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from wirewatch.broker import free_port
from wirewatch.topics import Topics

from .conftest import WIREWATCH

pytestmark = [pytest.mark.e2e, pytest.mark.model]


def _tansu_pids_on(port: int) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd and b"tansu" in cmd[0] and any(f":{port}".encode() in c for c in cmd):
            pids.append(int(proc.name))
    return pids


async def _wait_for_topics(bootstrap: str, topics: list[str], until: float) -> None:
    """`wirewatch run` writes the broker file once its broker listens and creates the topics
    after that; a consumer started in between would know none of them."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        while missing := set(topics) - await consumer.topics():
            assert time.monotonic() < until, f"topics never created: {sorted(missing)}"
            await asyncio.sleep(0.5)
    finally:
        await consumer.stop()


async def _read_all(bootstrap: str, topics: list[str], until: float, want: set[str]) -> dict[str, list[bytes]]:
    """Every message on ``topics`` until ``want`` alert types were all seen (or time is up)."""
    await _wait_for_topics(bootstrap, topics, until)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", fetch_max_wait_ms=100)
    await consumer.start()
    out: dict[str, list[bytes]] = {t: [] for t in topics}
    try:
        tps = []
        for t in topics:
            tps.extend(TopicPartition(t, p) for p in consumer.partitions_for_topic(t) or ())
        assert {tp.topic for tp in tps} == set(topics), "a topic without partitions in the metadata"
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen: set[str] = set()
        while time.monotonic() < until:
            batch = await consumer.getmany(timeout_ms=500)
            for tp, msgs in batch.items():
                for m in msgs:
                    if m.value is not None:
                        out[tp.topic].append(m.value)
                        if tp.topic.startswith("wirewatch.alerts."):
                            seen.add(orjson.loads(m.value)["type"])
            if want <= seen:
                # one more quiet read so the other topics catch up
                await asyncio.sleep(1.0)
                for tp, msgs in (await consumer.getmany(timeout_ms=1000)).items():
                    out[tp.topic].extend(m.value for m in msgs if m.value is not None)
                break
    finally:
        await consumer.stop()
    return out


def test_run_demo_alerts_schemas_and_clean_exit(tmp_path: Path) -> None:
    from wirewatch.schemas import validate

    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    env.update({
        "WIREWATCH_DATA_DIR": str(tmp_path / "data"),
        "WIREWATCH_METRICS_PORT": str(free_port()),
    })
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen([str(WIREWATCH), "run"], env=env, stdout=log, stderr=subprocess.STDOUT,
                            cwd=tmp_path, start_new_session=True)
    started = time.monotonic()
    try:
        broker_file = tmp_path / "data" / "embedded-broker"
        while not broker_file.exists():
            assert proc.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
            assert time.monotonic() - started < 30, "embedded broker never came up"
            time.sleep(0.2)
        bootstrap = broker_file.read_text().splitlines()[0]  # then "owner <pid>"
        port = int(bootstrap.rsplit(":", 1)[1])
        topics = Topics()
        names = [s.name for s in topics]
        got = asyncio.run(_read_all(bootstrap, names, started + 60, {"new_claim", "contradiction"}))
        types = {orjson.loads(v)["type"] for t in (topics.new_claim.name, topics.contradiction.name)
                 for v in got[t]}
        assert {"new_claim", "contradiction"} <= types, (
            f"alerts seen within 60 s: {sorted(types)}\n" + (tmp_path / "run.log").read_text()[-3000:])
        # every message the pipeline produced validates against its topic's schema
        checked = 0
        for spec in topics:
            for value in got[spec.name]:
                problems = validate(spec.schema, orjson.loads(value))
                assert not problems, f"{spec.name}: {problems}"
                checked += 1
        assert got[topics.raw.name] and got[topics.unique.name] and got[topics.claims.name]
        assert len(got[topics.unique.name]) < len(got[topics.raw.name]), "the syndicated copy was not deduplicated"
        assert checked >= 10
        # Any Kafka client can subscribe: Debian's kcat, through the documented script,
        # prints the contradiction alert of this running `wirewatch run`.
        script = Path(__file__).resolve().parents[1] / "deploy" / "kcat-subscribe.sh"
        kcat = subprocess.run(["bash", str(script), "-c", "1"], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
        assert kcat.returncode == 0, kcat.stderr
        first = orjson.loads(kcat.stdout.splitlines()[0])
        assert first["type"] == "contradiction" and first["claim"]["sentence"] and first["contradicts"]["sentence"]
        # Ctrl-C: a clean exit, and no broker left behind
        os.killpg(proc.pid, signal.SIGINT)
        rc = proc.wait(timeout=30)
        assert rc == 0, (tmp_path / "run.log").read_text()[-3000:]
        deadline = time.monotonic() + 5
        while _tansu_pids_on(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _tansu_pids_on(port) == [], "the embedded broker outlived wirewatch run"
        assert not broker_file.exists()
        text = (tmp_path / "run.log").read_text()
        assert "Traceback" not in text, text[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
