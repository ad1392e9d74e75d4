"""The embedded broker lasts: fewer, fuller batches, and topic generations.

The embedded broker (Tansu, memory storage) lists every stored batch of a partition on
each fetch and keeps every batch, so what bounds how long `wirewatch run` lasts is the
number of batches wirewatch writes per story (benchmarks/README.md).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from wirewatch.admin import create_topics
from wirewatch.broker import BrokerFile
from wirewatch.models import RawStory
from wirewatch.poller.kafka import KafkaStorySink, make_producer, read_feeds
from wirewatch.renewal import Depth, generation_settings, output_topics
from wirewatch.settings import Settings
from wirewatch.topics import Topics

from .conftest import WIREWATCH

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))
from census import census  # noqa: E402  (benchmarks/ is not a package)


def _story(i: int, words: int = 700) -> RawStory:
    now = datetime.now(UTC)
    body = " ".join(f"word{(i * 7 + k) % 997}" for k in range(words))
    return RawStory(story_id=f"s{i}", feed_id="f", outlet="o", guid=f"g{i}", url=f"https://example.org/{i}",
                    canonical_url=f"https://example.org/{i}", title=f"story {i}", body=body, published=now,
                    fetched_at=now)


def test_a_polls_stories_leave_in_one_produce_batch(fresh_broker: str) -> None:
    settings = Settings(kafka_bootstrap=fresh_broker, kafka_idempotent=False)

    async def run() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=fresh_broker)
        await admin.start()
        try:
            await admin.create_topics([NewTopic("raw", 1, 1)])
        finally:
            await admin.close()
        producer = make_producer(settings, fresh_broker)  # the poller's, as configured
        await producer.start()
        try:
            sink = KafkaStorySink(producer, "raw")
            await sink.publish_all([_story(i) for i in range(30)])  # ~150 KB: one poll of a busy feed
            await sink.publish(_story(99))
        finally:
            await producer.stop()

    asyncio.run(run())
    held = asyncio.run(census(fresh_broker, ["raw"]))[("raw", 0)]
    assert (held.batches, held.records) == (2, 31)


# ---------------------------------------------------------------------- renewal
def test_generation_names_leave_the_first_generation_as_configured() -> None:
    base = Settings(topic_prefix="ww", app_id="wwapp")
    assert generation_settings(base, 0) is base
    g2 = generation_settings(base, 2)
    assert (g2.topic_prefix, g2.app_id) == ("ww.g2", "wwapp-g2")
    assert output_topics(g2) == ["ww.g2.claims.updates", "ww.g2.alerts.new_claim", "ww.g2.alerts.contradiction",
                                 "ww.g2.deadletter"]


def test_depth_is_the_deepest_partition_or_the_inputs_together() -> None:
    raw, unique = TopicPartition("w.stories.raw", 0), TopicPartition("w.stories.unique", 1)
    changelog = TopicPartition("w-dedup-changelog", 0)
    inputs = {"w.stories.raw", "w.stories.unique"}
    one = Depth.of({raw: 300, unique: 100, changelog: 900}, inputs, threshold=1000)
    assert one.deepest == ("w-dedup-changelog", 0, 900) and one.share == 0.9 and "changelog" in one.why
    # one fetch lists every input partition with new records: together they count at twice the threshold
    together = Depth.of({raw: 950, unique: 1000, changelog: 10}, inputs, threshold=1000)
    assert together.share == 1.0 and together.inputs == 1950
    assert Depth.of({raw: 0}, inputs, threshold=1000).share == 0.0


def test_the_broker_file_names_the_topics_in_use_and_the_status() -> None:
    record = BrokerFile("127.0.0.1:9", owner=42, topics="wirewatch.g3", status="generation 3, 12% of the way")
    text = record.render()
    assert text.splitlines()[0] == "127.0.0.1:9"  # what deploy/kcat-subscribe.sh and older readers take
    assert BrokerFile.parse(text) == record
    assert BrokerFile.parse("127.0.0.1:9\nowner 42\n") == BrokerFile("127.0.0.1:9", 42)


@pytest.mark.e2e
@pytest.mark.model
def test_renewals_carry_the_state_and_alerts_keep_coming(tmp_path: Path) -> None:
    """The pipeline of `wirewatch run` through three renewals in compressed time
    (benchmarks/bench_lifetime.py at a small threshold): every record handled, no re-sent
    story passes dedup as new in a later generation, alerts in the generations after a
    renewal, old generations' topics deleted, no faust app of an old generation kept."""
    out = tmp_path / "res.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_lifetime.py"), "--records", "7000", "--renew-records", "1200",
         "--check-seconds", "2", "--fresh-every", "250", "--rate", "1500", "--json", str(out),
         "--workdir", str(tmp_path / "w")],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(out.read_text())
    assert r["ended"] == "done", proc.stdout
    gens = r["generations"]
    assert len([g for g in gens.values() if g["records"]]) >= 3, proc.stdout  # injected into 3+ generations
    end = r["end"]
    assert end["dedup"] == r["acked"] == 7000
    # the dedup window went from generation to generation: a re-send is a duplicate in any of them
    assert end["unique"] + end["updates"] == r["fresh"]
    later = [prefix for prefix in gens if prefix != "wirewatch"]
    last = max(later, key=lambda p: int(p.rsplit(".g", 1)[1]))
    assert any(t.startswith(last + ".alerts.") for t in r["topics_at_end"])
    first_at = {prefix: t for t, prefix in r["topics"]}
    after_first = [s for s in r["samples"] if s["t"] >= first_at[later[0]]]
    assert after_first and after_first[-1]["alerts"] > after_first[0]["alerts"], "no alert after a renewal"
    # generation 0 is gone: its internal topics at its renewal, its outputs one renewal later
    generation_0 = [t for t in r["topics_at_end"]
                    if re.match(r"wirewatch\.(?!g\d+\.)", t) or re.match(r"wirewatch-(?!g\d+-)", t)]
    assert generation_0 == []
    assert r["apps_alive"] == 0


