"""`wirewatch run` on the embedded broker past the depth where it used to stop, in minutes.

    .venv/bin/python benchmarks/bench_lifetime.py [--records 150000] [--renew-records 40000]
        [--fresh-every 400] [--rate 2500] [--json FILE]

The pipeline of `wirewatch run` (the embedded broker, the processor and its NLP workers,
topic generations: wirewatch/renewal.py) with one change: the poller is replaced by an
injector that writes the raw topic one record per batch, as the poller does at real feed
rates (a poll finds one new story), but ~2,500 a second.  Most records are re-sends of
stories injected before, in this generation or an earlier one (dedup's cheapest path);
every ``--fresh-every``-th is a new story of the benchmark corpus, which goes through NLP
and raises alerts.  The injector runs where the poller runs, so a renewal stops and
restarts it exactly as it does the poller.

What it shows, per generation and in all: the raw partition took more one-record batches
than the ~100,000 past which the embedded broker can no longer answer a fetch of it
(bench_broker.py); alerts kept coming in every generation; no re-send of a story from an
earlier generation passed dedup as new (the dedup window was carried over); the broker's
memory went back down at each renewal; how long each renewal paused the pipeline.

``--renew-records 0`` is the control: no renewal.  The run stops once the processor has
made no progress for ``--stall-seconds`` and reports how deep the raw partition was then.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import os
import random
import signal
import sys
import threading
import time
import weakref
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus
from bench_pipeline import run_in, status_kb, tree
from wirewatch import metrics
from wirewatch.broker import EmbeddedBroker
from wirewatch.cli import run_worker
from wirewatch.models import RawStory, utcnow
from wirewatch.offsets import topic_end_offsets
from wirewatch.renewal import generation_settings, run_generations
from wirewatch.settings import Settings
from wirewatch.topics import Topics

PRODUCERS = 8


def value(counter: Any, **labels: str) -> float:
    """A counter's value in this process (the processor runs here)."""
    return float((counter.labels(**labels) if labels else counter)._value.get())


def alerts() -> float:
    return value(metrics.ALERTS, type="new_claim") + value(metrics.ALERTS, type="contradiction")


def fresh_stories(n: int, seed: int) -> list[bytes]:
    """``n`` original stories of the benchmark corpus (a third about conflicts), as raw messages."""
    items = [i for i in corpus.build(max(8, 3 * n), seed, start=utcnow()) if i.kind == "original"][:n]
    now = utcnow()
    return [RawStory(story_id=i.guid, feed_id=f"bench-{i.outlet}", outlet=i.outlet, url=i.link, canonical_url=i.link,
                     guid=i.guid, title=i.title, body="\n\n".join(i.paragraphs), published=now,
                     fetched_at=now).to_json_bytes() for i in items]


