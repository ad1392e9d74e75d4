"""What wirewatch changes inside faust (processor/stream/faust_patches.py), one test per
replacement, on faust's own objects.

Each test shows faust-streaming's own method failing (so that an upgrade that fixes one
says which replacement to drop) and the replacement not failing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import faust
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faust.transport import consumer as faust_consumer
from faust.transport import producer as faust_producer
from faust.transport.drivers import aiokafka as faust_aiokafka
from intervaltree import IntervalTree
from mode import Service
from mode.utils.locks import Event

from tests.test_offsets import _batched
from wirewatch import offsets
from wirewatch.offsets import offsets_held, records_held
from wirewatch.processor.stream import faust_patches
from wirewatch.processor.stream.app import DedupTable, LedgerTable
from wirewatch.processor.stream.faust_patches import REPLACEMENTS, keep_queued_events
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


def _install(bootstrap: str = "127.0.0.1:1", **settings: Any) -> None:
    faust_patches.install(Settings(**settings), bootstrap)


def test_every_replacement_is_installed_once_and_names_the_faust_version() -> None:
    _install()
    _install()  # a second app in the process
    for replacement in REPLACEMENTS.values():
        installed = vars(replacement.owner)[replacement.name]
        assert installed is not replacement.original
        assert installed.__wirewatch_original__ is replacement.original  # not a replacement of a replacement
        assert faust_patches.FAUST_STREAMING in (installed.__doc__ or "")
    assert faust.__version__ == faust_patches.FAUST_STREAMING  # a new faust: run this file, drop what it fixes


# ------------------------------------------------------------------ the consumer's long-poll wait
def test_the_worker_consumer_long_polls_for_the_configured_wait() -> None:
    async def waits() -> tuple[int, int]:
        app = faust.App(f"wait-{uuid.uuid4().hex[:6]}", broker="kafka://127.0.0.1:1")
        thread = faust_aiokafka.AIOKafkaConsumerThread(app.consumer)
        own = REPLACEMENTS["fetch_wait"].original(thread, app.consumer.transport)
        _install(consumer_fetch_wait_ms=40)
        ours = thread._create_worker_consumer(app.consumer.transport)
        return own._fetch_max_wait_ms, ours._fetch_max_wait_ms  # what aiokafka builds its fetcher with

    own, ours = asyncio.run(waits())
    assert own == 1500  # faust's hard-coded wait: an empty long-poll on the embedded broker lasts this long
    assert ours == 40


# ------------------------------------------------------------------ where table recovery stops
def test_table_recovery_reads_a_changelog_to_its_last_record(fresh_broker: str) -> None:
    topic = f"changelog-{uuid.uuid4().hex[:8]}"
    tp = TopicPartition(topic, 0)
    asyncio.run(_batched(fresh_broker, topic, [7, 1, 5]))  # 13 records in three batches
    _install(fresh_broker)

    async def ends() -> tuple[Any, Any]:
        consumer = AIOKafkaConsumer(bootstrap_servers=fresh_broker, enable_auto_commit=False)
        await consumer.start()
        try:
            # faust's consumer thread, as _highwaters sees it
            thread: Any = type("Thread", (), {"consumer": type("C", (), {"in_transaction": False})(),
                                              "_ensure_consumer": lambda self: consumer})()
            own = await REPLACEMENTS["changelog_end"].original(thread, [tp])
            ours = await faust_aiokafka.AIOKafkaConsumerThread._highwaters(thread, [tp])
        finally:
            await offsets.stop_quietly(consumer)
        return own[tp], ours[tp]

    own, ours = asyncio.run(ends())
    assert own < 13  # the embedded broker's ListOffsets: a restarted worker would recover part of the table
    assert ours == 13


# ------------------------------------------------------------------ which partitions a fetch returns
class _Fetcher:
    """aiokafka's fetcher as faust's fetch uses it: records buffered per partition, and
    aiokafka's rule that an empty set of partitions means every partition."""

    _closed = False

    def __init__(self, buffered: dict[str, list[str]]) -> None:
        self.buffered = buffered
        self.asked: list[Any] = []
        self._subscriptions = self

    @contextmanager
    def fetch_context(self) -> Iterator[None]:
        yield

    async def fetched_records(self, partitions: Any, timeout: float | None = None,
                              max_records: int | None = None) -> dict[str, list[str]]:
        self.asked.append(partitions)
        return {tp: recs for tp, recs in self.buffered.items() if not partitions or tp in partitions}


