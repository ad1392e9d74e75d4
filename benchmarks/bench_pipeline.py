"""The whole pipeline on a reproducible corpus, against plain spaCy in the same run.

    .venv/bin/python benchmarks/bench_pipeline.py [--stories 600] [--workers 1|2]
        [--window 0|10000|100000] [--latency-seconds 40] [--profile DIR]

Feeds written by ``corpus.py`` are served on 127.0.0.1; a real ``wirewatch poller``
and one or two ``wirewatch processor`` processes run against an embedded Tansu broker.
Phases, one after the other so each figure is a saturation figure:

1. poller: every feed is pushed to the feeds topic at once; time until the raw topic
   holds every item (poller items/s).
2. processor backlog: the processor(s) start on the full raw topic; time from its first
   dedup to its last ledger message (raw, unique and update stories/s; NLP is the cost).
3. duplicate burst: copies of phase 1's stories (a third re-sent as is, a third under a
   new URL, a third under a new URL with a new footer) written while the processor is
   stopped (SIGSTOP), in 1 MiB produce batches: duplicate stories/s from the moment it goes
   on (SIGCONT) to its last dedup, and its CPU per duplicate.
4. latency at half of saturation: new feeds are pushed to the feeds topic once a second
   (a new feed is polled at once, so no poll interval is waiting in the figure), carrying
   fresh stories at half of phase 2's rate; each story's first alert's ``raised_at`` minus
   the moment its feed was pushed.

Baseline (same run, same corpus, same number of processes): the full ``en_core_web_sm``
pipeline (every component) over the whole body of every item, duplicates included,
with ``nlp.pipe(batch_size=32, n_process=workers)`` in a separate process; its latency is
the per-story service time of ``nlp(body)``, which is a floor for any pipeline built on it.

``--window N`` adds an in-process dedup row: a Deduplicator pre-filled with N synthetic
stories, then every corpus item checked against it (the NLP cost does not depend on it).
CPU is utime+stime from /proc/<pid>/stat over the phase, summed over the process and its
children; peak RSS is VmHWM from /proc/<pid>/status (summed over the process tree).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus
from census import by_topic, census
from wirewatch import limits
from wirewatch.admin import create_topics
from wirewatch.broker import EmbeddedBroker, free_port
from wirewatch.demo import DemoFeedServer
from wirewatch.models import FeedRecord, RawStory, utcnow
from wirewatch.offsets import read_to_end, topic_end_offsets
from wirewatch.poller.kafka import publish_feeds
from wirewatch.settings import Settings
from wirewatch.topics import Topics

WIREWATCH = Path(sys.executable).parent / "wirewatch"
TICK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------ /proc accounting
def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(pid: int) -> list[int]:
    kids, out, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, ()))
    return out


def cpu_seconds(pid: int) -> float:
    """utime+stime of the process and its reaped children."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in f[11:15]) / TICK


def status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Watch:
    """CPU and peak memory of a process tree, sampled so short-lived children count too."""

    def __init__(self, name: str, pid: int) -> None:
        self.name, self.pid = name, pid
        self.cpu: dict[int, float] = {}
        self.hwm: dict[int, int] = {}

    def sample(self) -> None:
        for p in tree(self.pid):
            c = cpu_seconds(p)
            if c:
                self.cpu[p] = max(self.cpu.get(p, 0.0), c)
            self.hwm[p] = max(self.hwm.get(p, 0), status_kb(p, "VmHWM"))

    def total_cpu(self) -> float:
        # A reaped child's time is already in its parent's cutime/cstime once the parent
        # waited for it; the overlap is small (parse workers live as long as the poller).
        return sum(self.cpu.values())

    def peak_mb(self) -> float:
        return sum(self.hwm.values()) / 1024


class Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.watches: list[Watch] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.wait(0.5):
            for w in list(self.watches):
                w.sample()


# ------------------------------------------------------------------ services
STARTED: list[Service] = []