class Injector:
    """The stand-in for the poller: one record per batch into the raw topic of the generation."""

    def __init__(self, total: int, fresh: list[bytes], fresh_every: int, rate: float, max_lag: int) -> None:
        self.total, self.fresh, self.fresh_every, self.rate, self.max_lag = total, fresh, fresh_every, rate, max_lag
        self.sent = 0  # records handed to the producer
        self.acked = 0
        self.injected: list[bytes] = []  # the fresh stories so far (re-sent later)
        self.per_generation: dict[str, dict[str, float]] = {}
        self.r = random.Random(7)
        self.redo: list[bytes] = []  # records whose send failed: sent again, as a poller re-polls

    def done(self) -> bool:
        return self.acked >= self.total

    def record(self) -> bytes:
        if self.redo:
            return self.redo.pop()
        if self.sent % self.fresh_every == 0 and len(self.injected) < len(self.fresh):
            self.injected.append(self.fresh[len(self.injected)])
            return self.injected[-1]
        return self.r.choice(self.injected)

    async def __call__(self, settings: Settings, bootstrap: str) -> None:
        topic = Topics(settings.topic_prefix, settings.topic_partitions).raw.name
        gen = self.per_generation.setdefault(settings.topic_prefix, {"first": time.time(), "records": 0})
        # A batch smaller than any record: each record is its own batch, as at real feed rates.
        # A producer has one such batch of a partition in flight at a time, so several take turns.
        producers = [AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0, max_batch_size=64)
                     for _ in range(PRODUCERS)]
        await asyncio.gather(*(p.start() for p in producers))

        def settled(payload: bytes, fut: asyncio.Future[Any]) -> None:
            if not fut.cancelled() and fut.exception() is None:
                self.acked += 1
                gen["records"] += 1
                gen["last"] = time.time()
            else:  # not written: it counts as unsent, and goes again
                self.sent -= 1
                self.redo.append(payload)

        try:
            t0, sent0 = time.monotonic(), self.sent
            pending: list[asyncio.Future[Any]] = []
            while True:  # all sent: idle, as a poller between polls, unless a send failed
                await asyncio.sleep(0.5)
                while self.sent < self.total:
                    ahead = (self.sent - sent0) / self.rate - (time.monotonic() - t0)
                    if ahead > 0 or self.sent - value(metrics.DEDUP_IN) > self.max_lag:
                        await asyncio.sleep(max(ahead, 0.05))
                        continue
                    payload = self.record()
                    try:
                        fut = await producers[self.sent % PRODUCERS].send(topic, payload, key=b"bench")
                    except BaseException:
                        self.redo.append(payload)
                        raise
                    fut.add_done_callback(functools.partial(settled, payload))
                    pending.append(fut)
                    self.sent += 1
                    if len(pending) >= 500:
                        # asyncio.wait, not gather: a renewal's cancellation must not cancel the
                        # deliveries (gather would, and their records would count as never sent)
                        await asyncio.wait(pending)
                        pending = []
                if pending:
                    await asyncio.wait(pending)
                    pending = []
        finally:  # (a renewal cancels us: what was sent is delivered first)
            await asyncio.gather(*(p.stop() for p in producers), return_exceptions=True)


class Notice:
    """Stands in for the broker file: which topics the run uses, since when."""

    def __init__(self) -> None:
        self.topics: list[tuple[float, str]] = []
        self.status = ""

    def announce(self, topics: str | None = None, status: str | None = None) -> None:
        if topics and (not self.topics or self.topics[-1][1] != topics):
            self.topics.append((time.time(), topics))
        if status:
            self.status = status


