"""The faust shell around the processor: topics, tables, agents, dead letters.

Agents only move messages: they decode, call one stage of
:class:`~wirewatch.processor.pipeline.Pipeline`, and send what it returns.
Any exception while handling one message sends that message to the
dead-letter topic with its origin, and processing goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from datetime import datetime
from typing import Any, cast

import faust
import orjson
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2
from faust.serializers import codecs
from faust.transport import consumer as faust_consumer
from faust.transport import producer as faust_producer
from faust.transport.drivers import aiokafka as faust_aiokafka
from pydantic import BaseModel, ValidationError

from .. import diagnostics, limits, metrics
from ..admin import faust_credentials, kafka_client_kwargs
from ..errors import ExtractFailed, MessageTooLarge, NotJSON, SchemaInvalid, error_code
from ..models import Claim, ContradictionAlert, DeadLetter, DedupVerdict, NewClaimAlert, RawStory, UniqueStory, utcnow
from ..offsets import log_end_offsets, offsets_held
from ..settings import Settings
from ..topics import Topics, TopicSpec
from .ledger import LedgerResult, store_route
from .nlp_pool import ExtractorPool
from .pipeline import Pipeline
from .watchdog import Continuity, Skip, Stall, Watchdog

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = limits.MAX_MESSAGE_BYTES  # decode cap = what the producers may send
DEADLETTER_PAYLOAD_CAP = 64 * 1024
# Window sweeps run in the event loop, so each does a bounded amount of work at a time:
# a sweep of a backlog (the first after a catch-up) held every stage for seconds.
LEDGER_EVICT_EVERY = 50  # claims between sweeps of places no new claim touched
LEDGER_EVICT_LIMIT = 200  # claims one ledger sweep drops at most (> EVERY, so it keeps up)
# Claims filed at a time: their alerts are sent together and acknowledged once, instead
# of one broker round trip per claim in an event loop shared with every other stage.
LEDGER_BATCH = 64
LEDGER_BATCH_SECONDS = 0.02  # longest a claim waits for others to fill a batch
# Raw stories decided at a time, for the same reason: one story at a time, dedup waited
# for each unique copy's ack, so a slow broker (a busy embedded one) capped it at 1/RTT.
DEDUP_BATCH = 64
DEDUP_BATCH_SECONDS = 0.02
DEDUP_EVICT_SECONDS = 60.0  # between sweeps of the dedup window (a quarter of the window if that is shorter)
DEDUP_EVICT_CHUNK = 100  # stories forgotten between two yields to the event loop
PROGRESS_EVERY_SECONDS = 30.0
# The embedded broker (Tansu) lists every stored batch of a partition on each fetch and
# gives up when the fetch's wait runs out: about this many batches per millisecond of
# wait on a 2-core machine (benchmarks/bench_broker.py).  A partition past it can no
# longer be read.  Records >= batches, so a warning by records comes early.
EMBEDDED_BATCHES_PER_WAIT_MS = 1_000
DRAIN_TIMEOUT_SECONDS = 30.0  # producer buffer drain before an offset commit


def _patch_faust(settings: Settings, bootstrap: str) -> None:
    """Six faust behaviours that hurt here, changed in one place.

    - faust hard-codes ``fetch_max_wait_ms=1500`` for its consumer; brokers that
      hold long-polls until the wait expires (Tansu) then cap throughput and add
      seconds of latency to every stage.  Not much shorter either: Tansu also
      gives up listing a partition's batches when the wait runs out.
    - faust only makes producers idempotent inside transactions; we want an
      idempotent ``acks=all`` producer on a real Kafka without exactly-once.
    - faust trusts ListOffsets for the end of a changelog; the embedded broker
      answers it short (see :mod:`wirewatch.offsets`).
    - faust's producer-buffer flush before an offset commit may return with
      table changelog writes still queued.
    - faust's fetch may drain records of paused stream partitions, then drop
      them, right after table recovery.
    - faust takes any hole in the offsets it hands to a stream for records that
      need no ack (transaction markers, compaction) and commits past it, even
      when the hole is records it dropped itself.
    """
    wait_ms = settings.consumer_fetch_wait_ms
    thread_cls: Any = faust_aiokafka.AIOKafkaConsumerThread
    if not getattr(thread_cls, "_wirewatch_patched", False):
        original = thread_cls._create_worker_consumer

        def _create_worker_consumer(self: Any, transport: Any) -> Any:
            consumer = original(self, transport)
            consumer._fetch_max_wait_ms = thread_cls._wirewatch_wait_ms
            return consumer

        thread_cls._create_worker_consumer = _create_worker_consumer
        thread_cls._wirewatch_patched = True
    thread_cls._wirewatch_wait_ms = wait_ms

    # Changelog recovery reads up to the "highwater" from ListOffsets, which the
    # embedded broker reports short after multi-record batches (see offsets.py):
    # take the end from a fetch so a restarted worker recovers every record.
    if not getattr(thread_cls, "_wirewatch_highwaters_patched", False):
        listed_highwaters = thread_cls._highwaters

        async def _highwaters(self: Any, partitions: list[Any]) -> Any:
            listed = await listed_highwaters(self, partitions)
            if self.consumer.in_transaction or not partitions:
                return listed
            try:
                fetched = await log_end_offsets(thread_cls._wirewatch_client_kwargs, partitions)
            except (KafkaError, TimeoutError) as exc:
                log.warning("changelog ends from a fetch unavailable (%s); using ListOffsets", exc)
                return listed
            return {tp: max(listed.get(tp) or 0, fetched.get(tp, 0)) for tp in partitions}

        thread_cls._highwaters = _highwaters
        thread_cls._wirewatch_highwaters_patched = True
    thread_cls._wirewatch_client_kwargs = kafka_client_kwargs(settings, bootstrap)

    # faust hands the consumer thread its *live* set of active partitions.  When
    # table recovery ends it pauses the changelogs before it resumes the stream
    # partitions, so the set can be empty by the time the thread runs the fetch;
    # aiokafka reads an empty set as "every partition" and hands over the records
    # it buffered for the (still paused) stream partitions.  faust drops them as
    # inactive, and with no committed offset yet its seek-to-committed leaves the
    # fetch position past them: the worker never sees them (a wedge until the
    # group first commits).  Fetch only what was active when the thread runs.
    if not getattr(thread_cls, "_wirewatch_fetch_patched", False):
        fetch_records = thread_cls._fetch_records

        async def _fetch_records(self: Any, consumer: Any, active_partitions: Any,
                                 timeout: float | None = None, max_records: int | None = None) -> Any:
            if active_partitions is not None:
                active_partitions = frozenset(active_partitions)
                if not active_partitions:
                    return {}
            return await fetch_records(self, consumer, active_partitions, timeout=timeout, max_records=max_records)

        thread_cls._fetch_records = _fetch_records
        thread_cls._wirewatch_fetch_patched = True

    # faust flushes its producer before committing offsets, but its buffer's flush
    # gives up after 0.1 s without a send: under load a table's changelog writes
    # could still be queued when the offset is committed, and a crash then loses
    # them.  Drain the buffer for real (bounded by the request timeout).
    buffer_cls: Any = faust_producer.ProducerBuffer
    if not getattr(buffer_cls, "_wirewatch_patched", False):
        async def _drain(self: Any) -> None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + DRAIN_TIMEOUT_SECONDS
            while self.size:
                if self.state != "running":
                    raise RuntimeError("cannot flush: producer not running")
                if loop.time() > deadline:
                    raise TimeoutError(f"{self.size} changelog/output messages unsent after "
                                       f"{DRAIN_TIMEOUT_SECONDS:g}s")
                self.message_sent.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.message_sent.wait(), timeout=0.1)

        buffer_cls.flush = _drain
        buffer_cls._wirewatch_patched = True

    # A hole in the offsets handed to a stream may be records that need no ack, or
    # records faust dropped (or will hand over again after a seek).  Ask the broker:
    # only a hole that holds no records may be committed past.
    consumer_cls: Any = faust_consumer.Consumer
    if not getattr(consumer_cls, "_wirewatch_gap_patched", False):
        add_gap = consumer_cls._add_gap

        async def _add_gap(self: Any, tp: Any, offset_from: int, offset_to: int) -> None:
            # faust passes the first offset it missed and the offset of the record that
            # just arrived (which it marks too): the hole is offset_from..offset_to - 1.
            try:
                held = await offsets_held(thread_cls._wirewatch_client_kwargs, tp, offset_from, offset_to)
            except (KafkaError, TimeoutError) as exc:
                log.warning("%s[%s]@%d..%d: cannot tell a hole from records not yet handled (%s); "
                            "not committing past it", tp.topic, tp.partition, offset_from, offset_to - 1, exc)
                return
            if held:
                log.debug("%s[%s]@%d..%d: records not handed to the stream in order; not committing past them",
                          tp.topic, tp.partition, offset_from, offset_to - 1)
                return
            await add_gap(self, tp, offset_from, offset_to)

        consumer_cls._add_gap = _add_gap
        consumer_cls._wirewatch_gap_patched = True

    producer_cls: Any = faust_aiokafka.Producer
    idempotent = settings.idempotent

    def _settings_extra(self: Any) -> dict[str, Any]:
        if idempotent or self.app.in_transaction:
            return {"acks": "all", "enable_idempotence": True}
        return {"acks": "all"}

    producer_cls._settings_extra = _settings_extra


def _keep_queued_events(flow: Any) -> None:
    """Make resuming an already flowing app leave the stream queues alone.

    faust resumes flow once to read the changelogs, then, once they are read, resumes
    the stream partitions, seeks them to their committed offsets, and resumes flow
    again.  Records fetched in between are in the stream queues by then, and every
    resume clears those queues: they were dropped without a trace (nothing acked, the
    read offset past them), and the worker never handled them until it restarted.
    Clearing is for events queued before a rebalance, when flow was suspended.
    """
    resume = flow.resume

    def _resume() -> None:
        if flow.is_active():
            return
        resume()

    flow.resume = _resume


def decode(model: type[BaseModel], value: bytes | None) -> Any:
    """bytes -> model, with the stable error classes the dead-letter topic records."""
    if value is None:
        raise NotJSON("empty message")
    if len(value) > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(f"message of {len(value)} bytes is over the {MAX_MESSAGE_BYTES} byte cap")
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise NotJSON(f"not JSON: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "(root)"
        raise SchemaInvalid(f"invalid {model.__name__}: {where}: {first.get('msg')}") from None


class LedgerTable(faust.Table):
    """The ledger's table: a store key's changelog partition is its ledger key's claims partition.

    Store keys extend the ledger key ('place:aleppo/c/<claim id>', see ledger.py) and the
    table serializes keys as JSON, so faust's own partitioner would spread one place's
    records over other partitions than its claims: after a rebalance, the worker taking
    over a claims partition would recover the wrong records.  The partition is the one
    the producer's default partitioner gives the claims topic's raw key.
    """

    def partition_for_key(self, key: Any) -> int | None:
        n = self.partitions or self.app.conf.topic_partitions
        key = str(key)
        if "/" not in key:
            # A version-1 entry (one value per ledger key) sits where faust's partitioner put
            # its JSON key; the ledger deletes it there once it has rewritten it as records.
            return _default_partition(codecs.dumps("json", key), n)
        return _default_partition(store_route(key).encode(), n)


def _default_partition(key: bytes, partitions: int) -> int:
    """The partition the Kafka producers' default partitioner (murmur2) gives ``key``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


