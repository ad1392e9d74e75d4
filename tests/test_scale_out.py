"""Scale-out on one machine: two pollers and two processors share feeds and partitions.

Real processes against the embedded broker, feeds served over HTTP on 127.0.0.1.
Each feed is polled by one poller (every item reaches the raw topic once), each
story is processed once, and when a processor and a poller are stopped the others
take over their partitions and feeds without losing a story.
"""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from wirewatch.admin import create_topics
from wirewatch.demo import DemoFeedServer
from wirewatch.models import FeedRecord, utcnow
from wirewatch.poller.kafka import publish_feeds
from wirewatch.topics import Topics

from .harness import Service, log_tails, read_values, service_env, settings_for, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.model]

WORDS = (
    "harbour", "council", "budget", "river", "festival", "engineers", "museum", "grain", "tariff",
    "orchard", "railway", "vaccine", "satellite", "library", "tournament", "election", "drought",
    "bridge", "ferry", "market", "copper", "textile", "orchestra", "glacier", "telescope", "vineyard",
    "airline", "pension", "reservoir", "startup", "quarry", "lighthouse", "bakery", "census", "monsoon",
    "archive", "stadium", "turbine", "clinic", "ballot", "canal", "forest", "algorithm", "mural",
    "ceramics"
)


def _story(rng: random.Random, n_words: int = 160) -> str:
    paras = []
    for _ in range(4):
        sentences = []
        for _ in range(3):
            words = [rng.choice(WORDS) for _ in range(n_words // 12)]
            sentences.append(" ".join(words).capitalize() + ".")
        paras.append(" ".join(sentences))
    return "".join(f"<p>{p}</p>" for p in paras)


def _write_feeds(directory: Path, first: int, count: int, items: int, rng: random.Random) -> list[str]:
    """Feeds ``first..first+count`` with ``items`` distinct stories each; returns their item guids."""
    guids = []
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    for f in range(first, first + count):
        entries = []
        for i in range(items):
            guid = f"feed{f}-item{i}"
            guids.append(guid)
            when = format_datetime(t0 + timedelta(hours=f, minutes=i))
            entries.append(
                f"<item><title>Story {f}.{i}</title><link>https://news{f}.example/{guid}</link>"
                f"<guid isPermaLink=\"false\">{guid}</guid><pubDate>{when}</pubDate>"
                f"<description>Story {f}.{i}</description>"
                f"<content:encoded><![CDATA[{_story(rng)}]]></content:encoded></item>")
        (directory / f"feed{f}.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
            f"<title>Outlet {f}</title><link>https://news{f}.example/</link><description>d</description>"
            + "".join(entries) + "</channel></rss>")
    return guids


def _feed_records(server: DemoFeedServer, first: int, count: int) -> list[FeedRecord]:
    return [FeedRecord(feed_id=f"feed{f}", url=f"{server.base_url}/feed{f}.xml", outlet=f"Outlet {f}",
                       interval_seconds=2.0, updated_at=utcnow()) for f in range(first, first + count)]


def _owned(log: str) -> list[int]:
    found = re.findall(r"poller owns feeds partitions \[([0-9, ]*)\]", log)
    return [int(x) for x in found[-1].split(",") if x.strip()] if found else []


def test_two_pollers_two_processors_share_and_take_over(fresh_broker: str, tmp_path: Path) -> None:
    rng = random.Random(7)
    prefix = f"s{uuid.uuid4().hex[:10]}"
    env = service_env(fresh_broker, prefix, partitions=4)
    settings = settings_for(env)
    asyncio.run(create_topics(settings))
    topics = Topics(prefix, 4)
    feeds_dir = tmp_path / "feeds"
    feeds_dir.mkdir()
    guids = _write_feeds(feeds_dir, 0, 8, 3, rng)

    def story_guids(topic: str) -> list[str]:
        values = read_values(fresh_broker, topic)
        if topic == topics.raw.name:
            return [str(v["guid"]) for v in values]
        return [str(v["story"]["guid"]) for v in values]  # type: ignore[index]

    with DemoFeedServer(feeds_dir) as server:
        services = [Service("processor", env, tmp_path, "proc-a"), Service("processor", env, tmp_path, "proc-b"),
                    Service("poller", env, tmp_path, "poll-a"), Service("poller", env, tmp_path, "poll-b")]
        proc_a, proc_b, poll_a, poll_b = services
        try:
            asyncio.run(publish_feeds(settings, fresh_broker, _feed_records(server, 0, 8)))
            wait_until(lambda: sorted(story_guids(topics.unique.name)) == sorted(guids), 180,
                       "every story of the first 8 feeds through dedup")
            # Both pollers own feeds partitions, and no feed was polled by two of
            # them: every item reached the raw topic exactly once.
            wait_until(lambda: _owned(poll_a.log()) and _owned(poll_b.log()), 30, "both pollers to own partitions")
            assert sorted(_owned(poll_a.log()) + _owned(poll_b.log())) == [0, 1, 2, 3]
            assert sorted(story_guids(topics.raw.name)) == sorted(guids)
            # Both processors took part in extraction (4 partitions, 2 workers).
            wait_until(lambda: proc_a.metric("wirewatch_processed_messages_total", stage="extract") > 0
                       and proc_b.metric("wirewatch_processed_messages_total", stage="extract") > 0, 60,
                       "both processors to extract")

            # Stop one processor and one poller; the survivors take over.
            assert proc_a.stop() == 0, proc_a.log()[-2000:]
            assert poll_a.stop() == 0, poll_a.log()[-2000:]
            more = _write_feeds(feeds_dir, 8, 8, 3, rng)
            asyncio.run(publish_feeds(settings, fresh_broker, _feed_records(server, 8, 8)))
            def account() -> str:
                raw, unique = story_guids(topics.raw.name), story_guids(topics.unique.name)
                return (f"raw has {len(set(raw))} of {len(guids + more)} stories ({len(raw)} messages), "
                        f"unique has {len(set(unique))}\n{log_tails(proc_b, poll_b)}")

            wait_until(lambda: sorted(story_guids(topics.unique.name)) == sorted(guids + more), 240,
                       "every story of all 16 feeds through dedup after the takeover", diagnose=account)
            assert sorted(_owned(poll_b.log())) == [0, 1, 2, 3]
            # each story was deduplicated (and so extracted) once
            unique = story_guids(topics.unique.name)
            assert len(unique) == len(set(unique)) == len(guids) + len(more)
            assert proc_b.metric("wirewatch_processed_messages_total", stage="extract") > 0
        finally:
            for s in services:
                s.stop()
