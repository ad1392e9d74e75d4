"""How `wirewatch run` lasts on the embedded broker: generations of topics.

The embedded broker (Tansu 0.6, memory storage) keeps every record batch it is sent:
it applies no retention and has no DeleteRecords.  Each fetch lists every stored batch of
the partition it reads (~1 us a batch) and gives up when the fetch's wait runs out, so
past ~100,000 batches at the 100 ms wait a partition can no longer be read at all
(benchmarks/README.md).  What it can do is delete a whole topic, and that frees the
topic's memory.

So `wirewatch run` on the embedded broker *renews* its topics before any of them gets
deep: once a partition holds ``WIREWATCH_EMBEDDED_RENEW_RECORDS`` records written in the
current generation (or the processor's input partitions, which one fetch lists together,
twice that), it moves to a fresh generation of topic names (``wirewatch.g1.stories.raw``,
app id ``wirewatch-g1`` for the tables' changelogs):

1. the processor stops the poller and waits until each stage has handled every record on
   its input topics (their messages acknowledged);
2. it takes its tables as they are (the dedup window, the claim ledger) and stops;
3. `wirewatch run` creates the next generation's topics, copies the feed list into them,
   points ``.wirewatch/embedded-broker`` at them (client commands and `wirewatch tail`
   follow it), and deletes the old generation's topics; its alert, update and dead-letter
   topics are deleted one renewal later, so that a subscriber can finish reading them;
4. a new processor writes the carried tables into its own (and so into its changelogs)
   before the poller starts again.  Poller state lives in a file and carries itself.

:class:`Renewal` is a generation's side of this (its trigger, the drain, the carry), run
by the processor's app; :func:`run_generations` is the loop `wirewatch run` runs.

Records count here, not batches: a partition never holds more batches than records, so a
renewal always comes before the limit (at a trickle of stories, about one batch each).
On a Kafka cluster (WIREWATCH_KAFKA_BOOTSTRAP set) none of this runs: retention and
compaction keep its topics bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition

# (imported here, not when a run starts: `wirewatch run` imports this module before its
# broker does, and clients that see the broker expect its topics right after)
from .admin import create_topics, delete_topics, kafka_client_kwargs
from .offsets import stop_quietly
from .poller.kafka import PollerRunner, read_feeds, seed_feeds
from .processor.stream.app import WirewatchApp
from .settings import Settings
from .topics import Topics

if TYPE_CHECKING:
    from .models import FeedRecord

log = logging.getLogger(__name__)

WARN_AT = 0.8  # share of the threshold at which the log says a renewal is coming
DRAIN_PATIENCE_SECONDS = 600.0  # a processor that cannot finish its inputs in this long: renew later
RESTORE_CHUNK = 2_000  # carried table entries written between two waits for the producer buffer


def generation_settings(base: Settings, generation: int) -> Settings:
    """The settings of one generation: generation 0 has the configured names."""
    if generation == 0:
        return base
    return base.model_copy(update={"topic_prefix": f"{base.topic_prefix}.g{generation}",
                                   "app_id": f"{base.app_id}-g{generation}"})


def output_topics(settings: Settings) -> list[str]:
    """The topics a generation writes for subscribers (kept one renewal longer)."""
    t = Topics(settings.topic_prefix, settings.topic_partitions)
    return [t.claim_updates.name, t.new_claim.name, t.contradiction.name, t.deadletter.name]


@dataclass
class Carry:
    """What one generation hands to the next: its tables as they were when it stopped."""

    generation: int  # the generation that made it
    dedup: dict[str, Any]
    ledger: dict[str, Any]
    internal_topics: list[str]  # that generation's topics nobody outside reads (deleted at once)


@dataclass
class Depth:
    """How deep the generation's partitions are: records written since it began."""

    deepest: tuple[str, int, int] = ("", 0, 0)  # topic, partition, records
    inputs: int = 0  # the processor's input partitions together
    share: float = 0.0  # of the renewal threshold, the nearer of the two
    why: str = ""

    @classmethod
    def of(cls, grown: Mapping[TopicPartition, int], inputs: set[str], threshold: int) -> Depth:
        if not any(grown.values()):
            return cls(why="nothing written in this generation yet")
        tp, n = max(grown.items(), key=lambda kv: kv[1])
        together = sum(v for p, v in grown.items() if p.topic in inputs)
        one, both = n / threshold, together / (2 * threshold)
        why = (f"{tp.topic}[{tp.partition}] holds {n:,} records written in this generation"
               if one >= both else f"the processor's input partitions hold {together:,} records together")
        return cls((tp.topic, tp.partition, n), together, max(one, both), why)