class Service:
    """One ``wirewatch <command>`` process with its own metrics port and log."""

    def __init__(self, command: str, env: dict[str, str], workdir: Path, name: str) -> None:
        STARTED.append(self)
        self.name = name
        self.port = free_port()
        e = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
        e.update(env)
        e["WIREWATCH_DATA_DIR"] = str(workdir / f"{name}-data")
        e["WIREWATCH_METRICS_PORT"] = str(self.port)
        self.log_path = workdir / f"{name}.log"
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen([str(WIREWATCH), command], env=e, cwd=workdir, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def metrics(self, *names: str) -> dict[str, float]:
        """name{labels} -> value (of ``names`` only, if given); an unreachable /metrics (still
        starting) reads as empty.

        Named, the page holds those series alone (prometheus_client's ``name[]``): the whole
        page costs the processor ~6 ms to render, and polled at 10 Hz that was ~10 % of its
        CPU in the duplicate burst, the benchmark's cost rather than the pipeline's.
        """
        query = "?" + urllib.parse.urlencode([("name[]", n) for n in names]) if names else ""
        try:
            body = urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics{query}", timeout=5).read().decode()
        except OSError:
            return {}
        out: dict[str, float] = {}
        for line in body.splitlines():
            if line and not line.startswith("#"):
                head, _, value = line.rpartition(" ")
                out[head] = float(value)
        return out

    def stop(self) -> None:
        if self._log.closed:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{self.name} exited with status {self.proc.returncode}:\n{tail}")


def metric(services: Iterable[Service], name: str, **labels: str) -> float:
    total = 0.0
    for s in services:
        for head, value in s.metrics(name).items():
            if (head == name or head.startswith(name + "{")) and all(
                    f'{k}="{v}"' in head for k, v in labels.items()):
                total += value
    return total


def memory_row(t: float, poller: Service, broker_pid: int, procs: list[Service]) -> dict[str, float]:
    """VmRSS in MB of each process (a processor's NLP workers together), and the processors'
    dedup window and ledger sizes, at ``t`` seconds into the latency phase."""
    def mb(pids: Iterable[int]) -> float:
        return sum(status_kb(p, "VmRSS") for p in pids) / 1024

    row = {"t": t, "poller": mb(tree(poller.proc.pid)), "broker": mb(tree(broker_pid)),
           "broker CPU s": sum(cpu_seconds(p) for p in tree(broker_pid))}
    for i, pr in enumerate(procs):
        pids = tree(pr.proc.pid)
        row[f"processor{i}"] = mb(pids[:1])
        row[f"processor{i} NLP"] = mb(pids[1:])
        row[f"processor{i} CPU s"] = cpu_seconds(pids[0]) if pids else 0.0  # the faust process alone
    row["dedup window"] = metric(procs, "wirewatch_dedup_window_stories")
    row["ledger claims"] = metric(procs, "wirewatch_ledger_claims")
    # a stage that falls behind shows as lag on its input topic
    lags = [(head, v) for s in procs for head, v in s.metrics().items()
            if head.startswith("wirewatch_consumer_lag_messages{")]
    for stage, topic in (("dedup", "raw"), ("extract", "unique"), ("ledger", "claims")):
        row[f"{stage} lag"] = sum(v for head, v in lags if head.rstrip('"}').endswith(f".{topic}"))
    # window sweeps hold the event loop: how long in all, and how many steps held it over 0.1 s
    sweeps = "wirewatch_window_sweep_duration_seconds"
    row["sweep s"] = metric(procs, sweeps + "_sum")
    row["sweeps >0.1s"] = metric(procs, sweeps + "_count") - metric(procs, sweeps + "_bucket", le="0.1")
    return row


def memory_table(rows: list[dict[str, float]]) -> str:
    cols = list(rows[0])
    lines = ["memory over the latency phase (VmRSS MB; state sizes as counts)",
             " | ".join(f"{c:>14}" for c in cols)]
    lines += [" | ".join(f"{r.get(c, 0):>14.0f}" for c in cols) for r in rows]
    return "\n".join(lines)


def wait_for(pred: Callable[[], bool], timeout: float, what: str, alive: Iterable[Service] = (),
             step: float = 0.1) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return time.monotonic()
        for s in alive:
            s.check_alive()
        time.sleep(step)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")


# ------------------------------------------------------------------ kafka helpers
async def _end_offsets(bootstrap: str, topic: str) -> int:
    # ListOffsets is short on the embedded broker after multi-record batches (wirewatch.offsets).
    return sum((await topic_end_offsets({"bootstrap_servers": bootstrap}, topic)).values())


def count(bootstrap: str, topic: str) -> int:
    return asyncio.run(_end_offsets(bootstrap, topic))


async def _read_all(bootstrap: str, topic: str) -> list[tuple[float, bytes]]:
    """(broker timestamp in seconds, value) of every message on ``topic``."""
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest",
                         fetch_max_wait_ms=50, max_partition_fetch_bytes=16 << 20)
    await c.start()
    out: list[tuple[float, bytes]] = []
    try:
        tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or ())]
        c.assign(tps)
        await c.seek_to_beginning(*tps)

        def keep(m: Any) -> None:
            if m.value is not None:  # a tombstone carries no message
                out.append((m.timestamp / 1000, m.value))

        await read_to_end(c, tps, keep, timeout=600)
    finally:
        await c.stop()
    return out


def read_all(bootstrap: str, topic: str) -> list[tuple[float, bytes]]:
    return asyncio.run(_read_all(bootstrap, topic))


def held(bootstrap: str, prefix: str) -> dict[str, dict[str, float]]:
    """What the broker holds of this run's topics (the changelogs too), by topic name less
    the prefix: batches, records and bytes, and the deepest partition's batches."""
    parts = {tp: h for tp, h in asyncio.run(census(bootstrap)).items() if tp[0].startswith(prefix)}
    out: dict[str, dict[str, float]] = {}
    for topic, h in by_topic(parts).items():
        deepest = max(x.batches for (t, _), x in parts.items() if t == topic)
        out[topic[len(prefix):].lstrip(".-")] = {"batches": h.batches, "records": h.records, "bytes": h.bytes,
                                                 "deepest": deepest}
    return out


