"""The faust shell's own behaviour (processor/stream/app.py), without a broker: the publisher's
wait for faust's producer buffer, and the lag timer's warning about the embedded broker."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import NamedTuple

import pytest

from wirewatch.processor.stream.app import WirewatchApp
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