@dataclass
class Renewal:
    """One generation's side of a renewal: when, the drain, and what it carries (see the module)."""

    settings: Settings  # this generation's
    bootstrap: str
    generation: int
    carried: Carry | None = None  # what this generation starts from
    # set by `wirewatch run`: stops the faust worker; publishes the status line of the broker file
    stop_worker: Callable[[], None] = lambda: None
    publish_status: Callable[[str], None] = lambda _line: None
    carry: Carry | None = None  # what it hands on, once it renews
    ready: asyncio.Event = field(default_factory=asyncio.Event)  # carried state in place: poll
    stopping: asyncio.Event = field(default_factory=asyncio.Event)  # renewing: stop polling
    poller_stopped: asyncio.Event = field(default_factory=asyncio.Event)
    base: dict[TopicPartition, int] = field(default_factory=dict)  # ends once the carried state was in
    started: float = field(default_factory=time.monotonic)
    began_at: float | None = None  # (wall clock) when its renewal stopped the poller, and when
    drained_at: float | None = None  # everything read was handled: the pause's first part
    _warned: bool = False

    @property
    def threshold(self) -> int:
        return self.settings.embedded_renew_records

    # ------------------------------------------------------------------ the poller
    async def run_poller(self, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """The poller's app task: starts once the carried state is in place, and is stopped
        (cancelled, which saves its state) while a renewal drains the processor."""
        while True:
            await self.ready.wait()
            poller = asyncio.create_task(run(), name="wirewatch-poller")
            stop = asyncio.create_task(self.stopping.wait())
            try:
                await asyncio.wait({poller, stop}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stop.cancel()
                if not poller.done():
                    poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
            self.poller_stopped.set()
            if not self.stopping.is_set():
                return  # the poller ended on its own (it does not, short of a failure)
            while self.stopping.is_set():  # a renewal given up starts the poller again
                await asyncio.sleep(1.0)
            self.poller_stopped.clear()

    # ------------------------------------------------------------------ the processor
    async def restore(self, app: WirewatchApp) -> None:
        """At the generation's first assignment: the carried tables into this app's tables
        (their changelogs with them), then let the poller start."""
        if self.ready.is_set():
            return
        if self.carried is not None:
            async with app.dedup.lock, app.ledger.lock:
                for table, items in ((app.dedup_table, self.carried.dedup), (app.ledger_table, self.carried.ledger)):
                    for i, (key, value) in enumerate(items.items(), 1):
                        table[key] = value
                        if i % RESTORE_CHUNK == 0:
                            await app.publisher.drained()
                await app.app.producer.flush()  # acknowledged: the depth counts from after them
                app.pipeline.reload()
            log.info("generation %d: carried over %s dedup and %s ledger entries from generation %d",
                     self.generation, f"{len(self.carried.dedup):,}", f"{len(self.carried.ledger):,}",
                     self.carried.generation)
        self.base = await self._ends(app.topic_names())
        self.started = time.monotonic()
        self.ready.set()

    async def tick(self, app: WirewatchApp) -> Depth | None:
        """The renewal timer: look at the depth; warn before, renew at the threshold."""
        if not self.ready.is_set() or self.stopping.is_set() or self.threshold <= 0:
            return None
        try:
            ends = await self._ends(app.topic_names())
        except Exception as exc:  # a look that failed is retried at the next tick
            log.debug("renewal check skipped: %s", exc)
            return None
        depth = Depth.of({tp: end - self.base.get(tp, 0) for tp, end in ends.items()}, app.input_topics(),
                         self.threshold)
        eta = self._eta(depth.share)
        self.publish_status(self._status(depth, eta))
        if depth.share >= 1.0:
            await self.renew(app, depth)
        elif depth.share >= WARN_AT and not self._warned:
            self._warned = True
            log.warning("the embedded broker's topics are %d%% of the way to a renewal (%s)%s: wirewatch will "
                        "stop polling, finish what it has read, carry its state into fresh topics and delete "
                        "the old ones, a pause of under a minute. `wirewatch tail` follows; other subscribers "
                        "read the new topic names from %s. A Kafka cluster (WIREWATCH_KAFKA_BOOTSTRAP) needs "
                        "none of this", 100 * depth.share, depth.why, eta and f", in about {eta}",
                        self.settings.data_dir / "embedded-broker")
        return depth

    async def renew(self, app: WirewatchApp, depth: Depth) -> None:
        """Stop polling, drain, take the tables and stop the worker; give up (and poll again)
        if the processor cannot finish its inputs."""
        log.warning("renewing the embedded broker's topics (generation %d -> %d): %s; renewal at %s records",
                    self.generation, self.generation + 1, depth.why, f"{self.threshold:,}")
        self.stopping.set()
        self.began_at = time.time()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_PATIENCE_SECONDS
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.poller_stopped.wait(), 60.0)
        while not await app.drained():
            if loop.time() > deadline:
                log.error("renewal given up: the processor did not finish its inputs in %.0fs; polling again, "
                          "trying again in %.0fs", DRAIN_PATIENCE_SECONDS, self.settings.embedded_renew_check_seconds)
                self.stopping.clear()
                return
            await asyncio.sleep(0.5)
        self.drained_at = time.time()
        self.carry = Carry(self.generation, dict(app.dedup_table.items()), dict(app.ledger_table.items()),
                           app.internal_topic_names())
        log.info("generation %d drained: carrying %s dedup and %s ledger entries", self.generation,
                 f"{len(self.carry.dedup):,}", f"{len(self.carry.ledger):,}")
        self.stop_worker()

    # ------------------------------------------------------------------ helpers
    async def _ends(self, topics: list[str]) -> dict[TopicPartition, int]:
        """ListOffsets of every partition of ``topics``: cheap on Tansu (it lists no batches),
        and at most one batch short of the end there (wirewatch/offsets.py): close enough."""
        consumer = AIOKafkaConsumer(**kafka_client_kwargs(self.settings, self.bootstrap), enable_auto_commit=False)
        await consumer.start()
        try:
            tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
            return dict(await consumer.end_offsets(tps)) if tps else {}
        finally:
            await stop_quietly(consumer)

    def _eta(self, share: float) -> str:
        """When the threshold comes at the rate since the generation began ("" if too early to say)."""
        elapsed = time.monotonic() - self.started
        if share < 0.05 or elapsed < self.settings.embedded_renew_check_seconds:
            return ""
        return _duration((1.0 - min(share, 1.0)) * elapsed / share)

    def _status(self, depth: Depth, eta: str) -> str:
        return (f"generation {self.generation}, {100 * depth.share:.0f}% of the way to the next renewal"
                + (f" (in about {eta})" if eta else "") + f"; {depth.why} (renewal at {self.threshold:,})")


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


# ---------------------------------------------------------------------- the generations
class Notice(Protocol):
    """Where `wirewatch run` tells client commands which topics it uses now, and its status."""

    def announce(self, topics: str | None = None, status: str | None = None) -> None: ...


PollFactory = Callable[[Settings, str], Coroutine[Any, Any, None]]


def run_generations(settings: Settings, bootstrap: str, feeds: Iterable[FeedRecord], *,
                    run_worker: Callable[[WirewatchApp, Settings], None], notice: Notice,
                    poll: PollFactory | None = None) -> None:
    """The poller (``poll``: the feed poller by default) and the processor until stopped; on the
    embedded broker, one generation of topics after another, each starting from the state the
    last one carried.  ``run_worker`` runs a faust worker over an app until it stops."""
    renewing = settings.embedded and settings.embedded_renew_records > 0
    if settings.embedded:
        log.warning("the embedded broker keeps everything in memory and lists every stored batch on each fetch; "
                    + ("wirewatch moves to fresh topics (state carried over) whenever a partition holds "
                       f"{settings.embedded_renew_records:,} records, a pause of under a minute"
                       if renewing else "with WIREWATCH_EMBEDDED_RENEW_RECORDS=0 it stops reading a partition "
                       "past ~100,000 batches (days at a few hundred feeds)")
                    + "; for production set WIREWATCH_KAFKA_BOOTSTRAP to a Kafka cluster")
    poll = poll or _feed_poller(settings.data_dir / "poller-state.json")
    generation = 0
    carry: Carry | None = None
    while True:
        gs = generation_settings(settings, generation)
        asyncio.run(create_topics(gs, bootstrap=bootstrap))
        if carry is None:
            asyncio.run(seed_feeds(gs, bootstrap, feeds))
        else:
            _move_to(settings, gs, bootstrap, carry, notice)
        renewal = Renewal(gs, bootstrap, generation, carry,
                          publish_status=lambda line: notice.announce(status=line)) if renewing else None
        asyncio.set_event_loop(asyncio.new_event_loop())  # the last generation's worker closed its loop
        wapp = WirewatchApp(gs, bootstrap, extra_tasks=[_poller_task(gs, bootstrap, poll, renewal)],
                            renewal=renewal)
        log.info("running on topics %s.*; `wirewatch tail` in another terminal shows alerts; Ctrl-C stops",
                 gs.topic_prefix)
        run_worker(wapp, gs)
        if renewal is None or renewal.carry is None:
            return  # stopped from outside
        carry = renewal.carry
        generation += 1


def _feed_poller(state_path: Path) -> PollFactory:
    def poll(settings: Settings, bootstrap: str) -> Coroutine[Any, Any, None]:
        return PollerRunner(settings, bootstrap, state_path=state_path).run()

    return poll


def _poller_task(settings: Settings, bootstrap: str, poll: PollFactory,
                 renewal: Renewal | None) -> Callable[[], Coroutine[Any, Any, None]]:
    """The poller as an app task of the processor (faust hands an app to a task taking an argument)."""
    async def task() -> None:
        if renewal is None:
            await poll(settings, bootstrap)
        else:
            await renewal.run_poller(lambda: poll(settings, bootstrap))

    return task


def _move_to(base: Settings, gs: Settings, bootstrap: str, carry: Carry, notice: Notice) -> None:
    """A renewal's step between two workers: clients to the new topics, the feed list into
    them, the old generation's topics deleted (its output topics one renewal later)."""
    notice.announce(topics=gs.topic_prefix)  # feed changes go to the new feeds topic from now on
    feeds = asyncio.run(read_feeds(generation_settings(base, carry.generation), bootstrap))
    asyncio.run(seed_feeds(gs, bootstrap, feeds.values()))
    stale = list(carry.internal_topics)
    if carry.generation >= 1:
        stale += output_topics(generation_settings(base, carry.generation - 1))
    deleted = asyncio.run(delete_topics(gs, stale, bootstrap=bootstrap))
    log.info("moved to topics %s.* with %d feeds; deleted %d topics of the generations before",
             gs.topic_prefix, len(feeds), len(deleted))
