"""Reading to the end of a partition on the embedded broker, whose ListOffsets is short after batches."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from wirewatch.offsets import log_end_offsets, read_to_end, start_positions

pytestmark = pytest.mark.e2e


async def _batched(bootstrap: str, topic: str, sizes: list[int]) -> None:
    """Produce ``sizes`` records in as many multi-record batches (linger gathers each group)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 2, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=100)
    await producer.start()
    try:
        n = 0
        for size in sizes:
            futures = [await producer.send(topic, b"r%d" % (n + i), partition=0) for i in range(size)]
            for fut in futures:
                await fut
            n += size
    finally:
        await producer.stop()


async def _check(bootstrap: str) -> tuple[dict[int, int], dict[int, int], list[bytes]]:
    topic = "offsets-check"
    await _batched(bootstrap, topic, [7, 1, 5])
    tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    kwargs: dict[str, Any] = {"bootstrap_servers": bootstrap}
    ends = await log_end_offsets(kwargs, tps)
    consumer = AIOKafkaConsumer(**kwargs, enable_auto_commit=False)
    await consumer.start()
    try:
        listed = await consumer.end_offsets(tps)
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen: list[bytes] = []
        assert await read_to_end(consumer, tps, lambda m: seen.append(m.value), timeout=10)
    finally:
        await consumer.stop()
    return ({tp.partition: n for tp, n in ends.items()}, {tp.partition: n for tp, n in listed.items()}, seen)


def test_log_end_and_read_to_end_count_every_record_of_a_batch(fresh_broker: str) -> None:
    ends, listed, seen = asyncio.run(_check(fresh_broker))
    # 13 records in three batches on partition 0, none on partition 1.
    assert ends == {0: 13, 1: 0}, f"ListOffsets said {listed}"
    assert seen == [b"r%d" % i for i in range(13)]


def test_a_group_member_starts_at_the_committed_offset_or_at_the_log_start(fresh_broker: str) -> None:
    async def scenario() -> tuple[dict[Any, int], dict[Any, int]]:
        await _batched(fresh_broker, "starts", [3, 2])
        tp = TopicPartition("starts", 0)
        kwargs = {"bootstrap_servers": fresh_broker}
        before = await start_positions(kwargs, "g-starts", [tp])
        member = AIOKafkaConsumer(bootstrap_servers=fresh_broker, group_id="g-starts", enable_auto_commit=False)
        await member.start()
        try:
            member.assign([tp])
            await member.commit({tp: 4})
        finally:
            await member.stop()
        return before, await start_positions(kwargs, "g-starts", [tp])

    before, after = asyncio.run(scenario())
    assert list(before.values()) == [0]  # nothing committed: the log start
    assert list(after.values()) == [4]
