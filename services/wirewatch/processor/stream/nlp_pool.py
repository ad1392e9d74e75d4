"""Claim extraction off the faust process's GIL: batches of stories in warm spaCy processes.

The faust worker moves messages, dedups and keeps the ledger; spaCy holds the GIL for
tens of milliseconds a story.  With ``processes >= 2`` extraction runs in that many
spawned worker processes, each with its own :class:`Extractor` loaded once; a batch is
cut into a few contiguous chunks per process, taken as processes come free, and the
results come back in batch order.
With ``0`` or ``1`` it runs in one thread of this process (the model loaded here).

Either way a batch gives, per story, its claims or that story's own error
(:func:`~wirewatch.processor.pipeline.extract_batch`); a story that kills its worker
process is retried alone in a fresh pool and, if it kills that one too, fails alone.
Nothing here knows about faust.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection

from ...errors import ExtractFailed, error_code
from ...models import UniqueStory
from ..extract import Extractor
from ..extract.nlp import find_model
from ..pipeline import ExtractBatch, extract_batch

log = logging.getLogger(__name__)

# The worker process's extractor, loaded once by the pool's initializer.
_EXTRACTOR: Extractor | None = None
PARENT_POLL_SECONDS = 1.0
CHUNKS_PER_PROCESS = 4  # at most; a batch of 16 on 2 processes: 4 chunks of 4 stories
# The parser's and NER's decoding steps cost the same for one story as for several (the
# states of a chunk's stories advance together), so a chunk holds up to this many stories
# as long as every process still gets one.
MIN_CHUNK_STORIES = 4


def _exit_with_parent(parent: int, lifeline: Connection) -> None:
    """A worker whose faust process died (SIGKILL included) or re-executed itself exits
    too, instead of holding a model's worth of memory forever.  The lifeline's write end
    lives only in the faust process (and closes on exec); the pid check covers a write end
    that a process forked from it later still holds."""
    while os.getppid() == parent:
        try:
            if lifeline.poll(PARENT_POLL_SECONDS):
                lifeline.recv()
        except (EOFError, OSError):
            break
    os._exit(0)


def _init_worker(model: str | None, parent: int, lifeline: Connection) -> None:
    global _EXTRACTOR
    # Ctrl-C and a SIGTERM to the process group (docker stop, killpg) reach the workers too;
    # the parent decides when they stop (close() once faust has stopped, or the lifeline),
    # so a batch in flight during shutdown is not cut off and retried in a fresh pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent, lifeline), daemon=True,
                     name="wirewatch-parent-watch").start()
    _EXTRACTOR = Extractor(model)


def _work(stories: Sequence[UniqueStory], max_sentences: int | None) -> ExtractBatch:
    assert _EXTRACTOR is not None, "worker initializer did not run"
    return extract_batch(_EXTRACTOR, stories, max_sentences)


def _ready() -> int:
    # busy a moment, so that the next call goes to another process that is ready
    time.sleep(0.05)
    return os.getpid()


class ExtractorPool:
    """``await pool.extract(stories)`` -> :class:`ExtractBatch`, never blocking the event loop."""

    def __init__(self, processes: int, *, model: str | None = None,
                 extractor: Callable[[], Extractor] | None = None, max_sentences: int | None = None) -> None:
        self.processes = processes
        self.max_sentences = max_sentences  # a story's budget of event sentences to parse
        # resolved here, so that a missing model fails the processor at start, not in a worker
        self.model = find_model(model) if processes > 1 else model
        self._extractor_factory = extractor or (lambda: Extractor(model))
        self._extractor: Extractor | None = None
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._lifeline: tuple[Connection, Connection] | None = None
        # one thread: an Extractor (spaCy) is not meant to be used by two threads at once
        self._thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="wirewatch-nlp")

    @property
    def in_process(self) -> bool:
        return self.processes <= 1

    def _process_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the faust process has threads (the consumer's, the producer's)
            # whose locks a forked child would inherit held.
            ctx = multiprocessing.get_context("spawn")
            self._close_lifeline()
            self._lifeline = ctx.Pipe(duplex=False)
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=self.processes, mp_context=ctx,
                initializer=_init_worker, initargs=(self.model, os.getpid(), self._lifeline[0]))
        return self._pool

    def _close_lifeline(self) -> None:
        if self._lifeline is not None:
            for end in self._lifeline:
                end.close()
            self._lifeline = None

    def _in_thread(self, stories: Sequence[UniqueStory]) -> ExtractBatch:
        if self._extractor is None:
            self._extractor = self._extractor_factory()
        return extract_batch(self._extractor, stories, self.max_sentences)

    def start(self, timeout: float = 300.0) -> None:
        """Load the model(s) now, before the first story (call it before the event loop and
        the consumer start: the processor is not ready to extract until its models are)."""
        if self.in_process:
            self._in_thread([])
            return
        pool = self._process_pool()
        # every process loads its model in the pool's initializer, all at once; wait until
        # each has answered (a process takes work only once its model is loaded)
        pids: set[int] = set()
        deadline = time.monotonic() + timeout
        while len(pids) < self.processes and time.monotonic() < deadline:
            pids.update(f.result() for f in [pool.submit(_ready) for _ in range(self.processes)])
        log.info("NLP worker processes ready: %s", " ".join(map(str, sorted(pids))))

    async def extract(self, stories: Sequence[UniqueStory]) -> ExtractBatch:
        """Per story of ``stories``, in order: its claims, or an :class:`ExtractFailed`.
        Raises only CancelledError."""
        if not stories:
            return ExtractBatch([])
        try:
            return await self._extract(stories)
        except BrokenProcessPool:
            log.error("an NLP worker process died; retrying the batch one story at a time")
            return await self._one_by_one(stories)
        except Exception as exc:  # the machinery failed, not a story (extract_batch catches those)
            if len(stories) == 1:
                log.exception("extraction of story %s failed", stories[0].story.story_id)
                return ExtractBatch([ExtractFailed(f"{type(exc).__name__}: {exc}", error_code(exc))])
            log.exception("extraction of a batch of %d failed; retrying one story at a time", len(stories))
            return _merge([await self.extract([s]) for s in stories])

    async def _extract(self, stories: Sequence[UniqueStory]) -> ExtractBatch:
        loop = asyncio.get_running_loop()
        if self.in_process:
            return await loop.run_in_executor(self._thread, self._in_thread, stories)
        # Several small chunks per process, each taken by whichever process is free: the
        # stories of a batch differ in cost (a battle report parses many sentences, sports
        # news almost none), and with one chunk per process one sat idle while the other
        # finished the batch that every story of it waits for.
        size = chunk_size(len(stories), self.processes)
        chunks = [stories[i:i + size] for i in range(0, len(stories), size)]
        pool = self._process_pool()
        parts = await asyncio.gather(*(loop.run_in_executor(pool, _work, c, self.max_sentences) for c in chunks))
        return _merge(parts)

    async def _one_by_one(self, stories: Sequence[UniqueStory]) -> ExtractBatch:
        loop = asyncio.get_running_loop()
        parts: list[ExtractBatch] = []
        for story in stories:
            self._restart()
            try:
                parts.append(await loop.run_in_executor(self._process_pool(), _work, [story], self.max_sentences))
            except BrokenProcessPool:
                log.error("story %s took an NLP worker process down", story.story.story_id)
                parts.append(ExtractBatch([ExtractFailed(
                    f"the NLP worker process died extracting story {story.story.story_id}",
                    "nlp_worker_died")]))
        self._restart()
        return _merge(parts)

    def _restart(self) -> None:
        """Throw a broken pool away; the next call starts a fresh one."""
        if self._pool is not None and getattr(self._pool, "_broken", False):
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        """Stop the worker processes (call before the faust process exits or re-executes;
        workers left behind exit on their own within a second anyway)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._close_lifeline()
        self._thread.shutdown(wait=False)


def chunk_size(stories: int, processes: int) -> int:
    """Stories per chunk of a batch: CHUNKS_PER_PROCESS chunks a process, but no fewer than
    MIN_CHUNK_STORIES stories a chunk unless that would leave a process without one."""
    finest = -(-stories // (processes * CHUNKS_PER_PROCESS))
    return max(finest, min(MIN_CHUNK_STORIES, stories // processes), 1)


def _merge(parts: Sequence[ExtractBatch]) -> ExtractBatch:
    out = ExtractBatch([])
    for p in parts:
        out.results.extend(p.results)
        out.seconds += p.seconds
        out.parsed += p.parsed
        out.skipped += p.skipped
        out.too_long += p.too_long
        out.over_budget += p.over_budget or [0] * len(p.results)
    return out