def grown(before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """``after`` less ``before``, per topic and figure (the deepest partition's: its own growth)."""
    zero = {"batches": 0.0, "records": 0.0, "bytes": 0.0, "deepest": 0.0}
    return {t: {k: v - before.get(t, zero)[k] for k, v in h.items()} for t, h in after.items()}


def stage_latencies(bootstrap: str, topics: Topics, pushed: dict[str, float],
                    first_alert: dict[str, float]) -> tuple[dict[str, list[float]], list[list[float]]]:
    """Where push->alert goes, per story with an alert, from the broker timestamps of each
    hop: p50/p95/p99 of poll (push -> raw), dedup (raw -> unique), extract (unique -> its
    first claim) and ledger (first claim -> first alert); and per story, in push order,
    [push time, poll, dedup, extract, ledger] (for a long run: when the tail happened)."""
    first: dict[str, dict[str, float]] = {"raw": {}, "unique": {}, "claim": {}}
    for name, topic, url_of in (
        ("raw", topics.raw.name, lambda d: d["url"]),
        ("unique", topics.unique.name, lambda d: d["story"]["url"]),
        ("claim", topics.claims.name, lambda d: d["story_url"]),
    ):
        for ts, v in read_all(bootstrap, topic):
            url = url_of(orjson.loads(v))
            if url in pushed:
                first[name][url] = min(first[name].get(url, ts), ts)
    hops: dict[str, list[float]] = {"poll": [], "dedup": [], "extract": [], "ledger": []}
    rows: list[list[float]] = []
    for url, alert in first_alert.items():
        raw, unique, claim = (first[n].get(url) for n in ("raw", "unique", "claim"))
        if raw is None or unique is None or claim is None:
            continue
        row = [raw - pushed[url], unique - raw, claim - unique, alert - claim]
        for name, x in zip(hops, row, strict=True):
            hops[name].append(x)
        rows.append([pushed[url], *row])
    rows.sort()
    return {k: [pct(v, 50), pct(v, 95), pct(v, 99)] for k, v in hops.items() if v}, rows


async def _produce(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]], *,
                   batch_bytes: int = 16384) -> None:
    """Send ``messages`` as fast as the producer can; ``batch_bytes`` is its batch size (aiokafka's
    16 KB default holds a few stories; the duplicate burst uses 1 MiB so that the producer is
    not what bounds the processor's duplicates/s)."""
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_request_size=8 << 20,
                         max_batch_size=batch_bytes)
    await p.start()
    try:
        futures = [await p.send(topic, v, key=k) for k, v in messages]
        await asyncio.gather(*futures)
    finally:
        await p.stop()


def profile(directory: Path | None, pid: int, name: str) -> subprocess.Popen[bytes] | None:
    """py-spy on ``pid`` and its children into ``directory/name`` until SIGINT (None: no profile)."""
    if directory is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--rate", "200", "--format",
         "raw", "--subprocesses", "-o", str(directory / name), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def duplicates_of(stories: list[RawStory], n: int, seed: int) -> list[tuple[bytes, bytes]]:
    """``n`` copies: re-sent as is, under a new URL, and under a new URL with a new footer."""
    r = random.Random(seed)
    out = []
    for i in range(n):
        s = r.choice(stories)
        kind = i % 3
        if kind:
            s = s.model_copy(update={"story_id": f"dup-{i}", "guid": f"dup-{i}", "url": f"{s.url}?dup={i}",
                                     "canonical_url": f"{s.canonical_url}/dup-{i}"})
        if kind == 2:
            s.body = s.body + "\n\n" + r.choice(corpus.FOOTERS)
        out.append((s.feed_id.encode(), s.to_json_bytes()))
    return out


# ------------------------------------------------------------------ batches per story
PHASES = ("1 poller", "2 backlog", "3 duplicates", "4 latency")
# Written by the benchmark itself, not by the pipeline for a story: the feed records it
# pushes (phases 1 and 4), faust's group-leader topic.
NOT_PER_STORY = ("feeds", "__assignor-__leader")


def batches_per_story(stock: list[dict[str, Any]]) -> dict[str, Any]:
    """From what the broker held after each phase: per phase and topic, batches and records
    written per incoming story, the deepest partition's growth, the broker's memory."""
    out: dict[str, Any] = {}
    for name, before, after in zip(PHASES, stock, stock[1:], strict=False):
        n = max(1, after["stories"])
        grew = grown(before["held"], after["held"])
        per_story = {t: {"batches": g["batches"] / n, "records": g["records"] / n, "bytes": g["bytes"] / n,
                         "deepest": g["deepest"] / n} for t, g in grew.items()}
        story_topics = [t for t in per_story if not t.endswith(NOT_PER_STORY)]
        out[name] = {
            "stories": after["stories"], "topics": per_story,
            "batches": sum(per_story[t]["batches"] for t in story_topics),
            "records": sum(per_story[t]["records"] for t in story_topics),
            "deepest": max((per_story[t]["deepest"] for t in story_topics), default=0.0),
            "broker_mb": after["broker_mb"],
            "broker_mb_per_1000": 1000 * (after["broker_mb"] - before["broker_mb"]) / n,
            "seconds": after.get("seconds"),
        }
    return out


