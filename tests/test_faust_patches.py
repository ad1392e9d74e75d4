"""What wirewatch changes in faust's consumer (processor/app.py), checked on faust's own objects."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from typing import Any, NamedTuple

import faust
import pytest
from aiokafka import AIOKafkaProducer
from faust.transport import consumer as faust_consumer
from intervaltree import IntervalTree

from wirewatch.offsets import offsets_held
from wirewatch.processor import app as app_module
from wirewatch.processor.app import LedgerTable, _keep_queued_events, _patch_faust
from wirewatch.settings import Settings


async def _fill(bootstrap: str, topic: str, n: int) -> None:
    """``n`` records at offsets 0..n-1 of partition 0."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(n):
            await producer.send_and_wait(topic, f"r{i}".encode(), partition=0)
    finally:
        await producer.stop()


class TP(NamedTuple):
    topic: str
    partition: int


def test_resuming_a_flowing_app_keeps_the_events_already_queued_for_its_streams() -> None:
    app = faust.App("patch-test", broker="kafka://127.0.0.1:1")
    _keep_queued_events(app.flow_control)
    queue: asyncio.Queue[int] = app.FlowControlQueue(maxsize=10, clear_on_resume=True)  # what a stream reads
    assert not app.flow_control.is_active()  # an app starts suspended, as after a rebalance
    app.flow_control.resume()  # faust resumes flow to read the changelogs...
    queue.put_nowait(7)  # ...resumes the stream partitions, and records come in
    queue.put_nowait(8)
    # Once recovery is done faust resumes flow a second time, while it is already on;
    # unpatched, that clears the queue and events 7 and 8 are never handled.
    app.flow_control.resume()
    assert queue.qsize() == 2
    # A rebalance suspends flow: what was queued before it is stale and is dropped on resume.
    app.flow_control.suspend()
    app.flow_control.resume()
    assert queue.qsize() == 0


def test_a_hole_is_committed_past_only_when_the_broker_holds_no_records_there(embedded_broker: str) -> None:
    topic = f"gap-{uuid.uuid4().hex[:8]}"
    asyncio.run(_fill(embedded_broker, topic, 6))
    _patch_faust(Settings(), embedded_broker)

    def consumer() -> Any:
        return type("C", (), {"_gap": defaultdict(IntervalTree), "_committed_offset": defaultdict(lambda: None)})()

    # faust calls _add_gap(tp, first offset missed, offset just handed over) when a stream
    # is handed @4 after @1.  @2 and @3 hold records: dropped, or coming again after a
    # seek, so they must be handled before a commit moves past them (unpatched, faust
    # would record them as needing no ack).
    dropped = consumer()
    asyncio.run(faust_consumer.Consumer._add_gap(dropped, TP(topic, 0), 2, 4))
    assert not dropped._gap[TP(topic, 0)]
    # Offsets that hold nothing (here: past the end; on a real Kafka, transaction
    # markers) are a hole faust may commit past, as it always did.
    markers = consumer()
    asyncio.run(faust_consumer.Consumer._add_gap(markers, TP(topic, 0), 6, 8))
    assert sorted((i.begin, i.end) for i in markers._gap[TP(topic, 0)]) == [(6, 9)]


def test_the_hole_asked_about_excludes_the_record_just_handed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    _patch_faust(Settings(), "127.0.0.1:1")
    asked: list[tuple[int, int]] = []

    async def held(kwargs: Any, tp: Any, start: int, end: int, timeout: float = 10.0) -> list[int]:
        asked.append((start, end))
        return []  # a hole of transaction markers

    monkeypatch.setattr(app_module, "offsets_held", held)
    c: Any = type("C", (), {"_gap": defaultdict(IntervalTree), "_committed_offset": defaultdict(lambda: None)})()
    asyncio.run(faust_consumer.Consumer._add_gap(c, TP("w.raw", 0), 7, 10))  # @10 handed over after @6
    assert asked == [(7, 10)]  # @7..9; @10 exists, and counting it would make every hole look held
    assert sorted((i.begin, i.end) for i in c._gap[TP("w.raw", 0)]) == [(7, 11)]


def test_offsets_held_names_the_offsets_that_hold_records(embedded_broker: str) -> None:
    topic = f"held-{uuid.uuid4().hex[:8]}"
    asyncio.run(_fill(embedded_broker, topic, 5))
    kwargs = {"bootstrap_servers": embedded_broker}
    assert asyncio.run(offsets_held(kwargs, TP(topic, 0), 1, 4)) == [1, 2, 3]
    assert asyncio.run(offsets_held(kwargs, TP(topic, 0), 4, 9)) == [4]
    assert asyncio.run(offsets_held(kwargs, TP(topic, 0), 5, 9)) == []
    assert asyncio.run(offsets_held(kwargs, TP(topic, 0), 3, 3)) == []


def test_ledger_records_go_to_the_changelog_partition_of_their_claims() -> None:
    # faust's own partitioner would hash the JSON-serialized store key ('"place:x/c/<id>"'),
    # so a place's records and its claims would sit on different partitions and a worker
    # taking over a claims partition after a rebalance would recover the wrong records.
    from aiokafka.partitioner import DefaultPartitioner

    app = faust.App("ledger-partition-test", broker="kafka://127.0.0.1:1", topic_partitions=4)
    table = LedgerTable(app, name="ledger", default=None, beacon=app.tables.beacon, partitions=4)
    parts = [0, 1, 2, 3]
    seen = set()
    for i in range(200):
        key = f"place:town{i}"
        expected = DefaultPartitioner()(key.encode(), parts, parts)  # the claims producer's choice
        for skey in (f"{key}/c/{uuid.uuid4().hex}", f"{key}/f/x", f"{key}/p/a:1|b:2", f"{key}/h"):
            assert table.partition_for_key(skey) == expected
        seen.add(expected)
        # a version-1 entry is deleted where faust's partitioner had put it: by its JSON key
        assert table.partition_for_key(key) == DefaultPartitioner()(f'"{key}"'.encode(), parts, parts)
    assert seen == set(parts)
