"""What one fetch costs the broker as a partition fills, against a fresh partition in the same run.

    .venv/bin/python benchmarks/bench_broker.py [--held 10000,40000,80000,160000] [--probes 30]
        [--fetch-wait-ms 100] [--bootstrap HOST:PORT]

wirewatch sends each message on its own when traffic is light, so a partition's stored
batches grow by about one per message. This fills one single-partition topic with
single-record batches (one ``send_and_wait`` each) and, each time it holds the next
``--held`` count, times what the pipeline does to it: a produce, an offset commit, and a
fetch from its last record (what a consumer at the tail does each time a record arrives).
The baseline, timed in the same round, is the same fetch on a partition holding one batch.
Fetches use the processor's long-poll wait (``WIREWATCH_CONSUMER_FETCH_WAIT_MS``); a fetch
with no record after 2 s counts as unanswered.

With no ``--bootstrap`` it starts the embedded broker (Tansu, memory storage) and also
reports the broker's CPU per fetch; with ``--bootstrap`` it measures that cluster (a
Kafka cluster, for comparison; the CPU column is then empty).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import cpu_seconds, pct, status_kb
from wirewatch.broker import EmbeddedBroker
from wirewatch.settings import Settings

RECORD = b"x" * 4500  # about one wire story's JSON
nan = float("nan")


async def timed(n: int, op: Callable[[int], Awaitable[Any]]) -> list[float]:
    """Seconds each of ``n`` calls took; calls that return False are left out."""
    out = []
    for i in range(n):
        t = time.perf_counter()
        if await op(i) is not False:
            out.append(time.perf_counter() - t)
    return out


@contextlib.asynccontextmanager
async def clients(bootstrap: str, wait_ms: int) -> AsyncIterator[tuple[AIOKafkaProducer, AIOKafkaConsumer, str, str]]:
    run = uuid.uuid4().hex[:8]
    big, fresh = f"bench-broker-{run}-held", f"bench-broker-{run}-fresh"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(big, 1, 1), NewTopic(fresh, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"bench-broker-{run}",
                                enable_auto_commit=False, fetch_max_wait_ms=wait_ms)
    await producer.start()
    await consumer.start()
    try:
        yield producer, consumer, big, fresh
    finally:
        await consumer.stop()
        await producer.stop()


async def tail_fetch(consumer: AIOKafkaConsumer, tp: TopicPartition, last: int) -> bool:
    """Fetch the record at ``last``; False if none came within 2 s."""
    # Only the partition timed is fetching: a paused one makes no background fetches
    # that would load the broker between (and during) the timed ones.
    consumer.resume(tp)
    try:
        consumer.seek(tp, last)
        got = await consumer.getmany(tp, timeout_ms=2000, max_records=1)
    finally:
        consumer.pause(tp)
    return bool(got.get(tp))


def fetches(consumer: AIOKafkaConsumer, tp: TopicPartition, last: int) -> Callable[[int], Awaitable[bool]]:
    return lambda _i: tail_fetch(consumer, tp, last)


def commits(consumer: AIOKafkaConsumer, tp: TopicPartition, first: int) -> Callable[[int], Awaitable[None]]:
    return lambda i: consumer.commit({tp: first + i})


async def run(bootstrap: str, broker_pid: int | None, targets: list[int], probes: int,
              wait_ms: int) -> list[dict[str, float]]:
    rows = []
    async with clients(bootstrap, wait_ms) as (producer, consumer, big, fresh):
        held_tp, fresh_tp = TopicPartition(big, 0), TopicPartition(fresh, 0)
        await producer.send_and_wait(fresh, RECORD)
        consumer.assign([held_tp, fresh_tp])
        consumer.pause(held_tp, fresh_tp)
        held = 0
        for target in targets:
            t0 = time.perf_counter()
            while held < target:
                await producer.send_and_wait(big, RECORD)  # one batch per record, as at low traffic
                held += 1
            fill_s = time.perf_counter() - t0
            base = await timed(probes, fetches(consumer, fresh_tp, 0))
            cpu0 = cpu_seconds(broker_pid) if broker_pid else 0.0
            last = held - 1
            fetch = await timed(probes, fetches(consumer, held_tp, last))
            cpu = (cpu_seconds(broker_pid) - cpu0) / probes if broker_pid else nan
            commit = await timed(probes, commits(consumer, held_tp, max(0, last - probes)))
            produce = await timed(probes, lambda _i: producer.send_and_wait(big, RECORD))
            held += probes
            rows.append({
                "batches held": last + 1, "fill s": fill_s, "fetches unanswered": probes - len(fetch),
                # pct is nan for no values: a count whose fetches all went unanswered
                "fetch p50 ms": 1000 * pct(fetch, 50), "fetch p90 ms": 1000 * pct(fetch, 90),
                "fresh fetch p50 ms": 1000 * pct(base, 50), "ratio": pct(fetch, 50) / pct(base, 50),
                "broker CPU ms/fetch": cpu * 1000, "produce p50 ms": 1000 * pct(produce, 50),
                "commit p50 ms": 1000 * pct(commit, 50),
                "broker RSS MB": status_kb(broker_pid, "VmRSS") / 1024 if broker_pid else nan,
            })
            print(" ".join(f"{k}={v:.2f}" for k, v in rows[-1].items()), file=sys.stderr, flush=True)
    return rows


def table(rows: list[dict[str, float]]) -> str:
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(f"{int(r[c]):,}" if c in ("batches held", "fetches unanswered")
                                       else f"{r[c]:.2f}" for c in cols) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--held", default="10000,40000,80000,160000", help="batch counts to time at, ascending")
    ap.add_argument("--probes", type=int, default=30, help="operations timed at each count")
    ap.add_argument("--fetch-wait-ms", type=int, default=Settings.model_fields["consumer_fetch_wait_ms"].default,
                    help="consumer long-poll wait (default: the processor's)")
    ap.add_argument("--bootstrap", help="a Kafka cluster to measure instead of the embedded broker")
    args = ap.parse_args()
    try:
        targets = [int(x) for x in args.held.split(",")]
    except ValueError:
        ap.error(f"--held must be comma-separated integers, got {args.held!r}")
    if not targets or targets != sorted(targets) or targets[0] < 1:
        ap.error(f"--held must be ascending counts of at least 1, got {args.held!r}")
    if args.fetch_wait_ms < 1:
        ap.error(f"--fetch-wait-ms must be at least 1, got {args.fetch_wait_ms}")
    if args.probes < 1:
        ap.error(f"--probes must be at least 1, got {args.probes}")
    if args.bootstrap:
        rows = asyncio.run(run(args.bootstrap, None, targets, args.probes, args.fetch_wait_ms))
        where = f"Kafka at {args.bootstrap}"
    else:
        with EmbeddedBroker() as broker:
            assert broker.proc is not None
            rows = asyncio.run(run(broker.bootstrap, broker.proc.pid, targets, args.probes, args.fetch_wait_ms))
        where = "embedded broker (Tansu, memory storage)"
    print(f"one-partition topic on the {where}; {args.probes} operations timed at each count; "
          f"fetch wait {args.fetch_wait_ms} ms\n")
    print(table(rows))


if __name__ == "__main__":
    main()