def _client_env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    env.update({"WIREWATCH_DATA_DIR": str(data), "WIREWATCH_METRICS_PORT": "0", "WIREWATCH_TOPIC_PREFIX": "ww"})
    return env


def test_feed_commands_use_the_topics_the_run_uses_now(fresh_broker: str, tmp_path: Path) -> None:
    """After a renewal `wirewatch run` polls the feeds of its new generation: a feed added
    then must go there, and `feeds list` reads it there and says how far the next renewal is."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "embedded-broker").write_text(BrokerFile(
        fresh_broker, topics="ww.g2", status="generation 2, 40% of the way to the next renewal").render())
    now = Settings(topic_prefix="ww.g2")
    asyncio.run(create_topics(now, bootstrap=fresh_broker))
    env = _client_env(data)
    added = subprocess.run([str(WIREWATCH), "feeds", "add", "https://example.org/feed.xml", "--outlet", "Example",
                            "--id", "f1"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr
    assert list(asyncio.run(read_feeds(now, fresh_broker))) == ["f1"]
    assert asyncio.run(read_feeds(Settings(topic_prefix="ww"), fresh_broker)) == {}  # not the configured names
    listed = subprocess.run([str(WIREWATCH), "feeds", "list"], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert "generation 2, 40% of the way to the next renewal" in listed.stdout.splitlines()[0]
    assert "f1" in listed.stdout


def test_tail_reads_the_rest_of_the_old_alerts_then_follows_a_renewal(fresh_broker: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    broker_file = data / "embedded-broker"
    broker_file.write_text(BrokerFile(fresh_broker, topics="ww").render())
    old, new = Settings(topic_prefix="ww"), Settings(topic_prefix="ww.g1")

    async def alerts(settings: Settings, names: list[str]) -> None:
        await create_topics(settings, bootstrap=fresh_broker)
        producer = AIOKafkaProducer(bootstrap_servers=fresh_broker)
        await producer.start()
        try:
            topic = Topics(settings.topic_prefix).new_claim.name
            for name in names:
                # One key, so one partition: Kafka orders records within a partition only.
                await producer.send_and_wait(topic, json.dumps({"type": "new_claim", "n": name}).encode(),
                                             key=b"one-ledger-key")
        finally:
            await producer.stop()

    asyncio.run(alerts(old, ["a"]))
    tail = subprocess.Popen([str(WIREWATCH), "tail", "--json", "--max", "4", "--timeout", "90"], env=_client_env(data),
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(4)  # tail is reading the old generation
        # a renewal: the last alerts of the old generation, then the new topics named in the file
        asyncio.run(alerts(old, ["b"]))
        asyncio.run(alerts(new, ["c", "d"]))
        broker_file.write_text(BrokerFile(fresh_broker, topics="ww.g1").render())
        out, err = tail.communicate(timeout=120)
    finally:
        if tail.poll() is None:
            tail.kill()
    assert tail.returncode == 0, err
    assert [json.loads(line)["n"] for line in out.splitlines()] == ["a", "b", "c", "d"]
