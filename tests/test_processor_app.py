"""The faust shell's own behaviour (processor/stream/app.py), without a broker: the publisher's
wait for faust's producer buffer, and the lag timer's warning about the embedded broker."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, NamedTuple, cast

import pytest

from wirewatch.processor.stream import app as app_module
from wirewatch.processor.stream.app import WirewatchApp
from wirewatch.processor.stream.types import Record
from wirewatch.settings import Settings


class _TP(NamedTuple):
    topic: str
    partition: int


def test_the_publisher_drains_until_fausts_producer_buffer_is_back_to_its_bound(tmp_path: Path) -> None:
    wa = WirewatchApp(Settings(data_dir=tmp_path), "127.0.0.1:1")  # no broker is reached

    class Buffer:  # faust's producer buffer, as the publisher sees it
        max_messages = 100
        size = 500  # a sweep step's deletions, queued for the changelogs

    buffer = Buffer()
    wa.app.producer.buffer = buffer  # type: ignore[assignment]

    async def scenario() -> int:
        async def producer() -> None:  # sends 50 buffered messages every 10 ms
            while True:
                await asyncio.sleep(0.01)
                buffer.size = max(0, buffer.size - 50)

        task = asyncio.create_task(producer())
        await wa.publisher.drained()
        left = buffer.size
        task.cancel()
        return left

    # back to faust's bound, without waiting for the buffer to empty
    assert 0 < asyncio.run(scenario()) <= Buffer.max_messages


class _Consumer:
    """faust's consumer as the lag timer reads it: high watermarks and offsets read."""

    def __init__(self, highwaters: dict[_TP, int]) -> None:
        self.highwaters = highwaters
        self._read_offset: dict[_TP, int] = {}

    def assignment(self) -> set[_TP]:
        return set(self.highwaters)

    def highwater(self, tp: _TP) -> int:
        return self.highwaters[tp]


def test_the_lag_timer_warns_once_when_an_embedded_partition_nears_what_a_fetch_can_list(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    wa = WirewatchApp(Settings(data_dir=tmp_path, consumer_fetch_wait_ms=100), "127.0.0.1:1")
    raw, claims = _TP(wa.topics.raw.name, 0), _TP(wa.topics.claims.name, 2)
    consumer = _Consumer({raw: 49_999, claims: 10})
    wa.app.consumer = consumer  # type: ignore[assignment]
    wa.update_consumer_lag()
    assert "embedded broker" not in caplog.text  # under half of 100 ms x 1,000 batches
    consumer.highwaters[raw] = 50_000
    wa.update_consumer_lag()
    wa.update_consumer_lag()
    warnings = [r.getMessage() for r in caplog.records if "embedded broker" in r.getMessage()]
    assert warnings == [f"{raw.topic}[0] holds 50,000 records on the embedded broker, which lists every stored "
                        "batch on each fetch and cannot answer one past about 100,000 batches at "
                        "WIREWATCH_CONSUMER_FETCH_WAIT_MS=100; restart `wirewatch run` (the embedded broker "
                        "keeps nothing) or use a Kafka cluster"]


def test_no_depth_warning_on_a_kafka_cluster(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    wa = WirewatchApp(Settings(data_dir=tmp_path, kafka_bootstrap="kafka:9092"), "kafka:9092")
    wa.app.consumer = _Consumer({_TP(wa.topics.raw.name, 0): 10_000_000})  # type: ignore[assignment]
    wa.update_consumer_lag()
    assert "embedded broker" not in caplog.text


# ------------------------------------------------------------------ holes in a partition's offsets
class _Message(NamedTuple):
    topic: str
    partition: int
    offset: int
    key: bytes | None

    @property
    def tp(self) -> _TP:
        return _TP(self.topic, self.partition)


class _Event(NamedTuple):
    message: _Message
    value: bytes


class _Stream:
    """A faust stream as the agent loop reads it: its events, a batch at a time."""

    def __init__(self, *batches: list[int]) -> None:
        self.batches = batches

    async def take_events(self, n: int, within: float) -> Any:
        for offsets in self.batches:
            yield [_Event(_Message("w.stories.raw", 0, o, b"k"), f"r{o}".encode()) for o in offsets]


class _Runner:
    """A stage runner that keeps the records of each batch it is handed."""

    class stage:  # (what the loop reads of a stage)
        name = "dedup"
        batch_size = 8

    def __init__(self) -> None:
        self.batches: list[list[tuple[int, bytes]]] = []

    async def run(self, records: list[Record]) -> None:
        self.batches.append([(r.offset, r.value) for r in records])


class _Held(NamedTuple):  # a record as the broker hands it back
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


def _holes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: Any, start: int = 5,
           batches: tuple[list[int], ...] = ([5, 6], [9, 10])) -> tuple[WirewatchApp, _Runner, list[Any]]:
    """The agent loop over ``batches`` of raw offsets, its consumer having started at ``start``."""
    wa = WirewatchApp(Settings(data_dir=tmp_path), "127.0.0.1:1")  # no broker is reached
    monkeypatch.setattr(app_module, "records_held", held)

    async def start_positions(kwargs: Any, group: str, tps: Any) -> dict[Any, int]:
        assert group == wa.app.conf.id  # the processor's consumer group
        return dict.fromkeys(tps, start)

    monkeypatch.setattr(app_module, "start_positions", start_positions)
    skips: list[Any] = []
    wa.on_skip = skips.append
    runner = _Runner()
    asyncio.run(wa._batches(cast(Any, _Stream(*batches)), cast(Any, runner), 0.01))
    return wa, runner, skips


def test_records_the_consumer_moved_past_are_read_from_the_broker_and_handled_in_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[int, int]] = []

    async def held(kwargs: Any, tp: Any, start: int, end: int, timeout: float = 10.0) -> list[_Held]:
        asked.append((start, end))
        return [_Held(tp.topic, tp.partition, o, b"k", f"r{o}".encode()) for o in range(start, end)]

    wa, runner, skips = _holes(tmp_path, monkeypatch, held)
    assert asked == [(7, 9)]  # @6 then @9: @7 and @8 never reached the agent
    assert runner.batches == [[(5, b"r5"), (6, b"r6")], [(o, f"r{o}".encode()) for o in (7, 8, 9, 10)]]
    # handled, so faust may commit past them (its gaps count as acknowledged offsets)
    consumer: Any = wa.app.consumer
    assert sorted((i.begin, i.end) for i in consumer._gap[_TP("w.stories.raw", 0)]) == [(7, 9)]
    assert skips == []