def test_a_fetch_returns_nothing_when_no_partition_is_active_when_it_runs() -> None:
    _install()
    thread: Any = type("Thread", (), {"consumer": type("C", (), {"flow_active": True})()})()

    def fetch(method: Any, live: set[str]) -> tuple[dict[str, list[str]], _Fetcher]:
        fetcher = _Fetcher({"raw-0": ["r7", "r8"]})  # buffered for a stream partition still paused
        consumer: Any = type("K", (), {"_closed": False, "_fetcher": fetcher})()
        return asyncio.run(method(thread, consumer, live, timeout=0.1, max_records=10)), fetcher

    # faust hands over its live set of active partitions; when table recovery ends it is
    # empty for a moment (changelogs paused, stream partitions not yet resumed)
    own, _ = fetch(REPLACEMENTS["active_partitions"].original, set())
    assert own == {"raw-0": ["r7", "r8"]}  # records of a paused partition, which faust then drops
    ours, fetcher = fetch(faust_aiokafka.AIOKafkaConsumerThread._fetch_records, set())
    assert ours == {} and fetcher.asked == []
    # an active set is passed on as it was when the fetch ran, not as the live set later changes
    ours, fetcher = fetch(faust_aiokafka.AIOKafkaConsumerThread._fetch_records, {"raw-0"})
    assert ours == {"raw-0": ["r7", "r8"]} and fetcher.asked == [frozenset({"raw-0"})]


# ------------------------------------------------------------------ the flush before an offset commit
class _RunningBuffer(faust_producer.ProducerBuffer):
    state = "running"  # (a started service's state, without starting faust's sender task)


def test_the_flush_before_an_offset_commit_waits_until_the_buffer_is_sent() -> None:
    _install()
    app = faust.App(f"flush-{uuid.uuid4().hex[:6]}", broker="kafka://127.0.0.1:1")

    async def left_after(flush: Any) -> int:
        buffer = _RunningBuffer()
        buffer.app = app
        for i in range(3):  # three table changelog writes queued
            buffer.pending.put_nowait(i)

        async def producer() -> None:  # a loaded broker: one send every 0.2 s
            while buffer.size:
                await asyncio.sleep(0.2)
                buffer.pending.get_nowait()
                buffer.message_sent.set()

        sending = asyncio.create_task(producer())
        await flush(buffer)
        left = buffer.size
        sending.cancel()
        return left

    # faust's flush gives up after 0.1 s without a send: the offset would be committed
    # with changelog writes still queued, and a crash would lose them
    assert asyncio.run(left_after(REPLACEMENTS["flush"].original)) == 3
    assert asyncio.run(left_after(faust_producer.ProducerBuffer.flush)) == 0


# ------------------------------------------------------------------ holes in the offsets handed over
def _gapless() -> Any:
    return type("C", (), {"_gap": defaultdict(IntervalTree), "_committed_offset": defaultdict(lambda: None)})()


def test_a_hole_is_committed_past_only_when_the_broker_holds_no_records_there(embedded_broker: str) -> None:
    topic = f"gap-{uuid.uuid4().hex[:8]}"
    asyncio.run(_fill(embedded_broker, topic, 6))
    _install(embedded_broker)
    # faust calls _add_gap(tp, first offset missed, offset just handed over) when a stream
    # is handed @4 after @1.  @2 and @3 hold records: dropped, or coming again after a
    # seek, so they must be handled before a commit moves past them.
    own = _gapless()
    asyncio.run(REPLACEMENTS["holes"].original(own, TP(topic, 0), 2, 4))
    assert sorted((i.begin, i.end) for i in own._gap[TP(topic, 0)]) == [(2, 5)]  # faust: no ack needed
    dropped = _gapless()
    asyncio.run(faust_consumer.Consumer._add_gap(dropped, TP(topic, 0), 2, 4))
    assert not dropped._gap[TP(topic, 0)]
    # Offsets that hold nothing (here: past the end; on a real Kafka, transaction
    # markers) are a hole faust may commit past, as it always did.
    markers = _gapless()
    asyncio.run(faust_consumer.Consumer._add_gap(markers, TP(topic, 0), 6, 8))
    assert sorted((i.begin, i.end) for i in markers._gap[TP(topic, 0)]) == [(6, 9)]