async def topics_on(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sorted(await admin.list_topics())
    finally:
        await admin.close()


async def raw_positions(bootstrap: str, settings: Settings) -> dict[str, list[int]]:
    """Per raw partition of a generation: the broker's end offset and the processor's committed
    offset (what a stall report needs to say whether a record is unread or unacknowledged)."""
    topic = Topics(settings.topic_prefix, settings.topic_partitions).raw.name
    ends = await topic_end_offsets({"bootstrap_servers": bootstrap}, topic)  # (Tansu's ListOffsets runs short)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=settings.app_id, enable_auto_commit=False)
    await consumer.start()
    try:
        out: dict[str, list[int]] = {}
        for tp, end in ends.items():
            committed = await consumer.committed(tp)
            out[f"{tp.topic}[{tp.partition}]"] = [end, -1 if committed is None else committed]
        return out
    finally:
        await consumer.stop()


def sample(broker_pid: int) -> dict[str, float]:
    def mb(pids: list[int]) -> float:
        return sum(status_kb(p, "VmRSS") for p in pids) / 1024

    mine = tree(os.getpid())
    return {"t": time.time(), "broker_mb": mb(tree(broker_pid)), "processor_mb": mb(mine[:1]),
            "nlp_mb": mb(mine[1:]), "dedup": value(metrics.DEDUP_IN), "unique": value(metrics.DEDUP_UNIQUE),
            "updates": value(metrics.DEDUP_DUPLICATES, kind="update"), "alerts": alerts()}


class Stopper:
    """Stops the run from the sampling thread: the worker of the moment is stopped the way a
    renewal stops it (with no carry, so no next generation), or by SIGINT without renewals."""

    def __init__(self) -> None:
        self.wanted = threading.Event()
        self.current: tuple[asyncio.AbstractEventLoop, Any] | None = None

    def worker(self, wapp: Any, gs: Settings) -> None:
        if self.wanted.is_set():
            return  # between two generations: no next one
        self.current = (asyncio.get_event_loop(), wapp)
        try:
            run_worker(wapp, gs)
        finally:
            self.current = None

    def stop(self) -> None:
        self.wanted.set()
        while self.current is not None:
            loop, wapp = self.current
            if wapp.renewal is None:
                os.kill(os.getpid(), signal.SIGINT)
                return
            with contextlib.suppress(RuntimeError):  # (its loop closed just now)
                loop.call_soon_threadsafe(wapp.renewal.stop_worker)
            time.sleep(1.0)


def watch(inj: Injector, broker_pid: int, out: list[dict[str, float]], stall_seconds: float,
          stop: threading.Event, verdict: dict[str, Any], stopper: Stopper) -> None:
    """Sample once a second; stop the run once everything injected was handled and the
    pipeline is quiet, or once nothing moved for ``stall_seconds``."""
    moved = time.monotonic()
    last: tuple[float, int] = (-1.0, -1)
    quiet = 0
    while not stop.wait(1.0):
        s = sample(broker_pid)
        out.append(s)
        if len(out) % 15 == 0:
            print(f"[{time.strftime('%H:%M:%S')}] injected {inj.acked:,}, dedup {s['dedup']:,.0f}, alerts "
                  f"{s['alerts']:,.0f}, broker {s['broker_mb']:,.0f} MB", file=sys.stderr, flush=True)
        if (s["dedup"], inj.acked) != last:
            last, moved = (s["dedup"], inj.acked), time.monotonic()
        done = inj.done() and s["dedup"] >= inj.acked
        quiet = quiet + 1 if done and len(out) > 1 and out[-2]["alerts"] == s["alerts"] else 0
        if quiet >= 10:  # ten seconds with nothing left to dedup and no new alert
            verdict["ended"] = "done"
            break
        if not done and time.monotonic() - moved > stall_seconds:
            verdict["ended"] = (f"stalled: neither injection nor dedup moved for {stall_seconds:.0f}s "
                                f"(injected {inj.acked:,} of {inj.total:,}, dedup {s['dedup']:,.0f})")
            break
    if not stop.is_set():
        stopper.stop()


def run(a: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    settings = Settings(data_dir=workdir / "data", metrics_port=0, log_level="WARNING",
                        embedded_renew_records=a.renew_records, embedded_renew_check_seconds=a.check_seconds)
    fresh = fresh_stories(a.records // a.fresh_every + 1, a.seed)
    inj = Injector(a.records, fresh, a.fresh_every, a.rate, a.max_lag)
    notice = Notice()
    samples: list[dict[str, float]] = []
    verdict: dict[str, Any] = {}
    apps: list[weakref.ref[Any]] = []
    renewals: list[dict[str, float | None]] = []
    stop = threading.Event()
    stopper = Stopper()
    load0 = os.getloadavg()[0]
    notice.announce(topics=settings.topic_prefix)

    def worker(wapp: Any, gs: Settings) -> None:
        apps.append(weakref.ref(wapp.app))
        stopper.worker(wapp, gs)
        if wapp.renewal is not None and wapp.renewal.carry is not None:
            renewals.append({"began": wapp.renewal.began_at, "drained": wapp.renewal.drained_at,
                             "stopped": time.time()})

    def poll(gs: Settings, bootstrap: str) -> Coroutine[Any, Any, None]:
        return inj(gs, bootstrap)

    with EmbeddedBroker() as broker:
        assert broker.proc is not None
        watcher = threading.Thread(target=watch, daemon=True,
                                   args=(inj, broker.proc.pid, samples, a.stall_seconds, stop, verdict, stopper))
        watcher.start()
        t0 = time.time()
        try:
            run_generations(settings, broker.bootstrap, [], run_worker=worker, notice=notice, poll=poll)
        finally:
            stop.set()
        wall = time.time() - t0
        gc.collect()
        end = sample(broker.proc.pid)
        left = asyncio.run(topics_on(broker.bootstrap))
        positions: dict[str, list[int]] = {}
        if verdict.get("ended", "").startswith("stalled"):
            last = generation_settings(settings, len(notice.topics) - 1)
            positions = asyncio.run(raw_positions(broker.bootstrap, last))
            verdict["ended"] += f" (raw partitions: end offset, committed offset: {positions})"

    return {"settings": {"records": a.records, "renew_records": a.renew_records, "fresh_every": a.fresh_every,
                         "rate": a.rate}, "wall": wall, "ended": verdict.get("ended", "interrupted"),
            "load": [load0, os.getloadavg()[0]], "sent": inj.sent, "acked": inj.acked,
            "fresh": len(inj.injected), "generations": inj.per_generation, "topics": notice.topics,
            "samples": samples, "end": end, "apps_alive": sum(r() is not None for r in apps[:-1]),
            "topics_at_end": left, "renewals": renewals}


def summary(r: dict[str, Any]) -> str:
    s = r["samples"]
    gens = list(r["generations"].items())
    starts = [t for t, _ in r["topics"]] + [float("inf")]
    lines = [f"injected {r['acked']:,} one-record batches into the raw topic ({r['fresh']} fresh stories, the rest "
             f"re-sends) in {r['wall']:.0f}s; ended: {r['ended']}; load average {r['load'][0]:.1f} at start, "
             f"{r['load'][1]:.1f} at end",
             "generation   | raw batches | broker RSS MB (least -> most) | alerts | unique+updates | the renewal "
             "before it: drain + restart",
             "-------------|-------------|-------------------------------|--------|----------------|-----------"
             "-----------------------"]
    renewals = r.get("renewals") or []
    for i, (prefix, g) in enumerate(gens):
        t_start, t_end = starts[i], starts[i + 1]
        inside = [x for x in s if t_start <= x["t"] < t_end] or s[-1:]
        before = [x for x in s if x["t"] < t_start] or s[:1]
        after = [x for x in s if x["t"] >= t_end] or [r["end"]]
        pause = "-"
        if 0 < i <= len(renewals) and renewals[i - 1]["began"] and renewals[i - 1]["drained"]:
            ren = renewals[i - 1]
            pause = f"{ren['drained'] - ren['began']:.1f}s + {g['first'] - ren['drained']:.1f}s"
        new = after[0]["unique"] + after[0]["updates"] - before[-1]["unique"] - before[-1]["updates"]
        lines.append(f"{prefix:12} | {int(g['records']):>11,} | "
                     f"{min(x['broker_mb'] for x in inside):>13.0f} -> {max(x['broker_mb'] for x in inside):>5.0f} | "
                     f"{after[0]['alerts'] - before[-1]['alerts']:>6.0f} | {new:>14.0f} | {pause}")
    end = r["end"]
    lines.append(f"in all: dedup handled {end['dedup']:,.0f}, {end['unique'] + end['updates']:.0f} passed as new "
                 f"(fresh stories injected: {r['fresh']}), {end['alerts']:.0f} alerts; broker RSS at the end "
                 f"{end['broker_mb']:.0f} MB, peak {max(x['broker_mb'] for x in s):.0f} MB; processor "
                 f"{end['processor_mb']:.0f} MB (peak {max(x['processor_mb'] for x in s):.0f}), its NLP workers "
                 f"{end['nlp_mb']:.0f} MB; faust apps of earlier generations still alive: {r['apps_alive']}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=150_000, help="one-record batches to inject in all")
    ap.add_argument("--renew-records", type=int, default=Settings.model_fields["embedded_renew_records"].default,
                    help="WIREWATCH_EMBEDDED_RENEW_RECORDS (0 = no renewal: the control run)")
    ap.add_argument("--check-seconds", type=float, default=5.0, help="WIREWATCH_EMBEDDED_RENEW_CHECK_SECONDS")
    ap.add_argument("--fresh-every", type=int, default=400, help="one fresh story every this many records")
    ap.add_argument("--rate", type=float, default=2500.0, help="records a second at most")
    ap.add_argument("--max-lag", type=int, default=20_000, help="records injected ahead of dedup at most")
    ap.add_argument("--stall-seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--workdir", type=Path)
    print(summary(run_in(ap.parse_args(), run, "wirewatch-lifetime-")))


if __name__ == "__main__":
    main()