def batches_table(b: dict[str, Any]) -> str:
    """Per topic: batches per incoming story in each phase (records per batch in brackets)."""
    phases = list(b)
    topics = sorted({t for ph in b.values() for t in ph["topics"]})
    head = ["batches per incoming story", *phases]

    def cell(x: dict[str, float] | None) -> str:
        return "-" if not x or not x["batches"] else f"{x['batches']:.3f} ({x['records'] / x['batches']:.1f})"

    rows = [[t + (" (the benchmark's own)" if t.endswith(NOT_PER_STORY) else ""),
             *(cell(b[ph]["topics"].get(t)) for ph in phases)] for t in topics]
    rows.append(["all the pipeline's topics", *(cell(b[ph]) for ph in phases)])
    rows.append(["deepest partition", *(f"{b[ph]['deepest']:.3f}" for ph in phases)])
    rows.append(["broker MB per 1,000 stories", *(f"{b[ph]['broker_mb_per_1000']:.0f}" for ph in phases)])
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    lines = [" | ".join(str(c).ljust(widths[i]) for i, c in enumerate(r)) for r in [head, *rows]]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    last = b[phases[-1]]
    if last.get("seconds"):
        per_h = 3600 / last["seconds"]
        lines.append(f"broker growth in phase 4 ({last['stories'] / last['seconds']:.2f} stories/s): "
                     f"{last['batches'] * last['stories'] * per_h:,.0f} batches/h (deepest partition "
                     f"{last['deepest'] * last['stories'] * per_h:,.0f}/h), "
                     f"{last['broker_mb_per_1000'] * last['stories'] / 1000 * per_h:,.0f} MB/h; "
                     f"broker RSS {last['broker_mb']:.0f} MB at the end")
    return "\n".join(["(records per batch in brackets; the changelogs are faust's tables)", *lines])


# ------------------------------------------------------------------ baseline
def baseline_worker(path: Path, workers: int, sample: int) -> None:
    """Run in a child process: plain full spaCy over every body; print one JSON line."""
    from wirewatch.processor.extract.nlp import load_model

    bodies = [json.loads(line) for line in path.read_text().splitlines()]
    nlp = load_model()
    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    for _doc in nlp.pipe(bodies, batch_size=32, n_process=workers):
        n += 1
    wall = time.perf_counter() - t0
    service = []
    for body in bodies[:sample]:
        s0 = time.perf_counter()
        nlp(body)
        service.append(time.perf_counter() - s0)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "stories": n, "words": sum(len(b.split()) for b in bodies), "seconds": wall,
        "components": nlp.pipe_names,
        "cpu": time.process_time() - c0 + ch.ru_utime + ch.ru_stime,
        "rss_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + ch.ru_maxrss * (workers > 1)) / 1024,
        "service": service,
    }))


def run_baseline(bodies: list[str], workdir: Path, workers: int, sample: int) -> dict[str, Any]:
    path = workdir / "baseline.jsonl"
    path.write_text("\n".join(json.dumps(b) for b in bodies))
    out = subprocess.run([sys.executable, __file__, "--baseline-of", str(path), "--workers", str(workers),
                          "--sample", str(sample)], capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# ------------------------------------------------------------------ window (in-process dedup)
def window_row(size: int, stories: list[RawStory], seed: int) -> dict[str, float]:
    from wirewatch.processor.dedup import Deduplicator

    r = random.Random(seed)
    vocab = sorted({w.lower().strip(".,") for s in stories[:50] for w in s.body.split()})
    vocab += [f"w{i}" for i in range(20000)]  # rarer words, so synthetic stories differ like real ones
    d = Deduplicator(window_seconds=10 * 365 * 86400)
    t_fill = time.perf_counter()
    base = stories[0]
    for i in range(size):
        paras = ["The " + " ".join(r.choices(vocab, k=60)) + "." for _ in range(8)]
        url = f"https://w.example/{i}"
        d.check(base.model_copy(update={"story_id": f"w{i}", "guid": f"w{i}", "url": url,
                                        "canonical_url": url, "body": "\n\n".join(paras)}))
    fill = time.perf_counter() - t_fill
    rss_filled = status_kb(os.getpid(), "VmRSS") / 1024
    t0 = time.perf_counter()
    dup = 0
    for s in stories:
        dup += d.check(s).status == "duplicate"
    wall = time.perf_counter() - t0
    return {"window": size, "fill_s": fill, "stories": len(stories), "duplicates": dup, "seconds": wall,
            "rss_mb": rss_filled}


# ------------------------------------------------------------------ the run
def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s) + 0.5) - 1))]


def settings_for(env: dict[str, str]) -> Settings:
    return Settings(**{k[len("WIREWATCH_"):].lower(): v for k, v in env.items()})  # type: ignore[arg-type]


