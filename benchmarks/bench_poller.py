"""Poller throughput: N feeds served locally, polled for several rounds.

    .venv/bin/python benchmarks/bench_poller.py [--feeds 2000] [--items 50] [--rounds 3] [--changed 0.1]

A feed server runs in its own process (so its CPU is not counted) on 8
loopback addresses.  Round 1 fetches and parses every feed (all items new);
later rounds answer 304 for all but ``--changed`` of the feeds, which gain one
item.  Baselines measured in the same run: bare httpx GETs of the same URLs
at the same concurrency (the transport floor) and bare feedparser on the
round-1 bodies in one process (the parse floor).  Reported: feeds/s, CPU per
poll (poller process + parse workers), peak RSS of the poller process.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path
from typing import Any

HOSTS = [f"127.0.0.{i}" for i in range(1, 9)]


def make_feed(name: str, items: int, start: int) -> bytes:
    parts = [f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{name}</title>'
             f"<link>http://example.org/{name}</link><description>bench</description>"]
    for i in range(start, start + items):
        parts.append(
            f"<item><title>{name} story {i}: officials report progress in talks</title>"
            f"<link>http://example.org/{name}/{i}</link><guid>{name}-{i}</guid>"
            f"<pubDate>{formatdate(1_700_000_000 + i * 600, usegmt=True)}</pubDate>"
            f"<description>&lt;p&gt;Paragraph one of story {i} from {name}, with a few words of text "
            f"so that it looks like a summary.&lt;/p&gt;&lt;p&gt;Paragraph two.&lt;/p&gt;"
            f"</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def serve(port_q: Any, n: int, items: int, changed: float, stop: Any) -> None:
    """The feed server process: /f{i}.xml; ``/bump`` adds one item to a share of the feeds."""
    from aiohttp import web

    version = dict.fromkeys(range(n), 0)
    cache: dict[tuple[int, int], tuple[bytes, str]] = {}

    def body(i: int) -> tuple[bytes, str]:
        key = (i, version[i])
        if key not in cache:
            b = make_feed(f"f{i}", items, version[i])
            cache[key] = (b, '"' + hashlib.sha1(b).hexdigest()[:16] + '"')
        return cache[key]

    async def feed(request: web.Request) -> web.Response:
        i = int(request.match_info["i"])
        b, tag = body(i)
        if request.headers.get("If-None-Match") == tag:
            return web.Response(status=304, headers={"ETag": tag})
        return web.Response(body=b, headers={"ETag": tag, "Content-Type": "application/rss+xml"})

    async def bump(request: web.Request) -> web.Response:
        step = max(1, round(1 / changed)) if changed > 0 else n + 1
        for i in range(0, n, step):
            version[i] += 1
        return web.Response(text="ok")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/f{i:\\d+}.xml", feed)
        app.router.add_get("/bump", bump)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, HOSTS[0], 0, backlog=1024)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        for h in HOSTS[1:]:
            await web.TCPSite(runner, h, port, backlog=1024).start()
        port_q.put(port)
        while not stop.is_set():
            await asyncio.sleep(0.1)
        await runner.cleanup()

    asyncio.run(main())


def proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def vm_hwm(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def self_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


class NullSink:
    def __init__(self) -> None:
        self.n = 0

    async def publish(self, story: Any) -> None:
        self.n += 1


async def baseline_http(urls: list[str], concurrency: int) -> tuple[float, float, list[bytes]]:
    import httpx

    sem = asyncio.Semaphore(concurrency)
    bodies: list[bytes] = []
    async with httpx.AsyncClient(trust_env=False, limits=httpx.Limits(max_connections=concurrency)) as c:
        async def get(u: str) -> None:
            async with sem:
                bodies.append((await c.get(u)).content)

        t0, c0 = time.perf_counter(), self_cpu()
        await asyncio.gather(*(get(u) for u in urls))
        return time.perf_counter() - t0, self_cpu() - c0, bodies


def baseline_parse(bodies: list[bytes]) -> tuple[float, float]:
    import feedparser

    t0, c0 = time.perf_counter(), self_cpu()
    for b in bodies:
        feedparser.parse(io.BytesIO(b))
    return time.perf_counter() - t0, self_cpu() - c0


async def run(args: argparse.Namespace, port: int) -> list[tuple[str, int, float, float, float]]:
    from wirewatch.models import FeedRecord
    from wirewatch.poller.service import Poller
    from wirewatch.settings import Settings

    urls = [f"http://{HOSTS[i % len(HOSTS)]}:{port}/f{i}.xml" for i in range(args.feeds)]
    rows: list[tuple[str, int, float, float, float]] = []
    wall, cpu, bodies = await baseline_http(urls, args.concurrency)
    rows.append(("baseline: bare httpx GET", len(urls), wall, cpu, 0.0))
    sample = bodies[: min(len(bodies), 400)]
    wall, cpu = baseline_parse(sample)
    rows.append(("baseline: bare feedparser.parse (1 proc)", len(sample), wall, cpu, 0.0))

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(allow_hosts=["127.0.0.0/8"], poll_concurrency=args.concurrency,
                            poll_per_host=max(2, args.concurrency // len(HOSTS)), parse_workers=args.workers,
                            data_dir=Path(tmp), poll_unconditional_seconds=10 * 86400.0)
        sink = NullSink()
        poller = Poller(settings, sink, state_path=Path(tmp) / "state.json")
        now = datetime.now(UTC)
        for i, u in enumerate(urls):
            poller.upsert(FeedRecord(feed_id=f"f{i}", url=u, outlet=f"outlet{i % 50}", updated_at=now))
        import httpx

        for rnd in range(1, args.rounds + 1):
            if rnd > 1:
                async with httpx.AsyncClient(trust_env=False) as c:
                    await c.get(f"http://{HOSTS[0]}:{port}/bump")
            workers = [w.proc.pid for w in poller.pool._all if w.proc.pid]
            w0 = sum(proc_cpu(p) for p in workers)
            t0, c0 = time.perf_counter(), self_cpu()
            results = await poller.poll_all()
            wall, cpu = time.perf_counter() - t0, self_cpu() - c0
            workers = [w.proc.pid for w in poller.pool._all if w.proc.pid]
            wcpu = sum(proc_cpu(p) for p in workers) - (w0 if rnd > 1 else 0.0)
            errors = sum(r.outcome == "error" for r in results)
            n304 = sum(r.outcome == "not_modified" for r in results)
            new = sum(r.new_items for r in results)
            label = f"poller round {rnd}: {n304} x 304, {errors} errors, {new} new"
            rows.append((label, len(results), wall, cpu, wcpu))
        hwm = [vm_hwm(w.proc.pid) for w in poller.pool._all if w.proc.pid]
        rows.append((f"parse worker peak RSS MB: {', '.join(f'{h:.0f}' for h in hwm)}", 0, 0.0, 0.0, 0.0))
        await poller.aclose()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=2000)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--changed", type=float, default=0.1, help="share of feeds with a new item per round")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2, help="parse worker processes")
    args = ap.parse_args()

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    stop = ctx.Event()
    srv = ctx.Process(target=serve, args=(q, args.feeds, args.items, args.changed, stop), daemon=True)
    srv.start()
    try:
        port = q.get(timeout=30)
        rows = asyncio.run(run(args, port))
    finally:
        stop.set()
        srv.join(timeout=5)
        if srv.is_alive():
            srv.kill()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npoller benchmark: {args.feeds} feeds x {args.items} items, {args.concurrency} concurrent, "
          f"{args.workers} parse workers, {os.cpu_count()} CPUs, python {sys.version.split()[0]}\n")
    print(f"{'run':<58} {'polls':>6} {'wall s':>8} {'feeds/s':>9} {'CPU ms/poll':>12} "
          f"{'of which workers':>17}")
    for label, n, wall, cpu, wcpu in rows:
        if n == 0:
            print(label)
            continue
        per = (cpu + wcpu) / n * 1000 if n else 0.0
        print(f"{label:<58} {n:>6} {wall:>8.2f} {n / wall if wall else 0:>9.0f} {per:>12.2f} "
              f"{wcpu / n * 1000 if n else 0:>17.2f}")
    print(f"\npeak RSS of the poller process: {peak_mb:.0f} MB (parse workers not included)")


if __name__ == "__main__":
    main()
