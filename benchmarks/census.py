"""How many record batches, records and bytes a broker holds, per topic and partition.

    .venv/bin/python benchmarks/census.py HOST:PORT [--prefix wirewatch]

The embedded broker's fetch cost grows with the *batches* a partition holds (it lists
every one), so this counts batches, not records: it reads each partition from offset 0
with plain Fetch requests and walks the record-batch headers.  Used by
``bench_pipeline.py`` (batches per incoming story) and ``bench_lifetime.py``; it reads
every byte the broker holds, so it is for benchmarks and tests, not for a service.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.structs import TopicPartition

# A fetch has to list a deep partition's batches before it answers (~1 us a batch on
# Tansu): a long wait, and much data per request, so the census itself is not refused.
FETCH_WAIT_MS = 10_000
FETCH_BYTES = 64 << 20


@dataclass
class Held:
    """What one partition holds."""

    batches: int = 0
    records: int = 0
    bytes: int = 0

    def add(self, other: Held) -> None:
        self.batches += other.batches
        self.records += other.records
        self.bytes += other.bytes


async def census(bootstrap: str, topics: Iterable[str] | None = None) -> dict[tuple[str, int], Held]:
    """(topic, partition) -> what it holds, for ``topics`` (default: every topic)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=120_000, enable_auto_commit=False)
    await consumer.start()
    try:
        client: AIOKafkaClient = consumer._client
        await client.force_metadata_update()
        names = sorted(client.cluster.topics()) if topics is None else list(topics)
        tps = [TopicPartition(t, p) for t in names for p in sorted(client.cluster.partitions_for_topic(t) or ())]
        # A fetch from an empty partition waits its whole wait: ListOffsets first (on Tansu it
        # is short of the end after a multi-record batch, but 0 only for an empty partition).
        listed = await consumer.end_offsets(tps) if tps else {}
        return {(tp.topic, tp.partition): await _partition(client, tp.topic, tp.partition) if listed[tp] else Held()
                for tp in tps}
    finally:
        await consumer.stop()


async def _partition(client: AIOKafkaClient, topic: str, partition: int) -> Held:
    node = client.cluster.leader_for_partition(TopicPartition(topic, partition))
    held = Held()
    offset = 0
    while True:
        request = FetchRequest(FETCH_WAIT_MS, 1, FETCH_BYTES, 0, [(topic, [(partition, offset, FETCH_BYTES)])])
        response = await client.send(node, request)
        (_, parts), = response.topics
        (part,) = parts  # (partition, error, high watermark, ..., records): the middle differs by version
        error, highwater, data = part[1], part[2], part[-1] or b""
        if error:
            raise RuntimeError(f"{topic}[{partition}]: fetch error {error}")
        if offset >= highwater:
            return held
        records = MemoryRecords(bytes(data))
        moved = False
        while (batch := records.next_batch()) is not None:
            nxt = batch.next_offset
            if nxt <= offset:  # a batch that ends before the offset asked for: counted already
                continue
            held.batches += 1
            held.records += sum(1 for _ in batch)
            offset, moved = nxt, True
        held.bytes += len(data)
        if offset >= highwater:  # (asking again would wait the whole wait for a record)
            return held
        if not moved:
            raise RuntimeError(f"{topic}[{partition}]: no batch returned at offset {offset} (high watermark "
                               f"{highwater}) within {FETCH_WAIT_MS} ms")


def by_topic(held: Mapping[tuple[str, int], Held]) -> dict[str, Held]:
    """Partitions summed per topic."""
    out: dict[str, Held] = {}
    for (topic, _), h in held.items():
        out.setdefault(topic, Held()).add(h)
    return out


def deepest(held: Mapping[tuple[str, int], Held]) -> tuple[tuple[str, int], Held]:
    """The partition holding the most batches."""
    return max(held.items(), key=lambda kv: kv[1].batches)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bootstrap")
    ap.add_argument("--prefix", default="", help="only topics whose name starts with this")
    a = ap.parse_args()
    held = asyncio.run(census(a.bootstrap))
    held = {k: v for k, v in held.items() if k[0].startswith(a.prefix)}
    print(f"{'topic':60} {'partition':>9} {'batches':>9} {'records':>9} {'MB':>8}")
    for (topic, p), h in sorted(held.items()):
        print(f"{topic:60} {p:>9} {h.batches:>9,} {h.records:>9,} {h.bytes / 1e6:>8.1f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
