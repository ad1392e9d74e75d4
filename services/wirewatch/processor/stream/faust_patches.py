"""The faust-streaming internals wirewatch replaces, one function each.

Written against and checked on faust-streaming 0.15.3 (mode-streaming 0.7.1, aiokafka
0.14.0), the newest releases on PyPI; faust-streaming's main branch still has each
replaced method as 0.15.3 has it.  Each replacement's docstring says what failed and how
it was found.  tests/test_faust_patches.py has one test per replacement that shows
faust's own method failing and the replacement not, so after an upgrade it shows which
replacements are still needed.

:func:`install` applies the seven class-level replacements once per process (the settings
of its latest call are the ones used); :func:`keep_queued_events` changes one app's flow
control; :func:`handled_beside_the_stream` marks records an agent read from the broker
itself as handled.  Beyond these, the faust shell only reads faust's private offsets (the
stall check and consumer lag, in :mod:`wirewatch.processor.stream.app`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka.errors import KafkaError
from faust.transport import consumer as faust_consumer
from faust.transport import producer as faust_producer
from faust.transport.drivers import aiokafka as faust_aiokafka

from ... import offsets
from ...admin import kafka_client_kwargs
from ...settings import Settings

log = logging.getLogger(__name__)

FAUST_STREAMING = "0.15.3"
DRAIN_TIMEOUT_SECONDS = 30.0  # the producer buffer's drain before an offset commit


@dataclass
class Config:
    """What the replacements read; :func:`install` sets it from the settings."""

    fetch_wait_ms: int = 100
    client_kwargs: dict[str, Any] = field(default_factory=dict)
    idempotent: bool = False


CONFIG = Config()


# ------------------------------------------------------------------ the replacements
def fetch_wait(original: Callable[..., Any]) -> Callable[..., Any]:
    """``AIOKafkaConsumerThread._create_worker_consumer``: the consumer's long-poll wait.

    faust-streaming 0.15.3 builds its worker consumer with ``fetch_max_wait_ms=1500`` and
    no setting to change it.  The embedded broker (Tansu) holds an empty long-poll until
    the wait runs out, so each hop of the pipeline could wait that long and throughput was
    capped; found with the first faust shell on the embedded broker (commit 5be8dbe).
    Tansu also gives up listing a partition's stored batches when the wait runs out
    (benchmarks/bench_broker.py: about 1,000 batches per millisecond of wait), so a much
    shorter wait makes a busy partition unreadable (commit 3684dac).  The wait becomes
    ``WIREWATCH_CONSUMER_FETCH_WAIT_MS`` (100).
    """

    def _create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = CONFIG.fetch_wait_ms  # read when the consumer starts its fetcher
        return consumer

    return _create_worker_consumer


def changelog_end_from_a_fetch(original: Callable[..., Any]) -> Callable[..., Any]:
    """``AIOKafkaConsumerThread._highwaters``: where table recovery stops reading a changelog.

    faust-streaming 0.15.3 takes a changelog's end from ListOffsets.  The embedded broker
    (Tansu 0.6) answers it with the base offset of the last record batch plus one, short
    of the end after a multi-record batch, so a restarted worker recovered only part of
    its tables.  Found by the processor fault test (tests/test_processor_stream.py);
    `wirewatch feeds list` and the tests' readers stopped early the same way (commit
    925ff16; tests/test_offsets.py).  The end becomes the larger of ListOffsets and a fetch's high
    watermark (:func:`wirewatch.offsets.log_end_offsets`), which is right on every broker.
    """

    async def _highwaters(self: Any, partitions: list[Any]) -> Any:
        listed = await original(self, partitions)
        if self.consumer.in_transaction or not partitions:
            return listed
        try:
            fetched = await offsets.log_end_offsets(CONFIG.client_kwargs, partitions)
        except (KafkaError, TimeoutError) as exc:
            log.warning("changelog ends from a fetch unavailable (%s); using ListOffsets", exc)
            return listed
        return {tp: max(listed.get(tp) or 0, fetched.get(tp, 0)) for tp in partitions}

    return _highwaters


def fetch_only_active_partitions(original: Callable[..., Any]) -> Callable[..., Any]:
    """``AIOKafkaConsumerThread._fetch_records``: which partitions one fetch may return.

    faust-streaming 0.15.3 hands the consumer thread its *live* set of active partitions.
    When table recovery ends, faust pauses the changelogs before it resumes the stream
    partitions, so the set can be empty when the thread runs the fetch; aiokafka reads an
    empty set as "every partition" and returns what it buffered for the still-paused
    stream partitions.  faust drops those records as inactive, and with no committed
    offset yet its seek leaves the position past them: a restarted worker wedged right
    after recovery, never seeing them.  Found by the processor fault test
    (tests/test_processor_stream.py; commit b1ae748).  The fetch takes the set as
    it is when the thread runs, and an empty set fetches nothing.
    """

    async def _fetch_records(self: Any, consumer: Any, active_partitions: Any,
                             timeout: float | None = None, max_records: int | None = None) -> Any:
        if active_partitions is not None:
            active_partitions = frozenset(active_partitions)
            if not active_partitions:
                return {}
        return await original(self, consumer, active_partitions, timeout=timeout, max_records=max_records)

    return _fetch_records


def flush_drains(original: Callable[..., Any]) -> Callable[..., Any]:
    """``ProducerBuffer.flush``: what faust waits for before it commits offsets.

    faust-streaming 0.15.3 flushes its producer buffer before an offset commit, but the
    flush returns as soon as 0.1 s pass without a message sent: under load a table's
    changelog writes could still be queued when the source offset was committed, and a
    crash then lost them.  Found by the processor fault test (commit 8ae5ffd).  The flush
    drains the buffer for real, bounded by DRAIN_TIMEOUT_SECONDS.
    """

    async def flush(self: Any) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_TIMEOUT_SECONDS
        while self.size:
            if self.state != "running":
                raise RuntimeError("cannot flush: producer not running")
            if loop.time() > deadline:
                raise TimeoutError(f"{self.size} changelog/output messages unsent after {DRAIN_TIMEOUT_SECONDS:g}s")
            self.message_sent.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.message_sent.wait(), timeout=0.1)

    return flush


def commit_past_empty_holes_only(original: Callable[..., Any]) -> Callable[..., Any]:
    """``Consumer._add_gap``: which holes in the offsets handed to a stream may be committed past.

    faust-streaming 0.15.3 takes any hole for records that need no ack (transaction
    markers, compaction) and lets a commit move past it, even when the hole is records it
    dropped itself or will hand over again after a seek.  Found with the flow-control
    resume below by the random-kill fault test (seed 3018835420 lost raw @7..9, commit
    aaed00b).  The broker is asked (:func:`wirewatch.offsets.offsets_held`): only a hole
    that holds no records is passed to faust.  faust passes the first offset it missed and
    the offset of the record that just arrived (which it marks too), so the hole asked
    about is ``offset_from .. offset_to - 1`` (counting that record made every hole look
    held, commit 759ab73).
    """

    async def _add_gap(self: Any, tp: Any, offset_from: int, offset_to: int) -> None:
        try:
            held = await offsets.offsets_held(CONFIG.client_kwargs, tp, offset_from, offset_to)
        except (KafkaError, TimeoutError) as exc:
            log.warning("%s[%s]@%d..%d: cannot tell a hole from records not yet handled (%s); "
                        "not committing past it", tp.topic, tp.partition, offset_from, offset_to - 1, exc)
            return
        if held:
            log.debug("%s[%s]@%d..%d: records not handed to the stream in order; not committing past them",
                      tp.topic, tp.partition, offset_from, offset_to - 1)
            return
        await original(self, tp, offset_from, offset_to)

    return _add_gap


def idempotent_producer(original: Callable[..., Any]) -> Callable[..., Any]:
    """``Producer._settings_extra``: the producer's delivery settings.

    faust-streaming 0.15.3 asks for ``acks=all`` and an idempotent producer only inside
    exactly-once transactions; otherwise it leaves aiokafka's defaults.  wirewatch wants
    ``acks=all`` always, and idempotence without transactions on a real Kafka
    (``WIREWATCH_KAFKA_IDEMPOTENT``; off on the embedded broker, which has no
    InitProducerId), so that a retried send cannot write a message twice.  A choice made
    with the first faust shell, not a defect found by a test.
    """

    def _settings_extra(self: Any) -> dict[str, Any]:
        if CONFIG.idempotent or self.app.in_transaction:
            return {"acks": "all", "enable_idempotence": True}
        return {"acks": "all"}

    return _settings_extra


def eager_delivery(original: Callable[..., Any]) -> Callable[..., Any]:
    """``Consumer.wait_first``: how the consumer hands each fetched record to the streams.

    faust-streaming 0.15.3 delivers every record with ``wait_first(callback(message),
    suspend_flow.wait())``, a race against a rebalance: four tasks a record (the delivery,
    the flow, the consumer's stopped and crashed events), three of them cancelled after.
    A delivery that does not block (the stream's queue has room, the flow is on) finishes
    in its first step, so the race costs far more than the delivery: ~35 µs a record, 7 %
    of the processor's CPU in a burst of duplicates (benchmarks/README.md).  The delivery
    now takes its first step at once, as its task would have; only one that blocks (a full
    queue, a suspended flow) becomes a task and races the flow as before.  A cost, not a
    defect; found by profiling that burst.
    """

    async def wait_first(self: Any, *coros: Any, timeout: Any = None) -> Any:
        if timeout is not None or len(coros) != 2 or not all(asyncio.iscoroutine(c) for c in coros):
            return await original(self, *coros, timeout=timeout)
        delivery, suspended = coros
        try:
            yielded = delivery.send(None)
        except StopIteration:
            suspended.close()  # (never started: closing it leaves no "never awaited" warning)
            return None  # (the consumer does not read the result)
        except BaseException:
            suspended.close()
            raise
        return await original(self, asyncio.ensure_future(_resumed(delivery, yielded)), suspended)

    return wait_first


async def _resumed(coro: Any, yielded: Any) -> Any:
    """The rest of ``coro``, which took its first step and yielded ``yielded``, run as its
    task would have run it: each future it waits on awaited, then the coroutine resumed (it
    reads the future's outcome itself); a cancellation thrown into it."""
    while True:
        try:
            if yielded is None:  # a bare yield (asyncio.sleep(0))
                await asyncio.sleep(0)
            else:
                # A future yielded by ``await`` comes marked as waited on; a task clears
                # the mark before it waits, and awaiting it again requires that.
                yielded._asyncio_future_blocking = False
                await yielded
        except asyncio.CancelledError as exc:
            try:
                yielded = coro.throw(exc)
            except StopIteration as done:
                return done.value
            continue
        except Exception:
            pass  # (the coroutine reads the future's exception itself when resumed)
        try:
            yielded = coro.send(None)
        except StopIteration as done:
            return done.value


def keep_queued_events(flow: Any) -> None:
    """``app.flow_control.resume`` of one app: resuming a flowing app leaves the stream queues alone.

    With faust-streaming 0.15.3 (mode-streaming 0.7.1), faust resumes flow once to read
    the changelogs, then, once they are read, resumes the stream partitions, seeks them to
    their committed offsets and resumes flow again.  Records fetched in between are in the
    stream queues by then, and every resume clears those queues: they were dropped without
    a trace (nothing acked, the read offset past them), and the worker handled them only
    after a restart.  Found by the random-kill fault test (seed 3018835420 lost raw @7..9,
    commit aaed00b).  Clearing stays for events queued before a rebalance, when flow was
    suspended.
    """
    resume = flow.resume

    def _resume() -> None:
        if flow.is_active():
            return
        resume()

    flow.resume = _resume


async def handled_beside_the_stream(consumer: Any, tp: Any, first: int, last: int) -> None:
    """Tell ``consumer`` that offsets ``first..last`` of ``tp`` were handled although no
    stream was handed them (the agent read them from the broker: a hole the consumer moved
    past), so that a commit may move past them.  faust's own ``_add_gap`` marks them so;
    the replacement above, which asks the broker first, would refuse a hole that holds
    records."""
    await REPLACEMENTS["holes"].original(consumer, tp, first, last)


# ------------------------------------------------------------------ applying them
@dataclass
class Replacement:
    """One faust method and what replaces it."""

    owner: Any
    name: str
    build: Callable[[Callable[..., Any]], Callable[..., Any]]
    original: Callable[..., Any] = field(init=False)

    def __post_init__(self) -> None:
        current = getattr(self.owner, self.name)  # (the owner's own, or one it inherits)
        # (a module reloaded in a process where it was applied already)
        self.original = getattr(current, "__wirewatch_original__", current)

    def apply(self) -> None:
        if getattr(self.owner, self.name) is not self.original:
            return
        replacement = self.build(self.original)
        replacement.__wirewatch_original__ = self.original  # type: ignore[attr-defined]
        replacement.__doc__ = self.build.__doc__
        setattr(self.owner, self.name, replacement)


_thread: Any = faust_aiokafka.AIOKafkaConsumerThread
REPLACEMENTS = {
    "fetch_wait": Replacement(_thread, "_create_worker_consumer", fetch_wait),
    "changelog_end": Replacement(_thread, "_highwaters", changelog_end_from_a_fetch),
    "active_partitions": Replacement(_thread, "_fetch_records", fetch_only_active_partitions),
    "flush": Replacement(faust_producer.ProducerBuffer, "flush", flush_drains),
    "holes": Replacement(faust_consumer.Consumer, "_add_gap", commit_past_empty_holes_only),
    "idempotence": Replacement(faust_aiokafka.Producer, "_settings_extra", idempotent_producer),
    "delivery": Replacement(faust_consumer.Consumer, "wait_first", eager_delivery),
}


def install(settings: Settings, bootstrap: str) -> None:
    """Apply every class-level replacement (once) and point them at ``settings``."""
    CONFIG.fetch_wait_ms = settings.consumer_fetch_wait_ms
    CONFIG.client_kwargs = kafka_client_kwargs(settings, bootstrap)
    CONFIG.idempotent = settings.idempotent
    for replacement in REPLACEMENTS.values():
        replacement.apply()
