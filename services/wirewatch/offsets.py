"""Log end offsets that hold on every broker we run against.

The embedded broker (Tansu 0.6) answers ListOffsets(latest) with the *base*
offset of the last record batch plus one, not the offset after its last
record: after a 5-record batch at offsets 60..64 it says 61, while a fetch
response's high watermark says 65.  Whoever reads "to the end" by ListOffsets
(faust's changelog recovery, `wirewatch feeds list`) then stops short and
silently misses records.  A fetch's high watermark is right on Tansu and on
Kafka alike, so these helpers take the end from a fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

FETCH_WAIT_MS = 50


async def stop_quietly(consumer: AIOKafkaConsumer) -> None:
    """Stop ``consumer``; aiokafka may raise CancelledError from a task of its own when
    stop follows start closely, which is not a cancellation of ours."""
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise


@contextlib.asynccontextmanager
async def _short_lived_consumer(client_kwargs: Mapping[str, Any],
                                group: str | None = None) -> AsyncIterator[AIOKafkaConsumer]:
    """A started consumer that commits nothing and waits little for a fetch, stopped after use
    (with ``group``, it can read the group's committed offsets; it joins nothing)."""
    consumer = AIOKafkaConsumer(**client_kwargs, group_id=group, enable_auto_commit=False,
                                fetch_max_wait_ms=FETCH_WAIT_MS)
    await consumer.start()
    try:
        yield consumer
    finally:
        await stop_quietly(consumer)


async def _fetched_ends(consumer: AIOKafkaConsumer, tps: list[TopicPartition],
                        timeout: float) -> dict[TopicPartition, int]:
    consumer.assign(tps)
    listed = await consumer.end_offsets(tps)
    # One small fetch from just before the listed end brings each high watermark.
    for tp in tps:
        consumer.seek(tp, max(listed[tp] - 1, 0))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while any(consumer.highwater(tp) is None for tp in tps):
        if loop.time() > deadline:
            raise TimeoutError(f"no fetch response for {sorted(str(tp) for tp in tps)} in {timeout:g}s")
        await consumer.getmany(*tps, timeout_ms=FETCH_WAIT_MS * 2, max_records=1)
    return {tp: max(int(consumer.highwater(tp)), listed[tp]) for tp in tps}


async def log_end_offsets(client_kwargs: Mapping[str, Any], tps: Iterable[Any],
                          timeout: float = 10.0) -> dict[Any, int]:
    """The offset after the last record of each partition, from a short-lived consumer.

    ``tps`` may be any (topic, partition) pairs (faust passes its own TP type);
    the result is keyed by them.
    """
    asked = list(tps)
    if not asked:
        return {}
    as_aiokafka = {TopicPartition(tp.topic, tp.partition): tp for tp in asked}
    async with _short_lived_consumer(client_kwargs) as consumer:
        ends = await _fetched_ends(consumer, list(as_aiokafka), timeout)
    return {as_aiokafka[tp]: end for tp, end in ends.items()}


async def topic_end_offsets(client_kwargs: Mapping[str, Any], topic: str,
                            timeout: float = 10.0) -> dict[TopicPartition, int]:
    """:func:`log_end_offsets` for every partition of ``topic`` ({} if it does not exist)."""
    async with _short_lived_consumer(client_kwargs) as consumer:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        return await _fetched_ends(consumer, tps, timeout) if tps else {}


async def start_positions(client_kwargs: Mapping[str, Any], group: str, tps: Iterable[Any]) -> dict[Any, int]:
    """Where a member of consumer group ``group`` starts reading each of ``tps`` after a
    rebalance: the group's committed offset, or the log start where it has none (the
    processor resets to the earliest offset).  Keyed by the pairs given."""
    asked = list(tps)
    if not asked:
        return {}
    as_aiokafka = {TopicPartition(tp.topic, tp.partition): tp for tp in asked}
    async with _short_lived_consumer(client_kwargs, group) as consumer:
        starts = await consumer.beginning_offsets(list(as_aiokafka))
        positions: dict[Any, int] = {}
        for atp, tp in as_aiokafka.items():
            committed = await consumer.committed(atp)
            # (never before the log start: retention may have removed what was committed)
            positions[tp] = max(committed if committed is not None else 0, starts[atp])
        return positions


async def read_to_end(consumer: AIOKafkaConsumer, tps: Iterable[TopicPartition],
                      on_record: Callable[[ConsumerRecord[Any, Any]], object], timeout: float = 10.0) -> bool:
    """Hand every record of ``tps`` (assigned, positioned) to ``on_record`` up to the log end.

    The end is each fetch response's high watermark, re-read as records come.
    Returns False when ``timeout`` ran out first.
    """
    tps = list(tps)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        batch = await consumer.getmany(*tps, timeout_ms=FETCH_WAIT_MS * 4)
        for records in batch.values():
            for record in records:
                on_record(record)
        done = True
        for tp in tps:
            hw = consumer.highwater(tp)
            if hw is None or await consumer.position(tp) < hw:
                done = False
        if done:
            return True
    return False


async def records_held(client_kwargs: Mapping[str, Any], tp: Any, start: int, end: int,
                       timeout: float = 10.0) -> list[ConsumerRecord[Any, Any]]:
    """The records in ``[start, end)`` of ``tp`` a consumer is handed, in offset order.

    A hole in the offsets a consumer sees is normal on some topics (transaction
    markers, compaction) and a fault on others (records dropped on the way, or made
    visible late: the embedded broker shows a record written by one producer after a
    later one written by another); this asks the broker which it is.
    """
    if end <= start:
        return []
    atp = TopicPartition(tp.topic, tp.partition)
    held: list[ConsumerRecord[Any, Any]] = []
    async with _short_lived_consumer(client_kwargs) as consumer:
        consumer.assign([atp])
        consumer.seek(atp, start)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            batch = await consumer.getmany(atp, timeout_ms=FETCH_WAIT_MS * 4, max_records=end - start)
            held += [r for r in batch.get(atp, []) if start <= r.offset < end]
            position = await consumer.position(atp)
            highwater = consumer.highwater(atp)
            if position >= end or (highwater is not None and position >= highwater):
                return held
        raise TimeoutError(f"no answer for {tp.topic}[{tp.partition}]@{start}..{end - 1} in {timeout:g}s")


async def offsets_held(client_kwargs: Mapping[str, Any], tp: Any, start: int, end: int,
                       timeout: float = 10.0) -> list[int]:
    """The offsets in ``[start, end)`` of ``tp`` that hold records (:func:`records_held`)."""
    return [r.offset for r in await records_held(client_kwargs, tp, start, end, timeout)]