def test_a_hole_without_records_is_passed_over_and_one_the_broker_cannot_be_asked_about_is_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def markers(kwargs: Any, tp: Any, start: int, end: int, timeout: float = 10.0) -> list[_Held]:
        return []  # transaction markers, compaction

    wa, runner, skips = _holes(tmp_path, monkeypatch, markers)
    assert [[o for o, _ in b] for b in runner.batches] == [[5, 6], [9, 10]]
    assert not cast(Any, wa.app.consumer)._gap and skips == []

    async def unreachable(kwargs: Any, tp: Any, start: int, end: int, timeout: float = 10.0) -> list[_Held]:
        raise TimeoutError("no answer")

    wa, runner, skips = _holes(tmp_path, monkeypatch, unreachable)
    assert [[o for o, _ in b] for b in runner.batches] == [[5, 6], [9, 10]]
    assert not cast(Any, wa.app.consumer)._gap  # the agent marks nothing handled
    assert [(s.expected, s.got) for s in skips] == [(7, 9)]  # `wirewatch processor` restarts


def test_a_hole_before_the_first_record_after_a_rebalance_is_seen_from_where_the_consumer_started(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def held(kwargs: Any, tp: Any, start: int, end: int, timeout: float = 10.0) -> list[_Held]:
        return [_Held(tp.topic, tp.partition, o, b"k", f"r{o}".encode()) for o in range(start, end)]

    # committed at @3: the first record handed over is @5, so @3 and @4 never reached the agent
    wa, runner, skips = _holes(tmp_path, monkeypatch, held, start=3, batches=([5, 6],))
    assert runner.batches == [[(o, f"r{o}".encode()) for o in (3, 4, 5, 6)]] and skips == []
    assert sorted((i.begin, i.end) for i in cast(Any, wa.app.consumer)._gap[_TP("w.stories.raw", 0)]) == [(3, 5)]
    # re-delivery from before the committed offset (another member committed late) is no hole
    wa, runner, skips = _holes(tmp_path, monkeypatch, held, start=8, batches=([5, 6],))
    assert runner.batches == [[(5, b"r5"), (6, b"r6")]] and skips == []
    assert not cast(Any, wa.app.consumer)._gap
