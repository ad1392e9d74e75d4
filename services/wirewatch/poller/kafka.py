"""The poller's Kafka side: feeds come from the compacted feeds topic, stories go to raw.

Scale-out: every poller joins one consumer group on the feeds topic.  Kafka
assigns each feeds partition to exactly one poller, and a poller polls exactly
the feeds whose records live on its partitions, so no feed is polled twice and
a stopped poller's feeds move to the others at the next rebalance.  The group
never commits: on every assignment the poller re-reads its partitions from the
beginning, because the compacted topic *is* the feed configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from pydantic import ValidationError

from ..admin import broker_call, kafka_client_kwargs
from ..limits import MAX_BATCH_BYTES, MAX_MESSAGE_BYTES
from ..models import FeedRecord, RawStory
from ..offsets import read_to_end, stop_quietly
from ..settings import Settings
from ..topics import Topics
from .service import Poller

log = logging.getLogger(__name__)


class KafkaStorySink:
    """Publishes raw stories; returns only once the broker has them (acks=all)."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self.producer = producer
        self.topic = topic

    async def publish(self, story: RawStory) -> None:
        await self.publish_all([story])

    async def publish_all(self, stories: Sequence[RawStory]) -> None:
        """One poll's stories, queued together so that they leave in one produce batch
        (one per story had the raw partition hold a batch per story; see
        benchmarks/README.md on the embedded broker), then every acknowledgement awaited."""
        # Keyed by feed: one feed's items stay in order.
        sent = [await self.producer.send(self.topic, s.to_json_bytes(), key=s.feed_id.encode()) for s in stories]
        for outcome in await asyncio.gather(*sent, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome


def make_producer(settings: Settings, bootstrap: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **kafka_client_kwargs(settings, bootstrap),
        acks="all",
        enable_idempotence=settings.idempotent,
        linger_ms=5,
        max_request_size=MAX_MESSAGE_BYTES,  # see wirewatch/limits.py
        max_batch_size=MAX_BATCH_BYTES,
    )


async def publish_feeds(settings: Settings, bootstrap: str, feeds: Iterable[FeedRecord],
                        *, remove: Iterable[str] = ()) -> int:
    """Write feed records (and tombstones for ``remove``) to the feeds topic."""
    topic = Topics(settings.topic_prefix, settings.topic_partitions).feeds.name
    producer = make_producer(settings, bootstrap)
    try:
        await broker_call(producer.start(), settings.broker_timeout_seconds, bootstrap, "the connection")
    except BaseException:
        with contextlib.suppress(Exception):
            await producer.stop()
        raise
    n = 0
    try:
        timeout, send = settings.broker_timeout_seconds, producer.send_and_wait
        for feed in feeds:
            await broker_call(send(topic, feed.to_json_bytes(), key=feed.feed_id.encode()), timeout, bootstrap,
                              f"feed {feed.feed_id}")
            n += 1
        for feed_id in remove:
            await broker_call(send(topic, None, key=feed_id.encode()), timeout, bootstrap, f"removing {feed_id}")
            n += 1
    finally:
        await producer.stop()
    return n


async def seed_feeds(settings: Settings, bootstrap: str, feeds: Iterable[FeedRecord]) -> int:
    """Publish the feeds the topic does not know yet; returns how many.

    Feeds already in the topic keep their run-time state (paused, edited with
    `wirewatch feeds`), so restarting with the same feeds file changes nothing.
    """
    known = await read_feeds(settings, bootstrap)
    return await publish_feeds(settings, bootstrap, [f for f in feeds if f.feed_id not in known])


async def read_feeds(settings: Settings, bootstrap: str, timeout: float = 10.0) -> dict[str, FeedRecord]:
    """The current feed configuration: the compacted topic read to its end."""
    topic = Topics(settings.topic_prefix, settings.topic_partitions).feeds.name
    consumer = AIOKafkaConsumer(**kafka_client_kwargs(settings, bootstrap), enable_auto_commit=False,
                                auto_offset_reset="earliest", fetch_max_wait_ms=50)
    try:
        await broker_call(consumer.start(), settings.broker_timeout_seconds, bootstrap, "the connection")
    except BaseException:
        await stop_quietly(consumer)
        raise
    feeds: dict[str, FeedRecord] = {}
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        if not tps:
            return feeds
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        if not await read_to_end(consumer, tps, lambda m: _apply(feeds, m.key, m.value), timeout):
            log.warning("feeds topic %s: not read to its end in %gs; the feed list may be incomplete", topic, timeout)
    finally:
        await stop_quietly(consumer)
    return feeds


def _apply(feeds: dict[str, FeedRecord], key: bytes | None, value: bytes | None) -> str | None:
    feed_id = key.decode("utf-8", "replace") if key else None
    if value is None:
        if feed_id:
            feeds.pop(feed_id, None)
        return feed_id
    try:
        feed = FeedRecord.model_validate(orjson.loads(value))
    except (orjson.JSONDecodeError, ValidationError) as exc:
        log.warning("feeds topic: ignoring invalid feed record %r: %s", feed_id, exc)
        return None
    feeds[feed.feed_id] = feed
    return feed.feed_id


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, runner: PollerRunner) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        for tp in revoked:
            for feed_id in self.runner.by_partition.pop(tp.partition, set()):
                self.runner.poller.remove(feed_id)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        if assigned:
            await self.runner.consumer.seek_to_beginning(*assigned)
        log.info("poller owns feeds partitions %s", sorted(tp.partition for tp in assigned))


class PollerRunner:
    """A Poller wired to Kafka."""

    def __init__(self, settings: Settings, bootstrap: str, *, state_path: Path | None = None) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.topics = Topics(settings.topic_prefix, settings.topic_partitions)
        self.producer = make_producer(settings, bootstrap)
        self.sink = KafkaStorySink(self.producer, self.topics.raw.name)
        self.poller = Poller(settings, self.sink, state_path=state_path)
        self.consumer = AIOKafkaConsumer(
            **kafka_client_kwargs(settings, bootstrap),
            group_id=f"{settings.app_id}-pollers",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=200,
            session_timeout_ms=int(settings.session_timeout * 1000),
            heartbeat_interval_ms=int(min(3.0, settings.session_timeout / 5) * 1000),
            rebalance_timeout_ms=int(settings.rebalance_timeout * 1000),
        )
        self.by_partition: dict[int, set[str]] = {}

    async def run(self) -> None:
        await self.producer.start()
        try:
            await self.consumer.start()
            self.consumer.subscribe([self.topics.feeds.name], listener=_Rebalance(self))
            poll_task = asyncio.create_task(self.poller.run(), name="wirewatch-poller")
            try:
                await self._follow_feeds(poll_task)
            finally:
                poll_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poll_task
        finally:
            with contextlib.suppress(Exception):
                await self.consumer.stop()
            await self.producer.stop()

    async def _follow_feeds(self, poll_task: asyncio.Task[None]) -> None:
        feeds: dict[str, FeedRecord] = {}
        while not poll_task.done():
            batch = await self.consumer.getmany(timeout_ms=500)
            for tp, msgs in batch.items():
                for m in msgs:
                    feed_id = _apply(feeds, m.key, m.value)
                    if feed_id is None:
                        continue
                    self.by_partition.setdefault(tp.partition, set()).add(feed_id)
                    if feed_id in feeds:
                        self.poller.upsert(feeds[feed_id])
                    else:
                        self.poller.remove(feed_id)
        if poll_task.done() and not poll_task.cancelled() and poll_task.exception() is not None:
            raise poll_task.exception()  # type: ignore[misc]
