"""The embedded broker lasts: fewer, fuller batches, and topic generations.

The embedded broker (Tansu, memory storage) lists every stored batch of a partition on
each fetch and keeps every batch, so what bounds how long `wirewatch run` lasts is the
number of batches wirewatch writes per story (benchmarks/README.md).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from wirewatch.models import RawStory
from wirewatch.poller.kafka import KafkaStorySink, make_producer
from wirewatch.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from census import census  # (benchmarks/ is not a package)


def _story(i: int, words: int = 700) -> RawStory:
    now = datetime.now(UTC)
    body = " ".join(f"word{(i * 7 + k) % 997}" for k in range(words))
    return RawStory(story_id=f"s{i}", feed_id="f", outlet="o", guid=f"g{i}", url=f"https://example.org/{i}",
                    canonical_url=f"https://example.org/{i}", title=f"story {i}", body=body, published=now,
                    fetched_at=now)


def test_a_polls_stories_leave_in_one_produce_batch(fresh_broker: str) -> None:
    settings = Settings(kafka_bootstrap=fresh_broker, kafka_idempotent=False)

    async def run() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=fresh_broker)
        await admin.start()
        try:
            await admin.create_topics([NewTopic("raw", 1, 1)])
        finally:
            await admin.close()
        producer = make_producer(settings, fresh_broker)  # the poller's, as configured
        await producer.start()
        try:
            sink = KafkaStorySink(producer, "raw")
            await sink.publish_all([_story(i) for i in range(30)])  # ~150 KB: one poll of a busy feed
            await sink.publish(_story(99))
        finally:
            await producer.stop()

    asyncio.run(run())
    held = asyncio.run(census(fresh_broker, ["raw"]))[("raw", 0)]
    assert (held.batches, held.records) == (2, 31)
