"""Parse feeds and news sitemaps in worker processes with CPU-time, memory and wall-clock limits.

CPython cannot interrupt feedparser from the outside (a ReDoS in its author
regex, 200k items, an entity blow-up in the loose parser), so a pathological
feed is parsed in a child process with ``RLIMIT_AS`` and a per-task
``RLIMIT_CPU``; the parent also kills it at a wall-clock deadline.  A child that
dies or is killed costs only its own task (``parse_limit``) and is replaced;
the other parses and the poller go on.

Each worker handles one task at a time over a pipe (a ProcessPoolExecutor would
fail every in-flight task when one worker dies, blaming innocent feeds).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing as mp
import resource
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from .. import errors
from ..errors import FeedError, ParseError, ParseLimit
from ..metrics import PARSE_WORKER_RESTARTS
from ..models import FeedRecord
from .fulltext import extract_article
from .parse import ParsedFeed, parse_feed
from .sitemap import parse_news_sitemap

log = logging.getLogger(__name__)


def _error_classes() -> dict[str, type[FeedError]]:
    out: dict[str, type[FeedError]] = {}
    for obj in vars(errors).values():
        if isinstance(obj, type) and issubclass(obj, FeedError) and obj is not errors.HTTPStatusError:
            out[obj.code] = obj
    return out


def rebuild_error(code: str, message: str) -> FeedError:
    cls = _error_classes().get(code, ParseError)
    return cls(message)


def _cpu_used() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _worker_main(conn: Connection, cpu_seconds: float, memory_bytes: int) -> None:
    # Ctrl-C in a terminal reaches the whole process group; the parent decides
    # when a worker stops (it closes the pipe), so the child ignores SIGINT.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if memory_bytes > 0:
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    _cs, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        kind, data, feed_json, fetched_at, content_type, base_url = msg
        # RLIMIT_CPU counts the whole process life: re-arm it per task (SIGXCPU kills us).
        soft = int(_cpu_used() + cpu_seconds) + 1
        if cpu_hard != resource.RLIM_INFINITY:
            soft = min(soft, cpu_hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, cpu_hard))
        reply: tuple[Any, ...]
        try:
            if kind == "article":
                reply = ("ok", extract_article(data, base_url or "", content_type))
            else:
                feed = FeedRecord.model_validate_json(feed_json)
                reply = ("ok", _parse(kind, data, feed, fetched_at, content_type, base_url))
        except MemoryError:
            reply = ("err", ParseLimit.code, "parse ran out of memory")
        except FeedError as exc:
            reply = ("err", exc.code, exc.message)
        except Exception as exc:  # any parser crash is this feed's parse_error, never ours
            reply = ("err", ParseError.code, f"parser failed: {type(exc).__name__}: {str(exc)[:200]}")
        del msg, data
        try:
            conn.send(reply)
        except MemoryError:
            conn.send(("err", ParseLimit.code, "parse result too large"))


FORMATS = ("feed", "sitemap")


def _parse(fmt: str, data: bytes, feed: FeedRecord, fetched_at: datetime | None, content_type: str | None,
           base_url: str | None) -> ParsedFeed:
    if fmt == "sitemap":
        return parse_news_sitemap(data, feed, fetched_at or datetime.now(UTC))
    return parse_feed(data, feed, fetched_at, content_type=content_type, base_url=base_url)


@dataclass
class _Worker:
    proc: BaseProcess
    conn: Connection


class ParsePool:
    """A few parse worker processes; ``workers=0`` parses in-process (tests, tools)."""

    def __init__(self, workers: int = 2, *, cpu_seconds: float = 10.0, memory_bytes: int = 1 << 30,
                 wall_seconds: float = 30.0) -> None:
        self.workers = workers
        self.cpu_seconds = cpu_seconds
        self.memory_bytes = memory_bytes
        self.wall_seconds = wall_seconds
        self._ctx = mp.get_context("spawn")  # forking a process that runs asyncio and threads is unsafe
        self._idle: asyncio.Queue[_Worker | None] | None = None  # None: spawn when needed
        self._all: list[_Worker] = []
        self._threads: ThreadPoolExecutor | None = None
        self.restarts = 0

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=_worker_main, args=(child, self.cpu_seconds, self.memory_bytes),
                                 daemon=True, name="wirewatch-parse")
        proc.start()
        child.close()
        w = _Worker(proc, parent)
        self._all.append(w)
        return w

    def _ensure(self) -> asyncio.Queue[_Worker | None]:
        if self._idle is None:
            self._idle = asyncio.Queue()
            self._threads = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="parse-io")
            for _ in range(self.workers):
                self._idle.put_nowait(self._spawn())
        return self._idle

    async def parse(self, data: bytes, feed: FeedRecord, fetched_at: datetime | None = None, *,
                    content_type: str | None = None, base_url: str | None = None,
                    format: str = "feed") -> ParsedFeed:
        """Parse a feed (RSS, Atom, JSON Feed) or, ``format="sitemap"``, a Google News sitemap."""
        if format not in FORMATS:
            raise ValueError(f"unknown format {format!r} (known: {', '.join(FORMATS)})")
        if self.workers <= 0:
            return self._parse_inline(format, data, feed, fetched_at, content_type, base_url)
        reply = await self._submit((format, data, feed.model_dump_json(), fetched_at, content_type, base_url))
        if reply[0] == "ok":
            result: ParsedFeed = reply[1]
            return result
        raise rebuild_error(reply[1], reply[2])

    async def extract(self, data: bytes, url: str, title: str | None = None) -> str:
        """Main text of an article page (trafilatura), under the same limits as a feed parse."""
        if self.workers <= 0:
            try:
                return extract_article(data, url, title)
            except FeedError:
                raise
            except Exception as exc:
                raise ParseError(f"extractor failed: {type(exc).__name__}") from None
        # Same tuple shape as a feed task: the title rides in the content-type slot.
        reply = await self._submit(("article", data, None, None, title, url))
        if reply[0] == "ok":
            text: str = reply[1]
            return text
        raise rebuild_error(reply[1], reply[2])

    async def _submit(self, msg: tuple[Any, ...]) -> tuple[Any, ...]:
        idle = self._ensure()
        worker = await idle.get() or self._spawn()
        done = False
        try:
            loop = asyncio.get_running_loop()
            reply = await loop.run_in_executor(self._threads, self._roundtrip, worker, msg)
            done = True
        finally:
            # A worker that failed, or whose caller was cancelled mid-task (its reply
            # would reach the next caller), is replaced rather than reused.
            if not done:
                self._retire(worker)
            idle.put_nowait(worker if done else None)
        return reply

    def _roundtrip(self, worker: _Worker, msg: tuple[Any, ...]) -> tuple[Any, ...]:
        try:
            worker.conn.send(msg)
            if not worker.conn.poll(self.wall_seconds):
                raise ParseLimit(f"parse took longer than {self.wall_seconds:g}s")
            reply: tuple[Any, ...] = worker.conn.recv()
            return reply
        except (EOFError, OSError, BrokenPipeError):
            raise ParseLimit("parse worker died (CPU-time or memory limit)") from None

    def _retire(self, worker: _Worker) -> None:
        self._kill(worker)
        self.restarts += 1
        PARSE_WORKER_RESTARTS.inc()
        log.warning("parse worker replaced (pid %s, exit %s)", worker.proc.pid, worker.proc.exitcode)

    def _kill(self, worker: _Worker) -> None:
        with contextlib.suppress(Exception):
            worker.proc.kill()
        worker.proc.join(timeout=5)
        with contextlib.suppress(Exception):
            worker.conn.close()
        if worker in self._all:
            self._all.remove(worker)

    @staticmethod
    def _parse_inline(fmt: str, data: bytes, feed: FeedRecord, fetched_at: datetime | None,
                      content_type: str | None, base_url: str | None) -> ParsedFeed:
        try:
            return _parse(fmt, data, feed, fetched_at, content_type, base_url)
        except FeedError:
            raise
        except Exception as exc:
            raise ParseError(f"parser failed: {type(exc).__name__}: {str(exc)[:200]}") from None

    def close(self) -> None:
        for w in list(self._all):
            with contextlib.suppress(Exception):
                w.conn.send(None)
        for w in list(self._all):
            w.proc.join(timeout=1)
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join(timeout=5)
            with contextlib.suppress(Exception):
                w.conn.close()
        self._all.clear()
        self._idle = None
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
            self._threads = None