def run(a: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    try:
        return _run(a, workdir)
    finally:
        for service in STARTED:  # a failed phase must not leave pollers or processors behind
            service.stop()


def _run(a: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    # The load average is printed with the table: on a shared box it explains a slow run.
    res: dict[str, Any] = {"stories": a.stories, "workers": a.workers, "nlp_workers": a.nlp_workers, "env": a.env,
                           "load_start": os.getloadavg()[0]}
    # Dates near now: the dedup and ledger windows are relative to the clock.
    start = utcnow().replace(microsecond=0) - timedelta(seconds=20 * a.stories + 3600)
    items = corpus.build(a.stories, a.seed, start=start)
    res["mix"] = corpus.mix(items)
    feeds_dir = workdir / "feeds"
    files = corpus.write_feeds(items, feeds_dir)
    sampler = Sampler()
    sampler.start()
    say = (lambda msg: print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr)) if not a.quiet else (
        lambda msg: None)
    with EmbeddedBroker() as broker, DemoFeedServer(feeds_dir) as server:
        bootstrap = broker.bootstrap
        assert broker.proc is not None
        bwatch = Watch("broker (tansu)", broker.proc.pid)
        sampler.watches.append(bwatch)
        prefix = f"bench{uuid.uuid4().hex[:8]}"
        env = {
            "WIREWATCH_KAFKA_BOOTSTRAP": bootstrap, "WIREWATCH_TOPIC_PREFIX": prefix,
            "WIREWATCH_APP_ID": prefix, "WIREWATCH_TOPIC_PARTITIONS": str(max(2, a.workers)),
            "WIREWATCH_ALLOW_HOSTS": "127.0.0.1", "WIREWATCH_POLL_PER_HOST": "8",
            "WIREWATCH_LOG_LEVEL": "WARNING",
            **({"WIREWATCH_NLP_WORKERS": str(a.nlp_workers)} if a.nlp_workers is not None else {}),
            # Tansu has no idempotent producer
            "WIREWATCH_KAFKA_IDEMPOTENT": "false",
            **dict(kv.split("=", 1) for kv in a.env),
        }
        settings = settings_for(env)
        topics = Topics(prefix, settings.topic_partitions)
        asyncio.run(create_topics(settings))
        broker_mb = lambda: sum(status_kb(p, "VmRSS") for p in tree(broker.proc.pid)) / 1024  # noqa: E731
        # what the broker holds after each phase: batches per incoming story, per topic
        stock = [{"held": held(bootstrap, prefix), "broker_mb": broker_mb()}]

        # -- 1. poller
        say(f"phase 1: poller over {len(files)} feeds, {len(items)} items")
        poller = Service("poller", env, workdir, "poller")
        pwatch = Watch("poller", poller.proc.pid)
        sampler.watches.append(pwatch)
        records = [FeedRecord(feed_id=f"bench-{p.stem}", url=f"{server.base_url}/{p.name}", outlet=p.stem,
                              interval_seconds=3600.0, updated_at=utcnow()) for p in files]
        time.sleep(1.0)  # let the poller join its group so the push is not spent on startup
        pwatch.sample()
        c0 = pwatch.total_cpu()
        asyncio.run(publish_feeds(settings, bootstrap, records))
        raw_n = 0
        # From the first item out: the poller's consumer-group join is startup, not throughput.
        t0 = wait_for(lambda: count(bootstrap, topics.raw.name) > 0, 120, "the poller's first item", [poller],
                      step=0.05)

        def raw_done() -> bool:
            nonlocal raw_n
            raw_n = count(bootstrap, topics.raw.name)
            return raw_n >= len(items)

        t1 = wait_for(raw_done, 120, "the poller to publish every item", [poller], step=0.25)
        pwatch.sample()
        res["poller"] = {"items": raw_n, "seconds": t1 - t0, "cpu": pwatch.total_cpu() - c0}
        raw = [RawStory.model_validate(orjson.loads(v)) for _, v in read_all(bootstrap, topics.raw.name)]
        stock.append({"held": held(bootstrap, prefix), "broker_mb": broker_mb(), "stories": raw_n})

        # -- 2. processor on the backlog
        say(f"phase 2: {a.workers} processor(s) on {raw_n} raw stories")
        procs = [Service("processor", env, workdir, f"processor{i}") for i in range(a.workers)]
        pw = [Watch(f"processor{i}", p.proc.pid) for i, p in enumerate(procs)]
        sampler.watches.extend(pw)
        t_first = wait_for(lambda: metric(procs, "wirewatch_dedup_stories_total") > 0, 180,
                           "the processor's first story", procs, step=0.05)
        for w in pw:
            w.sample()
        pc0 = sum(w.total_cpu() for w in pw)
        profiler = profile(a.profile, procs[0].proc.pid, "processor.txt")
        state: dict[str, float] = {}

        def processed() -> bool:
            names = ("wirewatch_dedup_stories_total", "wirewatch_dedup_unique_total",
                     "wirewatch_extract_claims_total")
            m = {k: metric(procs, k) for k in names}
            upd = metric(procs, "wirewatch_dedup_duplicates_total", kind="update")
            # NLP observed per story once its claims are counted (a batch's events are
            # counted as it starts, before its claims exist)
            nlp_done = metric(procs, "wirewatch_extract_nlp_duration_seconds_count")
            led = metric(procs, "wirewatch_processed_messages_total", stage="ledger")
            state.update(m, updates=upd)
            if m["wirewatch_dedup_stories_total"] >= raw_n and "t_dedup" not in state:
                state["t_dedup"] = time.monotonic()
            to_nlp = m["wirewatch_dedup_unique_total"] + upd
            return (m["wirewatch_dedup_stories_total"] >= raw_n and nlp_done >= to_nlp
                    and led >= m["wirewatch_extract_claims_total"])

        # Each /metrics scrape costs the processor a few ms of CPU: poll gently.
        t_done = wait_for(processed, 900, "the processor to drain the backlog", procs, step=1.0)
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        for w in pw:
            w.sample()
        to_nlp = state["wirewatch_dedup_unique_total"] + state["updates"]
        res["processor"] = {
            "raw": raw_n, "unique": state["wirewatch_dedup_unique_total"], "updates": state["updates"],
            "duplicates": raw_n - to_nlp, "claims": state["wirewatch_extract_claims_total"],
            "seconds": t_done - t_first, "dedup_seconds": state["t_dedup"] - t_first,
            "cpu": sum(w.total_cpu() for w in pw) - pc0, "to_nlp": to_nlp,
            "nlp_ms": 1000 * metric(procs, "wirewatch_extract_nlp_duration_seconds_sum")
            / max(1.0, metric(procs, "wirewatch_extract_nlp_duration_seconds_count")),
            "sentences_parsed": metric(procs, "wirewatch_extract_sentences_total", outcome="parsed"),
            "sentences_skipped": metric(procs, "wirewatch_extract_sentences_total", outcome="skipped"),
        }
        res["alerts_phase2"] = sum(count(bootstrap, t.name) for t in (topics.new_claim, topics.contradiction))
        stock.append({"held": held(bootstrap, prefix), "broker_mb": broker_mb(), "stories": raw_n})

        # -- 3. duplicate burst on the running processor, produced in one go
        say(f"phase 3: burst of {a.dups} duplicates")
        pw2 = pw
        burst = duplicates_of(raw, a.dups, a.seed)
        base_n = metric(procs, "wirewatch_dedup_stories_total")
        base_dup = metric(procs, "wirewatch_dedup_duplicates_total")
        base_sum = metric(procs, "wirewatch_dedup_duration_seconds_sum")
        for w in pw2:
            w.sample()
        dc0 = sum(w.total_cpu() for w in pw2)
        dup_profiler = profile(a.profile, procs[0].proc.pid, "duplicates.txt")
        # The burst is written while the processors are stopped (SIGSTOP, well inside the group's
        # session timeout) and read once they go on: what is timed is the processor's work on a
        # backlog of copies, not how fast this script's producer can write them.
        for svc in procs:
            os.kill(svc.proc.pid, signal.SIGSTOP)
        try:
            t_prod = time.monotonic()
            asyncio.run(_produce(bootstrap, topics.raw.name, burst, batch_bytes=limits.MAX_BATCH_BYTES))
            produce_seconds = time.monotonic() - t_prod
        finally:
            for svc in procs:
                os.kill(svc.proc.pid, signal.SIGCONT)
        t_first = time.monotonic()
        t_done = wait_for(lambda: metric(procs, "wirewatch_dedup_stories_total") >= base_n + a.dups, 300,
                          "the duplicate burst", procs, step=0.1)
        if dup_profiler is not None:
            dup_profiler.send_signal(signal.SIGINT)
            dup_profiler.wait(timeout=60)
        for w in pw2:
            w.sample()
        res["dups"] = {"n": a.dups, "flagged": metric(procs, "wirewatch_dedup_duplicates_total") - base_dup,
                       "seconds": t_done - t_first, "produce_seconds": produce_seconds,
                       "cpu": sum(w.total_cpu() for w in pw2) - dc0,
                       "dedup_mean_ms": 1000 / a.dups
                       * (metric(procs, "wirewatch_dedup_duration_seconds_sum") - base_sum)}
        stock.append({"held": held(bootstrap, prefix), "broker_mb": broker_mb(), "stories": a.dups})

        # -- 4. latency at half of saturation, feeds pushed
        unique_rate = to_nlp / max(res["processor"]["seconds"], 1e-9)
        nlp_share = to_nlp / max(raw_n, 1)
        rate = a.rate or max(1.0, 0.5 * unique_rate / max(nlp_share, 0.05))
        fresh = corpus.build(max(2, int(rate * a.latency_seconds)), a.seed + 1, start=utcnow(), step=1 / rate)
        say(f"phase 4: {len(fresh)} fresh items pushed at {rate:.1f}/s for {a.latency_seconds}s")
        pushed: dict[str, float] = {}  # link -> wall time of its feed's push
        per = max(1, round(rate))
        pushes = [fresh[i:i + per] for i in range(0, len(fresh), per)]
        for k, batch in enumerate(pushes):
            (feeds_dir / f"push-{k:04d}.xml").write_bytes(corpus.rss(batch, "push"))
        pc_lat0 = sum(w.total_cpu() for w in pw2)
        rss_start = sum(status_kb(p, "VmRSS") for pr in procs for p in tree(pr.proc.pid)) / 1024
        # RSS of every process about ten times over the phase (at most a minute apart), with the
        # state the processor holds, so a long run tells growth of state from a leak
        mem: list[dict[str, float]] = []
        mem_every = a.sample_every or min(60.0, max(1.0, a.latency_seconds / 10))
        t_push0 = time.monotonic()
        mem.append(memory_row(0.0, poller, broker.proc.pid, procs))
        for k, batch in enumerate(pushes):
            delay = t_push0 + k - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if time.monotonic() - t_push0 >= mem_every * len(mem):
                mem.append(memory_row(time.monotonic() - t_push0, poller, broker.proc.pid, procs))
            rec = FeedRecord(feed_id=f"push-{k:04d}", url=f"{server.base_url}/push-{k:04d}.xml",
                             outlet="push", interval_seconds=3600.0, updated_at=utcnow())
            now = time.time()
            for it in batch:
                pushed.setdefault(it.link, now)
            asyncio.run(publish_feeds(settings, bootstrap, [rec]))
        # drain: until the claims the stories carry have gone through the ledger
        time.sleep(2.0)
        wait_for(lambda: metric(procs, "wirewatch_processed_messages_total", stage="ledger")
                 >= metric(procs, "wirewatch_extract_claims_total")
                 and metric(procs, "wirewatch_processed_messages_total", stage="extract")
                 >= metric(procs, "wirewatch_dedup_unique_total")
                 + metric(procs, "wirewatch_dedup_duplicates_total", kind="update"), 120,
                 "the latency phase to drain", procs, step=0.5)
        lat_wall = time.monotonic() - t_push0
        for w in pw2:
            w.sample()
        rss_end = sum(status_kb(p, "VmRSS") for pr in procs for p in tree(pr.proc.pid)) / 1024
        mem.append(memory_row(lat_wall, poller, broker.proc.pid, procs))
        stock.append({"held": held(bootstrap, prefix), "broker_mb": broker_mb(), "stories": len(fresh),
                      "seconds": lat_wall})
        res["batches"] = batches_per_story(stock)
        first_alert: dict[str, float] = {}
        for t in (topics.new_claim.name, topics.contradiction.name):
            # The message's own timestamp (set by the processor's producer when it sent the
            # alert): the alert's raised_at is the claim's publication time, by design.
            for ts, v in read_all(bootstrap, t):
                link = orjson.loads(v)["claim"]["story_url"]
                if link in pushed:
                    first_alert[link] = min(first_alert.get(link, ts), ts)
        lats = [first_alert[k] - pushed[k] for k in first_alert]
        stages, per_story = stage_latencies(bootstrap, topics, pushed, first_alert)
        res["latency"] = {"rate": rate, "items": len(fresh), "stories_with_alert": len(lats),
                          "p50": pct(lats, 50), "p95": pct(lats, 95), "p99": pct(lats, 99),
                          "stages": stages, "per_story": per_story,
                          "cpu_share": (sum(w.total_cpu() for w in pw2) - pc_lat0) / max(lat_wall, 1e-9),
                          "rss_start_mb": rss_start, "rss_end_mb": rss_end, "memory": mem}
        for p in procs:
            p.stop()
        poller.stop()
        res["peak_mb"] = {"poller": pwatch.peak_mb(), "processor": sum(w.peak_mb() for w in pw),
                          "broker": bwatch.peak_mb()}
        res["broker_cpu"] = bwatch.total_cpu()
    sampler.stop_event.set()

    # -- baseline, same corpus (every item, duplicates included), same number of processes
    say(f"baseline: full spaCy pipeline over {len(raw)} bodies, n_process={a.workers}")
    res["baseline"] = run_baseline([s.body for s in raw], workdir, a.workers, a.sample)
    res["load_end"] = os.getloadavg()[0]
    if a.window:
        say(f"window: dedup pre-filled with {a.window} stories")
        res["window"] = window_row(a.window, raw, a.seed)
    return res


def table(r: dict[str, Any]) -> str:
    p, b, d, lat, pol = r["processor"], r["baseline"], r["dups"], r["latency"], r["poller"]
    mix = r["mix"]
    rows: list[tuple[str, str, str, str, str]] = []
    rate = p["raw"] / p["seconds"]
    urate = p["to_nlp"] / p["seconds"]
    brate = b["stories"] / b["seconds"]
    drate = d["n"] / d["seconds"]
    svc = b["service"]

    def row(name: str, value: str, cpu: str = "", mem: str = "", note: str = "") -> None:
        rows.append((name, value, cpu, mem, note))

    row("poller: items/s", f"{pol['items'] / pol['seconds']:.1f}", f"{pol['cpu']:.1f}s",
        f"{r['peak_mb']['poller']:.0f}", f"{pol['items']} items, {pol['seconds']:.1f}s")
    row("processor: raw stories/s (backlog)", f"{rate:.1f}", f"{p['cpu']:.1f}s",
        f"{r['peak_mb']['processor']:.0f}",
        f"{p['raw']} raw in {p['seconds']:.1f}s; {p['raw'] / p['cpu']:.1f} per CPU-second")
    row("processor: unique stories/s", f"{urate:.1f}", "", "",
        f"{p['unique']:.0f} unique + {p['updates']:.0f} updates to NLP; extract {p['nlp_ms']:.0f} ms/story")
    row("processor: duplicate stories/s", f"{drate:.0f}", f"{d['cpu']:.1f}s", f"{d['n'] / d['cpu']:.0f}/CPU-s",
        f"burst of {d['n']} ({d['flagged']:.0f} flagged) in {d['seconds']:.1f}s (written beforehand in "
        f"{d['produce_seconds']:.1f}s); {1000 * d['cpu'] / d['n']:.2f} ms CPU a copy, of which dedup's check "
        f"{d['dedup_mean_ms']:.2f}")
    row("latency p50/p95/p99 (s)", f"{lat['p50']:.2f}/{lat['p95']:.2f}/{lat['p99']:.2f}",
        f"{100 * lat['cpu_share']:.0f}%", f"{lat['rss_start_mb']:.0f}->{lat['rss_end_mb']:.0f}",
        f"push->alert, {lat['stories_with_alert']} stories, {lat['rate']:.1f} items/s")
    if lat.get("stages"):
        row("  of which per hop p50/p95/p99 (s)", "", "", "",
            "; ".join(f"{k} {'/'.join(f'{x:.2f}' for x in v)}" for k, v in lat["stages"].items()))
    row("broker (tansu)", "", f"{r['broker_cpu']:.1f}s", f"{r['peak_mb']['broker']:.0f}", "whole run")
    row("BASELINE: stories/s (full spaCy, all)", f"{brate:.1f}", f"{b['cpu']:.1f}s", f"{b['rss_mb']:.0f}",
        f"{b['stories']} bodies, {b['words'] / b['seconds']:.0f} words/s")
    row("BASELINE: latency p50/p95/p99 (s)", f"{pct(svc, 50):.2f}/{pct(svc, 95):.2f}/{pct(svc, 99):.2f}",
        "", "",
        f"service time of nlp(body), {len(svc)} stories")
    row("ratio: pipeline raw/s vs baseline", f"{rate / brate:.1f}x", "", "", "dedup-first + trimmed NLP")
    row("ratio: unique/s vs baseline", f"{urate / brate:.1f}x", "", "", "extractor alone (target >= 4x)")
    row("ratio: CPU per raw story vs baseline", f"{(p['cpu'] / p['raw']) / (b['cpu'] / b['stories']):.2f}x",
        "", "", f"{1000 * p['cpu'] / p['raw']:.0f} vs {1000 * b['cpu'] / b['stories']:.0f} ms")
    if "window" in r:
        w = r["window"]
        row(f"dedup only, window {w['window']}: stories/s", f"{w['stories'] / w['seconds']:.0f}", "",
            f"{w['rss_mb']:.0f}", f"in-process; fill {w['fill_s']:.0f}s, {w['duplicates']} duplicates")
    head = ("figure", "value", "CPU", "peak MB", "notes")
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(5)]
    lines = [" | ".join(c.ljust(widths[i]) for i, c in enumerate(x)) for x in [head, *rows]]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    conflict = mix["conflict_originals"]
    nlp = "default" if r.get("nlp_workers") is None else r["nlp_workers"]
    lines.insert(0, f"corpus: {r['stories']} items ({mix['original']} originals, {conflict} conflict, "
                    f"{mix['syndicated']} syndicated, {mix['update']} updates, {mix['repoll']} re-polls; "
                    f"{mix['words']} words); workers={r['workers']} (NLP processes: {nlp}); cpus={os.cpu_count()}; "
                    f"sentences parsed/skipped {p['sentences_parsed']:.0f}/{p['sentences_skipped']:.0f}; "
                    f"claims {p['claims']:.0f}, alerts {r['alerts_phase2']}; "
                    f"load average {r['load_start']:.1f} at start, {r['load_end']:.1f} at end"
                    + (f"; settings {' '.join(r['env'])}" if r.get("env") else ""))
    return "\n".join(lines)