_DELETED = object()


async def _acknowledged(futures: Sequence[Awaitable[Any]]) -> None:
    """Wait for every send; raise the first failure (after all are done, so none is left
    with an exception nobody retrieved)."""
    for outcome in await asyncio.gather(*futures, return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome


class StagedStore(MutableMapping[str, Any]):
    """A table seen through a write buffer that is applied only by :meth:`commit`.

    Dedup and the ledger write their state while deciding; the agent commits it
    only after what they decided (a unique story, an alert) is acknowledged by
    the broker.  A worker killed in between then re-decides the same way after a
    restart (same deterministic ids) instead of remembering a decision whose
    output was never sent.
    """

    def __init__(self, table: MutableMapping[str, Any]) -> None:
        self.table = table
        self.pending: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key in self.pending:
            value = self.pending[key]
            if value is _DELETED:
                raise KeyError(key)
            return value
        return self.table[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.pending[key] = value

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self.pending[key] = _DELETED

    def __contains__(self, key: object) -> bool:
        if key in self.pending:
            return self.pending[key] is not _DELETED
        return key in self.table

    def __iter__(self) -> Iterator[str]:
        for key in self.table:
            if key not in self.pending:
                yield key
        for key, value in list(self.pending.items()):
            if value is not _DELETED:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def commit(self) -> None:
        pending, self.pending = self.pending, {}
        for key, value in pending.items():
            if value is _DELETED:
                self.table.pop(key, None)
            else:
                self.table[key] = value

    def rollback(self) -> None:
        self.pending = {}

    def savepoint(self) -> dict[str, Any]:
        """What is staged now, for :meth:`rollback_to` (a copy: later writes do not change it)."""
        return dict(self.pending)

    def rollback_to(self, savepoint: dict[str, Any]) -> None:
        self.pending = dict(savepoint)


class WirewatchApp:
    """A faust app wired to a :class:`Pipeline`.

    ``extra_tasks`` are coroutines run as app tasks; `wirewatch run` uses that to
    run the poller in the same process.
    """

    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        *,
        pipeline_factory: Callable[[Any, Any], Pipeline] | None = None,
        extra_tasks: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        _patch_faust(settings, bootstrap)
        self.settings = settings
        # built once: with TLS this reads certificate files
        self._client_kwargs = kafka_client_kwargs(settings, bootstrap)
        # faust creates its datadir without parents
        (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
        self.topics = Topics(settings.topic_prefix, settings.topic_partitions)
        embedded = settings.embedded
        self.app = faust.App(
            settings.app_id,
            broker=[f"kafka://{hp.strip()}" for hp in bootstrap.split(",") if hp.strip()],
            broker_credentials=faust_credentials(settings),
            store=settings.store,
            datadir=str(settings.data_dir / "faust"),
            topic_partitions=settings.topic_partitions,
            topic_replication_factor=settings.kafka_replication_factor,
            topic_allow_declare=True,
            consumer_auto_offset_reset="earliest",
            producer_acks=-1,
            producer_max_request_size=limits.MAX_MESSAGE_BYTES,  # faust's default is 1,000,000
            # Tansu waits the whole rebalance timeout before completing a join;
            # a real Kafka keeps its usual, safer timeouts.
            broker_rebalance_timeout=settings.rebalance_timeout,
            broker_session_timeout=settings.session_timeout,
            broker_heartbeat_interval=min(3.0, settings.session_timeout / 5),
            broker_request_timeout=30.0 if embedded else 90.0,
            broker_commit_interval=1.0,
            web_enabled=False,
            table_cleanup_interval=60.0,
            key_serializer="raw",
            value_serializer="raw",
        )
        _keep_queued_events(self.app.flow_control)
        t = self.topics
        self.raw_topic = self._topic(t.raw)
        self.unique_topic = self._topic(t.unique)
        self.claims_topic = self._topic(t.claims)
        self.updates_topic = self._topic(t.claim_updates)
        self.new_claim_topic = self._topic(t.new_claim)
        self.contradiction_topic = self._topic(t.contradiction)
        self.deadletter_topic = self._topic(t.deadletter)
        # Tables are co-partitioned with the topic whose agent writes them.  Writes
        # find their changelog partition from the key, so the eviction timer may delete
        # outside stream iteration: dedup's topic has one partition (use_partitioner),
        # and a ledger record lands on its ledger key's claims partition (LedgerTable).
        self.dedup_table = self.app.Table("dedup", default=None, partitions=t.raw.partitions,
                                          use_partitioner=True)
        self.ledger_table = LedgerTable(self.app, name="ledger", default=None, beacon=self.app.tables.beacon,
                                        partitions=t.claims.partitions)
        self.app.tables.add(self.ledger_table)
        # With NLP worker processes the model is loaded there, not in this process.
        in_process_nlp = settings.nlp_workers <= 1
        factory = pipeline_factory or (
            lambda dstore, lstore: Pipeline(settings, dedup_store=dstore, ledger_store=lstore,
                                            load_extractor=in_process_nlp)
        )
        self.dedup_store = StagedStore(self.dedup_table)
        self.ledger_store = StagedStore(self.ledger_table)
        self.pipeline = factory(self.dedup_store, self.ledger_store)
        self.nlp = ExtractorPool(settings.nlp_workers, model=settings.nlp_model,
                                 extractor=lambda: self.pipeline.extractor)
        self._ledger_clock: datetime | None = None
        self._ledger_seen = 0
        # Held from a dedup decision to its commit: the eviction timer commits its own
        # writes, and must not commit a decision whose unique story is not yet acknowledged.
        self._dedup_lock = asyncio.Lock()
        self._handled = dict.fromkeys(("dedup", "extract", "ledger"), 0)
        self.watchdog = Watchdog(settings.processor_stall_seconds)
        self.continuity = Continuity()
        # what to do on a stall or a confirmed skip besides logging (`wirewatch processor`: restart)
        self.on_stall: Callable[[Stall], None] | None = None
        self.on_skip: Callable[[Skip], None] | None = None
        self._last_progress: tuple[int, ...] = ()
        self._deep_warned: set[Any] = set()  # embedded-broker partitions already warned about
        self._register_agents()
        metrics.install_faust_sensor(self.app, topics=[spec.name for spec in self.topics])

        @self.app.on_rebalance_complete.connect  # type: ignore[arg-type]
        async def _rebuild_caches(app: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
            # The tables were recovered from their changelogs; the in-memory near-duplicate
            # index and the ledger's per-key view are rebuilt from them on next use.
            self.pipeline.dedup.reload()
            self.pipeline.ledger.reload()
            self.watchdog.reset()
            self.continuity.reset()
            log.info("ready: own %s; tables recovered (dedup %d keys, ledger %d keys)",
                     self.describe_assignment(), len(self.dedup_table), len(self.ledger_table))
        @self.app.on_partitions_revoked.connect  # type: ignore[arg-type]
        async def _revoked(app: Any, revoked: Any = None, **kwargs: Any) -> None:
            # Processing pauses until the group settles and tables are recovered again.
            self.continuity.reset()
            if revoked:
                log.info("rebalance: %d partitions revoked; pausing until reassigned", len(revoked))

        for task in extra_tasks:
            self.app.task(task)

    def _topic(self, spec: TopicSpec) -> faust.TopicT:
        return self.app.topic(spec.name, partitions=spec.partitions, key_type=bytes, value_type=bytes,
                              key_serializer="raw", value_serializer="raw", internal=False)

    # ------------------------------------------------------------------ agents
    def _register_agents(self) -> None:
        app = self.app

        # Each stage works in batches; every output of a batch is acknowledged by the
        # broker before the batch's events are (see _batches).
        @app.agent(self.raw_topic, name="wirewatch.dedup")
        async def dedup(stream: faust.StreamT) -> None:
            await self._batches(stream, DEDUP_BATCH, DEDUP_BATCH_SECONDS, self._dedup_batch)

        @app.agent(self.unique_topic, name="wirewatch.extract")
        async def extract(stream: faust.StreamT) -> None:
            await self._batches(stream, self.settings.extract_batch_size, self.settings.extract_batch_seconds,
                                self._extract_batch)

        @app.agent(self.claims_topic, name="wirewatch.ledger")
        async def ledger(stream: faust.StreamT) -> None:
            await self._batches(stream, LEDGER_BATCH, LEDGER_BATCH_SECONDS, self._ledger_batch)

        @app.timer(interval=5.0)
        async def consumer_lag() -> None:
            self.update_consumer_lag()

        @app.timer(interval=max(1.0, min(DEDUP_EVICT_SECONDS, self.settings.dedup_window_days * 86400 / 4)))
        async def evict() -> None:
            await self.evict_dedup(utcnow())

        @app.timer(interval=PROGRESS_EVERY_SECONDS)
        async def progress() -> None:
            self.log_progress()

        @app.timer(interval=10.0)
        async def watchdog() -> None:
            await self.check_stall()

    async def _batches(self, stream: faust.StreamT, size: int, within: float,
                       handle: Callable[[Sequence[faust.EventT]], Awaitable[None]]) -> None:
        """Hand the stream's events to ``handle`` up to ``size`` at a time, waiting at most
        ``within`` seconds to fill a batch.

        take_events acks a batch's events when this loop asks for the next batch, that is
        after ``handle`` returned: a worker killed mid-batch re-reads the whole batch after
        a restart.
        """
        take = cast(faust.Stream, stream).take_events  # (StreamT does not declare it)
        async for events in take(size, within=within):
            self.watchdog.started()  # a long batch (NLP) is work, not a stall
            try:
                await handle(events)
            finally:
                self.watchdog.finished()

    def describe_assignment(self) -> str:
        """``raw[0] unique[0,1] ...`` for the stage topics this worker consumes."""
        consumer: Any = self.app.consumer
        owned: dict[str, list[int]] = {}
        try:
            for tp in consumer.assignment():
                owned.setdefault(tp.topic, []).append(tp.partition)
        except Exception:  # no consumer yet
            return "nothing yet"
        parts = [f"{spec.name}{sorted(owned[spec.name])}" for spec in (self.topics.raw, self.topics.unique,
                                                                       self.topics.claims) if spec.name in owned]
        return " ".join(parts) or "no stage partitions"

    async def check_stall(self) -> Stall | None:
        """Once quiet for the stall period: are records waiting on partitions this worker owns?"""
        if not self.watchdog.due():
            return None
        consumer: Any = self.app.consumer
        stage_topics = {spec.name for spec in (self.topics.raw, self.topics.unique, self.topics.claims)}
        try:
            owned = [tp for tp in consumer.assignment() if tp.topic in stage_topics]
            ends = await log_end_offsets(self._client_kwargs, owned)
        except Exception as exc:  # the check is best effort; a broker hiccup is not a stall
            log.debug("stall check skipped: %s", exc)
            return None
        read = consumer._read_offset  # faust's last offset handed to a stream, per partition
        committed = consumer._committed_offset
        next_offsets = {tp: (read[tp] + 1 if read.get(tp) is not None else committed.get(tp)) for tp in owned}
        stall = self.watchdog.judge(ends, next_offsets)
        self.watchdog.reset()  # look again only after another quiet period
        if stall is None:
            return None
        metrics.PROCESSOR_STALLS.inc()
        log.error("processor stalled: %s; where its tasks wait:\n%s", stall.describe(), diagnostics.dump_tasks())
        if self.on_stall is not None:
            self.on_stall(stall)
        return stall

    async def check_continuity(self, event: faust.EventT) -> Skip | None:
        """Notice records the consumer moved past without handing them to this agent."""
        msg = event.message
        skip = self.continuity.see(msg.tp, msg.offset)
        if skip is None:
            return None
        try:
            held = await offsets_held(self._client_kwargs, msg.tp, skip.expected, skip.got)
        except (KafkaError, TimeoutError) as exc:
            log.warning("%s; cannot ask the broker whether they hold records (%s)", skip.describe(), exc)
            return None
        if not held:
            return None  # transaction markers or compaction: nothing to handle there
        metrics.PROCESSOR_SKIPS.labels(topic=msg.topic).inc(len(held))
        log.error("%s; they are not committed and are read again after a restart", skip.describe())
        if self.on_skip is not None:
            self.on_skip(skip)
        return skip

    def log_progress(self) -> None:
        """One INFO line when anything moved since the last one, so a log shows a live worker."""
        counts = tuple(self._handled[s] for s in ("dedup", "extract", "ledger"))
        if counts == self._last_progress:
            return
        self._last_progress = counts
        log.info("processed: dedup %d, extract %d, ledger %d messages; own %s", *counts,
                 self.describe_assignment())

    def update_consumer_lag(self) -> None:
        """Messages not yet read on the stage topics this worker owns (0 for the others)."""
        consumer: Any = self.app.consumer
        lag = dict.fromkeys((t.name for t in (self.topics.raw, self.topics.unique, self.topics.claims)), 0)
        try:
            for tp in consumer.assignment():
                if tp.topic not in lag:
                    continue
                highwater = consumer.highwater(tp)
                read = consumer._read_offset.get(tp)
                if highwater is not None:
                    lag[tp.topic] += max(0, highwater - (read + 1 if read is not None else 0))
                    self._warn_if_deep(tp, highwater)
        except Exception as exc:  # lag is best effort: never take a worker down for it
            log.debug("consumer lag unavailable: %s", exc)
            return
        for topic, n in lag.items():
            metrics.CONSUMER_LAG.labels(topic=topic).set(n)

    def _warn_if_deep(self, tp: Any, records: int) -> None:
        """Once per partition: warn when an embedded broker's partition is half way to
        holding more batches than a fetch can list."""
        if not self.settings.embedded or tp in self._deep_warned:
            return
        wait_ms = self.settings.consumer_fetch_wait_ms
        limit = EMBEDDED_BATCHES_PER_WAIT_MS * wait_ms
        if records < limit // 2:
            return
        self._deep_warned.add(tp)
        log.warning("%s[%s] holds %s records on the embedded broker, which lists every stored batch on each "
                    "fetch and cannot answer one past about %s batches at WIREWATCH_CONSUMER_FETCH_WAIT_MS=%s; "
                    "restart `wirewatch run` (the embedded broker keeps nothing) or use a Kafka cluster",
                    tp.topic, tp.partition, f"{records:,}", f"{limit:,}", wait_ms)

    def _count(self, stage: str) -> None:
        metrics.STAGE_MESSAGES.labels(stage=stage).inc()
        self._handled[stage] += 1

    async def _failed(self, stage: str, event: faust.EventT, exc: BaseException) -> None:
        """Log one message's failure and send it to the dead-letter topic."""
        msg = event.message
        code = error_code(exc)
        if code == "internal" and not isinstance(exc, ExtractFailed):
            log.exception("%s[%s]@%s: %s failed", msg.topic, msg.partition, msg.offset, stage, exc_info=exc)
        else:
            log.warning("%s[%s]@%s: %s: %s", msg.topic, msg.partition, msg.offset, code, exc)
        await self.dead_letter(stage, event, exc)

    async def dead_letter(self, stage: str, event: faust.EventT, exc: BaseException) -> None:
        msg = event.message
        raw = event.value if isinstance(event.value, bytes | bytearray) else repr(event.value).encode()
        key = msg.key.decode("utf-8", "replace") if isinstance(msg.key, bytes | bytearray) else None
        code = error_code(exc)
        letter = DeadLetter(
            origin_topic=msg.topic,
            origin_partition=msg.partition,
            origin_offset=msg.offset,
            origin_key=key,
            stage=stage,
            error_class=code,
            error=str(exc)[:2000] or type(exc).__name__,
            payload=bytes(raw[:DEADLETTER_PAYLOAD_CAP]).decode("utf-8", "replace"),
            payload_truncated=len(raw) > DEADLETTER_PAYLOAD_CAP,
            failed_at=utcnow(),
        )
        headers = {
            "wirewatch-origin-topic": msg.topic.encode(),
            "wirewatch-origin-partition": str(msg.partition).encode(),
            "wirewatch-origin-offset": str(msg.offset).encode(),
            "wirewatch-error-class": code.encode(),
            "wirewatch-error": str(exc)[:500].encode("utf-8", "replace"),
        }
        metrics.DEAD_LETTERS.labels(stage=stage, error_class=code).inc()
        await self.deadletter_topic.send(key=msg.topic.encode(), value=letter.to_json_bytes(), headers=headers)

    async def evict_dedup(self, now: datetime) -> int:
        """Forget the stories that left the dedup window, a chunk at a time, yielding to
        the event loop between chunks; returns how many."""
        total = 0
        while True:
            async with self._dedup_lock:
                with metrics.SWEEP_SECONDS.labels(stage="dedup").time():
                    n = self.pipeline.dedup.evict(now, limit=DEDUP_EVICT_CHUNK)
                    self.dedup_store.commit()
            total += n
            if n < DEDUP_EVICT_CHUNK:
                return total
            await self._changelog_drained()

    async def _changelog_drained(self) -> None:
        """Wait until the producer buffer is back to faust's own bound (or the drain
        timeout passed).  A sweep step's deletions go to the table changelogs through that
        buffer: thousands of them at once queued every stage's sends behind them."""
        buffer = self.app.producer.buffer
        deadline = asyncio.get_running_loop().time() + DRAIN_TIMEOUT_SECONDS
        await asyncio.sleep(0)
        while buffer.size > buffer.max_messages and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)

    async def _dedup_batch(self, events: Sequence[faust.EventT]) -> None:
        """Decide a batch of raw stories in order, send their unique copies, and commit
        dedup's writes once the broker has acknowledged every copy.

        A story that cannot be decoded or decided is dead-lettered alone (its staged
        writes undone).  If a send fails, the batch's writes are rolled back and its
        stories are decided again one at a time, so only the story whose copy cannot be
        sent is dead-lettered, and none is remembered without its copy.
        """
        decided: list[tuple[faust.EventT, RawStory, DedupVerdict]] = []
        acking = False
        async with self._dedup_lock:  # from the first decision to the commit (see evict_dedup)
            try:
                pending: list[Awaitable[Any]] = []
                for event in events:
                    self._count("dedup")
                    await self.check_continuity(event)
                    try:
                        raw = decode(RawStory, event.value)
                    except Exception as exc:  # nothing written yet: no rollback, no reload
                        await self._failed("dedup", event, exc)
                        continue
                    mark = self.dedup_store.savepoint()
                    try:
                        verdict, unique = self.pipeline.dedup_stage(raw)
                        if unique is not None:
                            pending.append(await self.unique_topic.send(key=raw.story_id.encode(),
                                                                        value=unique.to_json_bytes()))
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:
                        self.dedup_store.rollback_to(mark)
                        self.pipeline.dedup.reload()  # its cache had seen the undone writes
                        await self._failed("dedup", event, exc)
                        continue
                    decided.append((event, raw, verdict))
                acking = True
                await _acknowledged(pending)  # every copy acknowledged before dedup remembers its story
            except BaseException as exc:  # nothing of the batch stays staged
                self.dedup_store.rollback()
                self.pipeline.dedup.reload()
                if not (acking and isinstance(exc, Exception)):
                    # cancelled, or the dead-letter topic failed: the agent stops without
                    # acking the batch, which is read again after a restart
                    raise
                retry = True  # a refused copy
            else:
                self.dedup_store.commit()
                retry = False
        if retry:
            await self._one_by_one("dedup", [event for event, _, _ in decided], self._dedup_one)
            return
        for event, raw, verdict in decided:
            self._trace(event, raw, verdict)

    async def _one_by_one(self, stage: str, events: Sequence[faust.EventT],
                          handle: Callable[[faust.EventT], Awaitable[None]]) -> None:
        """A failed batch's retry: each event on its own, a failure dead-lettered alone."""
        for event in events:
            try:
                await handle(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._failed(stage, event, exc)

    async def _dedup_one(self, event: faust.EventT) -> None:
        """Decide one story and commit once its unique copy is acknowledged (a failed batch's retry)."""
        raw = decode(RawStory, event.value)
        async with self._dedup_lock:
            try:
                # a story dedup fails on leaves none of its writes staged for the next commit
                verdict, unique = self.pipeline.dedup_stage(raw)
                if unique is not None:
                    sent = await self.unique_topic.send(key=raw.story_id.encode(), value=unique.to_json_bytes())
                    await sent  # acknowledged before dedup remembers the story
            except BaseException:
                self.dedup_store.rollback()
                self.pipeline.dedup.reload()
                raise
            self.dedup_store.commit()
        self._trace(event, raw, verdict)

    @staticmethod
    def _trace(event: faust.EventT, raw: RawStory, verdict: DedupVerdict) -> None:
        if log.isEnabledFor(logging.DEBUG):  # a per-story trail, for tracing a story through restarts
            msg = event.message
            log.debug("%s[%s]@%s: %s %s%s", msg.topic, msg.partition, msg.offset, raw.story_id, verdict.status,
                      f" of {verdict.duplicate_of_id} ({verdict.kind})" if verdict.duplicate_of_id else "")

    async def _extract_batch(self, events: Sequence[faust.EventT]) -> None:
        """Extract a batch of unique stories in one NLP call and send their claims.

        Returns only when every claim is acknowledged by the broker (or its story is
        dead-lettered), so the caller may then ack the events.  A story that fails, in
        decoding, in NLP or in sending, is dead-lettered alone.
        """
        todo: list[tuple[faust.EventT, UniqueStory]] = []
        for event in events:
            self._count("extract")
            await self.check_continuity(event)
            try:
                todo.append((event, decode(UniqueStory, event.value)))
            except Exception as exc:
                await self._failed("extract", event, exc)
        # spaCy holds the CPU for tens of ms a story: off the event loop (worker processes,
        # or a thread) so the consumer, the producer and the other agents keep going.
        batch = await self.nlp.extract([unique for _, unique in todo])
        self.pipeline.record_extract(batch)
        sent: list[tuple[faust.EventT, list[Awaitable[Any]]]] = []
        for (event, unique), result in zip(todo, batch.results, strict=True):
            if isinstance(result, ExtractFailed):
                await self._failed("extract", event, result)
                continue
            try:
                futures = []
                for claim in result:
                    claim.fetched_at = unique.story.fetched_at
                    futures.append(await self.claims_topic.send(key=self.pipeline.key_of(claim).encode(),
                                                                value=claim.to_json_bytes()))
                sent.append((event, futures))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._failed("extract", event, exc)
        for event, futures in sent:
            try:
                for fut in futures:
                    await fut
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._failed("extract", event, exc)

    def start_nlp(self) -> None:
        """Start the NLP worker processes and wait for their models (before the faust worker)."""
        self.nlp.start()

    def close(self) -> None:
        """Stop the NLP worker processes (the worker has stopped)."""
        self.nlp.close()

    async def _ledger_batch(self, events: Sequence[faust.EventT]) -> None:
        """File a batch of claims, send what they raise, and commit the ledger's writes
        once the broker has acknowledged all of it.

        A claim that cannot be decoded or filed is dead-lettered alone (its staged writes
        undone).  If a send fails, the batch's writes are rolled back and its claims are
        filed again one at a time, so only the claim whose alert cannot be sent is
        dead-lettered, and none is remembered without its alerts.
        """
        clock, seen = self._ledger_clock, self._ledger_seen  # for a retry one at a time
        filed: list[tuple[faust.EventT, LedgerResult]] = []
        for event in events:
            self._count("ledger")
            await self.check_continuity(event)
            try:
                filed.append((event, self._file(event)))
            except Exception as exc:
                await self._failed("ledger", event, exc)
        try:
            # every alert acknowledged before the ledger remembers its claim
            await _acknowledged([fut for _, result in filed for fut in await self._publish(result)])
        except BaseException as exc:
            self.ledger_store.rollback()
            self.pipeline.ledger.reload()  # its view of the store included the rolled-back writes
            if not isinstance(exc, Exception):
                raise  # cancelled: the batch is read again after a restart
            self._ledger_clock, self._ledger_seen = clock, seen
            await self._one_by_one("ledger", [event for event, _ in filed], self._ledger_one)
            return
        self.ledger_store.commit()

    def _file(self, event: faust.EventT) -> LedgerResult:
        """Decode one claim and file it in the ledger (staged); undo its writes if that fails."""
        claim = decode(Claim, event.value)
        if self._ledger_clock is None or claim.published > self._ledger_clock:
            self._ledger_clock = min(claim.published, utcnow())
        self._ledger_seen += 1
        mark = self.ledger_store.savepoint()
        try:
            if self._ledger_seen % LEDGER_EVICT_EVERY == 0:
                # In the stream, by the claims' own clock: the ledger's state then depends
                # only on the order of claims, so a restarted worker decides as a clean one.
                with metrics.SWEEP_SECONDS.labels(stage="ledger").time():
                    self.pipeline.ledger.evict(self._ledger_clock, limit=LEDGER_EVICT_LIMIT)
            return self.pipeline.ledger_stage(claim)
        except BaseException:
            self.ledger_store.rollback_to(mark)
            self.pipeline.ledger.reload()
            raise

    async def _publish(self, result: LedgerResult) -> list[Awaitable[Any]]:
        """Send one claim's corroboration updates and alerts; the broker's acks, to await."""
        pending = [await self.updates_topic.send(key=u.ledger_key.encode(), value=u.to_json_bytes())
                   for u in result.updates]
        pending += [await self.publish_alert(alert) for alert in result.alerts]
        return pending

    async def _ledger_one(self, event: faust.EventT) -> None:
        """File one claim and commit once its alerts are acknowledged (a failed batch's retry)."""
        result = self._file(event)
        try:
            await _acknowledged(await self._publish(result))
        except BaseException:
            self.ledger_store.rollback()
            self.pipeline.ledger.reload()
            raise
        self.ledger_store.commit()

    async def publish_alert(self, alert: NewClaimAlert | ContradictionAlert) -> Awaitable[Any]:
        topic = self.new_claim_topic if alert.type == "new_claim" else self.contradiction_topic
        sent = await topic.send(key=alert.ledger_key.encode(), value=alert.to_json_bytes(),
                                headers={"wirewatch-alert-id": alert.alert_id.encode()})
        metrics.ALERTS.labels(type=alert.type).inc()
        now = utcnow()
        metrics.FRESHNESS_PUBLISHED.labels(type=alert.type).observe(
            max(0.0, (now - alert.claim.published).total_seconds()))
        if alert.claim.fetched_at is not None:
            metrics.FRESHNESS_FETCHED.labels(type=alert.type).observe(
                max(0.0, (now - alert.claim.fetched_at).total_seconds()))
        return sent