def test_the_hole_asked_about_excludes_the_record_just_handed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    _install()
    asked: list[tuple[int, int]] = []

    async def held(kwargs: Any, tp: Any, start: int, end: int, timeout: float = 10.0) -> list[int]:
        asked.append((start, end))
        return []  # a hole of transaction markers

    monkeypatch.setattr(offsets, "offsets_held", held)
    c = _gapless()
    asyncio.run(faust_consumer.Consumer._add_gap(c, TP("w.raw", 0), 7, 10))  # @10 handed over after @6
    assert asked == [(7, 10)]  # @7..9; @10 exists, and counting it would make every hole look held
    assert sorted((i.begin, i.end) for i in c._gap[TP("w.raw", 0)]) == [(7, 11)]


# ------------------------------------------------------------------ the producer's delivery settings
@pytest.mark.parametrize("idempotent", [True, False])
def test_the_producer_waits_for_every_replica_and_is_idempotent_when_asked(idempotent: bool) -> None:
    app = faust.App(f"producer-{uuid.uuid4().hex[:6]}", broker="kafka://127.0.0.1:1")
    producer: Any = app.producer
    # faust asks for neither outside exactly-once transactions: aiokafka's defaults
    assert REPLACEMENTS["idempotence"].original(producer) == {}
    _install(kafka_idempotent=idempotent)
    expected = {"acks": "all", "enable_idempotence": True} if idempotent else {"acks": "all"}
    assert producer._settings_extra() == expected


# ------------------------------------------------------------------ flow control
def test_resuming_a_flowing_app_keeps_the_events_already_queued_for_its_streams() -> None:
    def queued_after_recovery(patch: bool) -> int:
        app = faust.App(f"flow-{uuid.uuid4().hex[:6]}", broker="kafka://127.0.0.1:1")
        if patch:
            keep_queued_events(app.flow_control)
        queue: asyncio.Queue[int] = app.FlowControlQueue(maxsize=10, clear_on_resume=True)  # what a stream reads
        assert not app.flow_control.is_active()  # an app starts suspended, as after a rebalance
        app.flow_control.resume()  # faust resumes flow to read the changelogs...
        queue.put_nowait(7)  # ...resumes the stream partitions, and records come in
        queue.put_nowait(8)
        # Once recovery is done faust resumes flow a second time, while it is already on.
        app.flow_control.resume()
        kept = queue.qsize()
        # A rebalance suspends flow: what was queued before it is stale and is dropped on resume.
        app.flow_control.suspend()
        app.flow_control.resume()
        assert queue.qsize() == 0
        return kept

    assert queued_after_recovery(patch=False) == 0  # faust: events 7 and 8 are never handled
    assert queued_after_recovery(patch=True) == 2


def test_offsets_held_names_the_offsets_that_hold_records(embedded_broker: str) -> None:
    topic = f"held-{uuid.uuid4().hex[:8]}"
    asyncio.run(_fill(embedded_broker, topic, 5))
    kwargs = {"bootstrap_servers": embedded_broker}
    assert asyncio.run(offsets_held(kwargs, TP(topic, 0), 1, 4)) == [1, 2, 3]
    assert asyncio.run(offsets_held(kwargs, TP(topic, 0), 4, 9)) == [4]
    assert asyncio.run(offsets_held(kwargs, TP(topic, 0), 5, 9)) == []
    assert asyncio.run(offsets_held(kwargs, TP(topic, 0), 3, 3)) == []
    # the records themselves, for an agent to handle the ones its consumer moved past
    assert [(r.offset, r.value) for r in asyncio.run(records_held(kwargs, TP(topic, 0), 2, 4))] == [(2, b"r2"),
                                                                                                (3, b"r3")]


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



def test_dedup_writes_go_to_partition_0_of_a_one_partition_changelog_without_hashing_the_key() -> None:
    app = faust.App("dedup-partition-test", broker="kafka://127.0.0.1:1", topic_partitions=4)
    one = DedupTable(app, name="dedup", default=None, beacon=app.tables.beacon, partitions=1, use_partitioner=True)
    hashed: list[Any] = []
    app.producer.key_partition = lambda *args: hashed.append(args)  # type: ignore[method-assign]
    assert {one.partition_for_key(f"s:g:{i}") for i in range(50)} == {0}
    assert hashed == []
    # with more partitions the choice stays faust's: its partitioner, from the key, when sent
    four = DedupTable(app, name="dedup4", default=None, beacon=app.tables.beacon, partitions=4, use_partitioner=True)
    assert four.partition_for_key("s:g:1") is None