def run_in(a: argparse.Namespace, run: Callable[[argparse.Namespace, Path], dict[str, Any]],
           prefix: str) -> dict[str, Any]:
    """``run`` in ``a.workdir`` (kept) or a temporary one; the figures also to ``a.json``."""
    if a.workdir:
        a.workdir.mkdir(parents=True, exist_ok=True)
        res = run(a, a.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            res = run(a, Path(tmp))
    if a.json:
        a.json.write_text(json.dumps(res, indent=1, default=str))
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stories", type=int, default=600)
    ap.add_argument("--workers", type=int, choices=(1, 2), default=1)
    ap.add_argument("--window", type=int, default=0, help="also time dedup with this many stories pre-filled")
    ap.add_argument("--dups", type=int, default=0, help="duplicate burst size (default 5 x stories, >= 3000)")
    ap.add_argument("--latency-seconds", type=float, default=40.0)
    ap.add_argument("--rate", type=float, help="items/s of the latency phase (default: half of phase 2's rate)")
    ap.add_argument("--nlp-workers", type=int, help="WIREWATCH_NLP_WORKERS of each processor (default: its default)")
    ap.add_argument("--env", action="append", default=[], metavar="WIREWATCH_X=V",
                    help="a setting for every service, e.g. shorter windows for a long run (repeatable)")
    ap.add_argument("--sample", type=int, default=40, help="stories timed one by one for baseline latency")
    ap.add_argument("--sample-every", type=float, help="seconds between the latency phase's memory, CPU and lag "
                    "rows (default: a tenth of the phase, at most 60)")
    ap.add_argument("--seed", type=int, default=20260302)
    ap.add_argument("--profile", type=Path, help="py-spy the processor during phase 2 into this folder")
    ap.add_argument("--json", type=Path, help="also write the raw figures here")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--workdir", type=Path, help="keep feeds and service logs here (default: a temp dir)")
    ap.add_argument("--baseline-of", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.baseline_of:
        baseline_worker(a.baseline_of, a.workers, a.sample)
        return
    a.dups = a.dups or max(3000, 5 * a.stories)
    res = run_in(a, run, "wirewatch-bench-")
    print(table(res))
    if len(res["latency"].get("memory", ())) > 2:
        print(memory_table(res["latency"]["memory"]))
    if res.get("batches"):
        print(batches_table(res["batches"]))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
