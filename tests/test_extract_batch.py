"""Batched extraction, as the stream runs it: one NLP call per batch, in worker processes or a
thread, with a story that fails (or kills its worker) failing alone."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Sequence

import pytest

from wirewatch.errors import ExtractFailed
from wirewatch.models import Claim, UniqueStory
from wirewatch.processor.extract import Extractor
from wirewatch.processor.pipeline import ExtractBatch, extract_batch
from wirewatch.processor.stream.nlp_pool import (
    CHUNKS_PER_PROCESS,
    MIN_CHUNK_STORIES,
    ExtractorPool,
    chunk_size,
)
from wirewatch.replay import load_feed_files

from .conftest import shared_path

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def dev() -> list[UniqueStory]:
    raws = load_feed_files(sorted((shared_path("eval", "dev") / "feeds").glob("*.xml")))
    return [UniqueStory(story=r, cluster_id=r.story_id, status="unique") for r in raws]


def _ids(results: Sequence[list[Claim] | ExtractFailed]) -> list[list[str] | str]:
    """Claims as what the stream keys on and sends (extracted_at is the wall clock)."""
    return [r.code if isinstance(r, ExtractFailed) else [c.model_dump_json(exclude={"extracted_at"}) for c in r]
            for r in results]


def test_claims_of_a_story_do_not_depend_on_its_batch(ex: Extractor, dev: list[UniqueStory]) -> None:
    # the stream's batches depend on timing; a restarted worker must still send the same claims
    alone = _ids([ex.extract(s) for s in dev])
    assert sum(len(c) for c in alone) > 20
    assert _ids(ex.extract_many(dev)) == alone
    assert _ids([c for i in range(0, len(dev), 5) for c in ex.extract_many(dev[i:i + 5])]) == alone


class _Flaky(Extractor):
    """Raises for one story, whatever batch it is in."""

    def __init__(self, base: Extractor, bad: str) -> None:
        self.__dict__.update(base.__dict__)
        self.bad = bad

    def extract_counted(self, stories: Sequence[UniqueStory]) -> tuple[list[list[Claim]], int, int, int]:
        if any(s.story.story_id == self.bad for s in stories):
            raise ValueError("boom")
        return super().extract_counted(stories)


def test_a_story_that_raises_fails_alone_and_the_rest_of_its_batch_goes_on(
        ex: Extractor, dev: list[UniqueStory]) -> None:
    bad = dev[3].story.story_id
    batch = extract_batch(_Flaky(ex, bad), dev[:8])
    expected = _ids([ex.extract(s) for s in dev[:8]])
    expected[3] = "internal"  # an error nobody foresaw: dead-lettered as internal
    assert _ids(batch.results) == expected
    assert batch.parsed > 0 and batch.skipped > 0


def test_a_body_over_the_models_max_length_is_refused_alone_as_too_large(
        ex: Extractor, dev: list[UniqueStory]) -> None:
    # only a message put straight on the unique topic can carry such a body (the poller caps
    # bodies at 500,000 characters); spaCy would raise its own E088 for the Doc
    body = "Rebels said the army captured the town of Sakhour. " * (ex.nlp.max_length // 50)
    assert len(body) > ex.nlp.max_length
    huge = UniqueStory(story=dev[0].story.model_copy(update={"story_id": "huge", "body": body}),
                       cluster_id="huge", status="unique")
    batch = extract_batch(ex, [dev[0], huge, dev[1]])
    assert _ids(batch.results) == [*_ids([ex.extract(dev[0])]), "too_large", *_ids([ex.extract(dev[1])])]
    assert isinstance(batch.results[1], ExtractFailed)
    assert "max_length" in str(batch.results[1])


@pytest.mark.parametrize("processes", [2, 3, 8])
def test_a_batch_is_cut_into_chunks_that_keep_every_process_busy(processes: int) -> None:
    for n in range(1, 200):
        size = chunk_size(n, processes)
        chunks = -(-n // size)
        # every process gets a chunk while there are stories for it
        assert chunks >= min(n, processes), (n, size)
        # no more chunks than CHUNKS_PER_PROCESS a process, and none smaller than the smallest
        # worth its decoding steps once the batch fills every process with such chunks
        assert chunks <= processes * CHUNKS_PER_PROCESS
        assert size >= MIN_CHUNK_STORIES or n < MIN_CHUNK_STORIES * processes, (n, size)


def test_extract_failed_keeps_its_code_across_processes() -> None:
    import pickle

    err = pickle.loads(pickle.dumps(ExtractFailed("it broke", "schema_invalid")))
    assert (type(err), err.code, str(err)) == (ExtractFailed, "schema_invalid", "it broke")


def test_worker_processes_give_the_claims_of_the_in_process_extractor(
        ex: Extractor, dev: list[UniqueStory]) -> None:
    expected = _ids([ex.extract(s) for s in dev])

    async def run() -> tuple[ExtractBatch, ExtractBatch, list[int]]:
        pool = ExtractorPool(2)
        try:
            pool.start()
            first = await pool.extract(dev)
            # a worker process dies (OOM killer, a segfault): the pool is replaced and the batch
            # retried story by story; nothing is lost and nothing fails
            assert pool._pool is not None
            pids = list(pool._pool._processes)
            os.kill(pids[0], signal.SIGKILL)
            deadline = time.monotonic() + 30
            while not getattr(pool._pool, "_broken", False) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            second = await pool.extract(dev[:4])
            assert pool._pool is not None
            return first, second, list(pool._pool._processes)
        finally:
            pool.close()

    first, second, pids_after = asyncio.run(run())
    assert _ids(first.results) == expected
    assert first.parsed > 0 and first.seconds > 0
    assert _ids(second.results) == expected[:4]
    assert pids_after and all(os.getpid() != p for p in pids_after)


def test_in_process_pool_uses_the_given_extractor(ex: Extractor, dev: list[UniqueStory]) -> None:
    async def run() -> ExtractBatch:
        pool = ExtractorPool(1, extractor=lambda: ex)
        try:
            return await pool.extract(dev[:5])
        finally:
            pool.close()

    assert _ids(asyncio.run(run()).results) == _ids([ex.extract(s) for s in dev[:5]])


def test_workers_exit_when_the_processor_lets_go_of_them() -> None:
    # as on a SIGKILL or a re-exec of the processor: its end of the lifeline closes, and
    # the workers must not live on holding a model each
    pool = ExtractorPool(2)
    try:
        pool.start()
        assert pool._pool is not None and pool._lifeline is not None
        pids = list(pool._pool._processes)
        pool._lifeline[1].close()
        deadline = time.monotonic() + 30
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(p) for p in pids)
    finally:
        pool.close()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False