# ------------------------------------------------------------------ handing records to the streams
class _Consumer(Service):
    """What the consumer's ``wait_first`` reads of a faust Consumer: a mode service with a
    suspend-flow event."""

    def __init__(self) -> None:
        super().__init__()
        self.suspend_flow = Event()


def _deliveries(wait_first: Any, scenario: Any) -> tuple[list[str], int]:
    """What ``scenario(consumer, wait_first)`` delivered, and how many tasks it made."""

    async def run() -> tuple[list[str], int]:
        made = 0
        loop = asyncio.get_running_loop()

        def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
            nonlocal made
            made += 1
            return asyncio.Task(coro, loop=loop, **kwargs)

        loop.set_task_factory(factory)
        delivered: list[str] = []
        await scenario(_Consumer(), wait_first, delivered)
        return delivered, made

    return asyncio.run(run())


async def _three_that_do_not_block(consumer: Any, wait_first: Any, delivered: list[str]) -> None:
    async def deliver(value: str) -> None:  # a stream queue with room: no await suspends
        delivered.append(value)

    for value in ("a", "b", "c"):
        await wait_first(consumer, deliver(value), consumer.suspend_flow.wait())


def test_a_record_that_does_not_block_is_handed_over_without_a_task() -> None:
    # faust races each delivery against the flow in four tasks a record
    delivered, made = _deliveries(REPLACEMENTS["delivery"].original, _three_that_do_not_block)
    assert delivered == ["a", "b", "c"] and made >= 12
    _install()
    delivered, made = _deliveries(faust_consumer.Consumer.wait_first, _three_that_do_not_block)
    assert delivered == ["a", "b", "c"] and made == 0


async def _one_blocked_then_suspended(consumer: Any, wait_first: Any, delivered: list[str]) -> None:
    room = asyncio.Event()  # a full stream queue

    async def deliver(value: str) -> None:
        delivered.append(f"{value} started")
        try:
            await room.wait()
            delivered.append(value)
        finally:
            delivered.append(f"{value} left")

    async def rebalance() -> None:
        await asyncio.sleep(0.01)
        consumer.suspend_flow.set()

    suspending = asyncio.create_task(rebalance())
    await wait_first(consumer, deliver("x"), consumer.suspend_flow.wait())
    await suspending
    await asyncio.sleep(0)  # (the abandoned delivery runs its cancellation)
    consumer.suspend_flow.clear()
    room.set()  # the queue drains after the rebalance: the abandoned record is not put there

    async def fails_after_blocking() -> None:
        await asyncio.sleep(0)
        raise ValueError("undecodable")

    with pytest.raises(ValueError, match="undecodable"):
        await wait_first(consumer, fails_after_blocking(), consumer.suspend_flow.wait())

    async def resumes(value: str) -> None:
        await asyncio.sleep(0)
        await asyncio.sleep(0.001)
        delivered.append(value)

    await wait_first(consumer, resumes("y"), consumer.suspend_flow.wait())


def test_a_record_that_blocks_still_races_the_flow_as_faust_does() -> None:
    expected = ["x started", "x left", "y"]
    assert _deliveries(REPLACEMENTS["delivery"].original, _one_blocked_then_suspended)[0] == expected
    _install()
    assert _deliveries(faust_consumer.Consumer.wait_first, _one_blocked_then_suspended)[0] == expected


def test_a_record_that_fails_at_once_raises_as_in_faust() -> None:
    async def scenario(consumer: Any, wait_first: Any, delivered: list[str]) -> None:
        async def undecodable() -> None:
            raise ValueError("bad record")

        with pytest.raises(ValueError, match="bad record"):
            await wait_first(consumer, undecodable(), consumer.suspend_flow.wait())
        delivered.append("raised")

    assert _deliveries(REPLACEMENTS["delivery"].original, scenario)[0] == ["raised"]
    _install()
    assert _deliveries(faust_consumer.Consumer.wait_first, scenario)[0] == ["raised"]
