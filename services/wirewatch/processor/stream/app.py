"""The faust shell around the processor: topics, tables, agents, timers.

Each agent hands its stream's events, a batch at a time, to a
:class:`~wirewatch.processor.stream.runner.StageRunner` over one stage of
:mod:`wirewatch.processor.stream.stages`; the ports it runs against are faust's here: a table
seen through a :class:`~wirewatch.processor.stream.staged.StagedStore`, the topics
(:class:`_TopicPublisher`) and the dead-letter topic.  faust's events are acked once the
runner returns, so a worker killed mid-batch reads the batch again after a restart.  The
rest is the shell's own watch on faust: the stall watchdog, the offset continuity check,
consumer lag and progress lines.  What wirewatch changes inside faust is in
:mod:`wirewatch.processor.stream.faust_patches`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import faust
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2
from faust.serializers import codecs

from ... import diagnostics, limits, metrics
from ...admin import faust_credentials, kafka_client_kwargs
from ...models import ContradictionAlert, NewClaimAlert, utcnow
from ...offsets import log_end_offsets, records_held, start_positions
from ...settings import Settings
from ...topics import Topics, TopicSpec
from ..ledger import store_route
from ..pipeline import Pipeline
from . import faust_patches
from .nlp_pool import ExtractorPool
from .runner import StageRunner
from .staged import StagedStore
from .stages import DEDUP_EVICT_CHUNK, DeadLetterTopic, DedupStage, ExtractStage, LedgerStage, trace_decision
from .types import Outbound, Record
from .watchdog import Continuity, Skip, Stall, Watchdog

if TYPE_CHECKING:
    from ..renewal import Renewal

log = logging.getLogger(__name__)

# Longest an input waits for others to fill a batch (batch sizes: see stages.py).
DEDUP_BATCH_SECONDS = 0.02
LEDGER_BATCH_SECONDS = 0.02
PRODUCER_LINGER_SECONDS = 0.005
DEDUP_EVICT_SECONDS = 60.0  # between sweeps of the dedup window (a quarter of the window if that is shorter)
PROGRESS_EVERY_SECONDS = 30.0
# The embedded broker (Tansu) lists every stored batch of a partition on each fetch and
# gives up when the fetch's wait runs out: about this many batches per millisecond of
# wait on a 2-core machine (benchmarks/bench_broker.py).  A partition past it can no
# longer be read.  Records >= batches, so a warning by records comes early.
EMBEDDED_BATCHES_PER_WAIT_MS = 1_000


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


class DedupTable(faust.Table):
    """The dedup table: with one partition (the raw topic has one), every write's changelog
    partition is 0.  faust hashes each key with aiokafka's pure-Python murmur2 to find it,
    ~4 % of the processor's CPU on a backlog of duplicates, where most inputs write a
    record or two and send nothing else."""

    def partition_for_key(self, key: Any) -> int | None:
        if (self.partitions or self.app.conf.topic_partitions) == 1:
            return 0
        return super().partition_for_key(key)


def _default_partition(key: bytes, partitions: int) -> int:
    """The partition the Kafka producers' default partitioner (murmur2) gives ``key``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


class _TopicPublisher:
    """The stage runners' publisher: a destination's messages go to its topic."""

    def __init__(self, app: faust.App, topics: dict[str, faust.TopicT]) -> None:
        self.app = app
        self.topics = topics

    async def send(self, message: Outbound) -> Awaitable[Any]:
        sent = await self.topics[message.dest].send(key=message.key.encode(), value=message.payload,
                                                    headers=message.headers)
        if isinstance(message.value, NewClaimAlert | ContradictionAlert):
            _observe_alert(message.value)
        return cast(Awaitable[Any], sent)

    async def drained(self) -> None:
        """Until faust's producer buffer is back to its own bound (or the drain timeout
        passed): a sweep step's deletions go to the table changelogs through that buffer,
        and thousands of them at once queued every stage's sends behind them."""
        buffer = self.app.producer.buffer
        loop = asyncio.get_running_loop()
        deadline = loop.time() + faust_patches.DRAIN_TIMEOUT_SECONDS
        while buffer.size > buffer.max_messages and loop.time() < deadline:
            await asyncio.sleep(0.01)


def _observe_alert(alert: NewClaimAlert | ContradictionAlert) -> None:
    metrics.ALERTS.labels(type=alert.type).inc()
    now = utcnow()
    metrics.FRESHNESS_PUBLISHED.labels(type=alert.type).observe(max(0.0, (now - alert.claim.published).total_seconds()))
    if alert.claim.fetched_at is not None:
        metrics.FRESHNESS_FETCHED.labels(type=alert.type).observe(
            max(0.0, (now - alert.claim.fetched_at).total_seconds()))


def _record(msg: Any, value: Any) -> Record:
    """A stage runner's input from a faust message or an aiokafka record (topic, partition,
    offset and key alike) and its value."""
    key = cast(bytes, msg.key) if isinstance(msg.key, bytes | bytearray) else None
    return Record(value, msg.topic, msg.partition, msg.offset, key)


class WirewatchApp:
    """A faust app wired to a :class:`Pipeline` through three stage runners.

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
        renewal: Renewal | None = None,
    ) -> None:
        faust_patches.install(settings, bootstrap)
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
            # Fewer, fuller batches (faust's default is 16 KiB and no linger: a story's
            # outputs and table writes left in several): the embedded broker lists every
            # stored batch on each fetch and spends ~4 KB of memory a batch besides its
            # bytes (benchmarks/README.md).  The linger adds at most this much to each hop.
            producer_max_batch_size=limits.MAX_BATCH_BYTES,
            producer_linger=PRODUCER_LINGER_SECONDS,
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
        faust_patches.keep_queued_events(self.app.flow_control)
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
        self.dedup_table = DedupTable(self.app, name="dedup", default=None, beacon=self.app.tables.beacon,
                                      partitions=t.raw.partitions, use_partitioner=True)
        self.app.tables.add(self.dedup_table)
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
                                 extractor=lambda: self.pipeline.extractor,
                                 max_sentences=settings.story_max_sentences)
        self.publisher = _TopicPublisher(self.app, {
            "unique": self.unique_topic, "claims": self.claims_topic, "claim_updates": self.updates_topic,
            "new_claim": self.new_claim_topic, "contradiction": self.contradiction_topic,
            "deadletter": self.deadletter_topic,
        })
        dead_letters = DeadLetterTopic(self.publisher)
        self.dedup = StageRunner(DedupStage(self.pipeline), store=self.dedup_store, publisher=self.publisher,
                                 dead_letters=dead_letters, on_commit=trace_decision)
        overflow = self.pipeline.overflow.on_commit  # a story's budgets: counted once committed
        self.extract = StageRunner(ExtractStage(self.pipeline, self.nlp.extract, settings.extract_batch_size),
                                   publisher=self.publisher, dead_letters=dead_letters, on_commit=overflow)
        self.ledger = StageRunner(LedgerStage(self.pipeline), store=self.ledger_store, publisher=self.publisher,
                                  dead_letters=dead_letters, on_commit=overflow)
        self._handled = dict.fromkeys(("dedup", "extract", "ledger"), 0)
        self.watchdog = Watchdog(settings.processor_stall_seconds)
        self.continuity = Continuity()
        # what to do on a stall, or on a hole the broker could not be asked about, besides
        # logging (`wirewatch processor`: restart)
        self.on_stall: Callable[[Stall], None] | None = None
        self.on_skip: Callable[[Skip], None] | None = None
        self._last_progress: tuple[int, ...] = ()
        self._deep_warned: set[Any] = set()  # embedded-broker partitions already warned about
        self._done: dict[Any, int] = {}  # per stage partition: the offset after the last input handled
        # `wirewatch run` on the embedded broker: moving to fresh topics before they get deep
        self.renewal = renewal
        self._register_agents()
        metrics.install_faust_sensor(self.app, topics=[spec.name for spec in self.topics])

        @self.app.on_rebalance_complete.connect  # type: ignore[arg-type]
        async def _rebuild_caches(app: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
            # The tables were recovered from their changelogs; the in-memory near-duplicate
            # index and the ledger's per-key view are rebuilt from them on next use.
            self.pipeline.reload()
            self.watchdog.reset()
            self.continuity.reset()
            if self.renewal is not None:
                await self.renewal.restore(self)  # a new generation's carried tables, once
            log.info("ready: own %s; tables recovered (dedup %d keys, ledger %d keys)",
                     self.describe_assignment(), len(self.dedup_table), len(self.ledger_table))
        @self.app.on_partitions_revoked.connect  # type: ignore[arg-type]
        async def _revoked(app: Any, revoked: Any = None, **kwargs: Any) -> None:
            # Processing pauses until the group settles and tables are recovered again.
            self.continuity.reset()
            if revoked:
                log.info("rebalance: %d partitions revoked; pausing until reassigned", len(revoked))

        # faust keeps a signal's receivers in the signal of its class, for every app ever made:
        # close() disconnects these, or a process that runs apps one after another
        # (`wirewatch run`'s renewals, the tests) would keep every old one and its tables.
        self._receivers = ((self.app.on_rebalance_complete, _rebuild_caches),
                           (self.app.on_partitions_revoked, _revoked))
        for task in extra_tasks:
            self.app.task(task)

    def _topic(self, spec: TopicSpec) -> faust.TopicT:
        return self.app.topic(spec.name, partitions=spec.partitions, key_type=bytes, value_type=bytes,
                              key_serializer="raw", value_serializer="raw", internal=False)

    # ------------------------------------------------------------------ agents
    def _register_agents(self) -> None:
        app = self.app

        @app.agent(self.raw_topic, name="wirewatch.dedup")
        async def dedup(stream: faust.StreamT) -> None:
            await self._batches(stream, self.dedup, DEDUP_BATCH_SECONDS)

        @app.agent(self.unique_topic, name="wirewatch.extract")
        async def extract(stream: faust.StreamT) -> None:
            await self._batches(stream, self.extract, self.settings.extract_batch_seconds)

        @app.agent(self.claims_topic, name="wirewatch.ledger")
        async def ledger(stream: faust.StreamT) -> None:
            await self._batches(stream, self.ledger, LEDGER_BATCH_SECONDS)

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

        if self.renewal is not None:
            renewal = self.renewal

            @app.timer(interval=self.settings.embedded_renew_check_seconds)
            async def renew() -> None:
                await renewal.tick(self)

    async def _batches(self, stream: faust.StreamT, runner: StageRunner, within: float) -> None:
        """Hand the stream's events to ``runner`` up to its stage's batch size at a time,
        waiting at most ``within`` seconds to fill a batch.

        take_events acks a batch's events when this loop asks for the next batch, that is
        after the runner returned: a worker killed mid-batch re-reads the whole batch after
        a restart.
        """
        stage = runner.stage.name
        handled = metrics.STAGE_MESSAGES.labels(stage=stage)
        see, knows = self.continuity.see, self.continuity.knows
        take = cast(faust.Stream, stream).take_events  # (StreamT does not declare it)
        async for events in take(runner.stage.batch_size, within=within):
            self.watchdog.started()  # a long batch (NLP) is work, not a stall
            try:
                records: list[Record] = []
                recovered: list[tuple[Any, Skip]] = []
                if new := {e.message.tp for e in events if not knows(e.message.tp)}:
                    await self._baselines(new)
                for event in events:
                    msg = event.message
                    skip = see(msg.tp, msg.offset)
                    if skip is not None and (held := await self._recover(msg.tp, skip)):
                        records += held  # ahead of the record that showed the hole: offset order
                        recovered.append((msg.tp, skip))
                    records.append(_record(msg, event.value))
                await runner.run(records)
                # Counted once done (their messages acknowledged), and per batch: in a burst of
                # duplicates per-event metric look-ups cost as much as a tenth of dedup's check.
                handled.inc(len(records))
                self._handled[stage] += len(records)
                for event in events:
                    self._done[event.message.tp] = event.message.offset + 1
                for tp, skip in recovered:  # handled: a commit may move past them now
                    await faust_patches.handled_beside_the_stream(self.app.consumer, tp, skip.expected, skip.got - 1)
            finally:
                self.watchdog.finished()

    async def evict_dedup(self, now: datetime) -> int:
        """Forget the stories that left the dedup window, a bounded step at a time; how many."""
        return await self.dedup.sweep(lambda limit: self.pipeline.evict_dedup(now, limit), DEDUP_EVICT_CHUNK)

    async def drained(self) -> bool:
        """Whether each stage has handled every record on the input partitions this worker
        owns (its messages acknowledged): what a renewal waits for before it moves on."""
        if any(r.lock.locked() for r in (self.dedup, self.extract, self.ledger)):
            return False
        consumer: Any = self.app.consumer
        inputs = self.input_topics()
        owned = [tp for tp in consumer.assignment() if tp.topic in inputs]
        ends = await log_end_offsets(self._client_kwargs, owned)
        return all(self._done.get(tp, 0) >= end for tp, end in ends.items())

    def input_topics(self) -> set[str]:
        return {spec.name for spec in (self.topics.raw, self.topics.unique, self.topics.claims)}

    def internal_topic_names(self) -> list[str]:
        """This app's topics that only wirewatch reads: the stage topics, the feeds, faust's."""
        t = self.topics
        return ([t.feeds.name, *sorted(self.input_topics())]
                + [table.changelog_topic.get_topic_name() for table in self.app.tables.values()]
                + [f"{self.app.conf.id}-__assignor-__leader"])

    def topic_names(self) -> list[str]:
        """Every topic of this app, its tables' changelogs included."""
        internal = self.internal_topic_names()
        return internal + [spec.name for spec in self.topics if spec.name not in internal]

    def start_nlp(self) -> None:
        """Start the NLP worker processes and wait for their models (before the faust worker)."""
        self.nlp.start()

    def close(self) -> None:
        """Stop the NLP worker processes and let go of faust's signals (the worker has stopped)."""
        self.nlp.close()
        for sig, receiver in self._receivers:
            sig.disconnect(receiver)

    # ------------------------------------------------------------------ watching faust
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

    async def _baselines(self, tps: set[Any]) -> None:
        """Where the consumer started each of ``tps`` after a rebalance, so that a hole
        before the first record handed over is seen too (best effort: without an answer,
        the first record is the baseline, as before)."""
        try:
            starts = await start_positions(self._client_kwargs, self.app.conf.id, tps)
        except (KafkaError, TimeoutError) as exc:
            log.debug("continuity baseline of %s not read: %s", sorted(f"{tp.topic}[{tp.partition}]" for tp in tps),
                      exc)
            return
        for tp, offset in starts.items():
            self.continuity.expect(tp, offset)

    async def _recover(self, tp: Any, skip: Skip) -> list[Record]:
        """The records the broker holds in a hole the continuity check saw, for the batch
        to handle ahead of the record that showed the hole ([] if it holds none).

        A fetch can return a partition's records past one it does not show yet: the
        embedded broker makes a record one producer wrote visible after a later one from
        another producer (8 producers writing one partition at 1,500 records/s: about 1
        record in 2,500), and the consumer's position moves past it.  Read from the
        broker here, such records are handled in order by this worker, instead of after a
        restart or never (a renewal deletes the topic).
        """
        try:
            held = await records_held(self._client_kwargs, tp, skip.expected, skip.got)
        except (KafkaError, TimeoutError) as exc:
            log.warning("%s; cannot ask the broker whether they hold records (%s)", skip.describe(), exc)
            if self.on_skip is not None:
                self.on_skip(skip)
            return []
        if not held:
            return []  # transaction markers or compaction: nothing to handle there
        metrics.PROCESSOR_SKIPS.labels(topic=tp.topic).inc(len(held))
        log.warning("%s; read %d of them from the broker, handled now", skip.describe(), len(held))
        return [_record(r, r.value) for r in held]

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
        if self.renewal is not None:  # `wirewatch run` renews before the limit; this says when it did not
            log.warning("%s[%s] holds %s records on the embedded broker, which cannot answer a fetch past "
                        "about %s batches at WIREWATCH_CONSUMER_FETCH_WAIT_MS=%s: past that the pipeline stops "
                        "reading it. A renewal to fresh topics was due at %s records; the log says why it has "
                        "not happened", tp.topic, tp.partition, f"{records:,}", f"{limit:,}", wait_ms,
                        f"{self.settings.embedded_renew_records:,}")
            return
        log.warning("%s[%s] holds %s records on the embedded broker, which lists every stored batch on each "
                    "fetch and cannot answer one past about %s batches at WIREWATCH_CONSUMER_FETCH_WAIT_MS=%s; "
                    "restart `wirewatch run` (the embedded broker keeps nothing) or use a Kafka cluster",
                    tp.topic, tp.partition, f"{records:,}", f"{limit:,}", wait_ms)

