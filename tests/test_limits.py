"""The size limits agree (wirewatch/limits.py): the largest story the poller sends passes every
later stage, and the embedded broker takes a message of the largest size any producer sends."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import spacy
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from pydantic import ValidationError

from wirewatch.admin import create_topics
from wirewatch.limits import MAX_BODY_CHARS, MAX_MESSAGE_BYTES, MAX_RAW_STORY_BYTES
from wirewatch.models import (
    MAX_AUTHOR_CHARS,
    MAX_AUTHORS,
    MAX_GUID_CHARS,
    MAX_ID_CHARS,
    MAX_LANGUAGE_CHARS,
    MAX_URL_CHARS,
    FeedRecord,
    RawStory,
    UniqueStory,
)
from wirewatch.offsets import stop_quietly
from wirewatch.poller.kafka import KafkaStorySink, make_producer
from wirewatch.poller.parse import MAX_SUMMARY, MAX_TITLE, fit_message
from wirewatch.poller.service import Poller
from wirewatch.settings import Settings

from .harness import service_env, settings_for

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "poller"))
from feedserver import FeedServer, ListSink, serve

NOW = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
WIDE = "戦闘が続いた。"  # 3 bytes a character in UTF-8


def _story(body: str, *, summary: str = "", url: str = "https://example.org/a") -> RawStory:
    return RawStory(story_id="g:" + "0" * 24, feed_id="feed", outlet="Outlet", url=url, canonical_url=url,
                    title="t" * MAX_TITLE, summary=summary, body=body, published=NOW, fetched_at=NOW)


def test_a_story_that_fits_is_sent_as_it_is() -> None:
    story = _story("The army took the town. " * (MAX_BODY_CHARS // 24))
    assert fit_message(story) is story


@pytest.mark.parametrize("unit", [WIDE, '"\\', "🙂"])  # 3 bytes, 2 escaped, 4 bytes a character
def test_a_body_too_many_bytes_is_cut_to_the_longest_prefix_that_fits(unit: str) -> None:
    body = (unit * (MAX_BODY_CHARS // len(unit) + 1))[:MAX_BODY_CHARS]
    story = _story(body, summary=body[:MAX_SUMMARY])
    assert len(story.to_json_bytes()) > MAX_RAW_STORY_BYTES
    fitted = fit_message(story)
    assert fitted is not None
    size = len(fitted.to_json_bytes())
    assert size <= MAX_RAW_STORY_BYTES
    assert body.startswith(fitted.body) and fitted.summary == story.summary
    # nearly full: less room left than one more character (4 bytes, 6 escaped) and a space cut
    assert size > MAX_RAW_STORY_BYTES - 8


def test_only_the_body_can_overflow_a_message_so_every_story_can_be_sent() -> None:
    # Every other field is capped (models.py): at their caps, in the character JSON
    # spells longest (a control character, 6 bytes), they still leave room for a body.
    worst = "\x01"
    url = "https://example.org/" + worst * (MAX_URL_CHARS - 20)
    story = RawStory(story_id="g:" + worst * 198, feed_id=worst * MAX_ID_CHARS, outlet=worst * MAX_ID_CHARS,
                     url=url, canonical_url=url, guid=worst * MAX_GUID_CHARS, title=worst * MAX_TITLE,
                     summary=worst * MAX_SUMMARY, body=WIDE * (MAX_BODY_CHARS // len(WIDE)),
                     authors=[worst * MAX_AUTHOR_CHARS] * MAX_AUTHORS, language=worst * MAX_LANGUAGE_CHARS,
                     published=NOW, fetched_at=NOW)
    fitted = fit_message(story)
    assert fitted is not None and len(fitted.to_json_bytes()) <= MAX_RAW_STORY_BYTES
    assert fitted.summary == story.summary and fitted.body and story.body.startswith(fitted.body)
    # and a field past its cap is refused when the story is built, never at the producer
    with pytest.raises(ValidationError):
        _story("body", url="https://example.org/" + "a" * MAX_RAW_STORY_BYTES)


def test_the_largest_story_the_poller_sends_passes_every_later_stage() -> None:
    body = (WIDE * (MAX_BODY_CHARS // len(WIDE) + 1))[:MAX_BODY_CHARS]
    raw = fit_message(_story(body, summary=body[:MAX_SUMMARY]))
    assert raw is not None
    # dedup's copy as an update: long ids and thousands of changed spans, on top of the story
    spans = [(i * 40, i * 40 + 20) for i in range(5_000)]
    unique = UniqueStory(story=raw, cluster_id="c:" + "f" * 64, status="update", update_of="u:" + "e" * 64,
                         changed_spans=spans)
    size = DefaultRecordBatchBuilder.estimate_size_in_bytes(raw.story_id.encode(), unique.to_json_bytes(), [])
    assert size <= MAX_MESSAGE_BYTES  # what the processor's producer sends and its decoder reads
    assert len(raw.body) <= MAX_BODY_CHARS < spacy.blank("en").max_length  # extraction takes it


async def test_the_poller_publishes_a_huge_item_cut_to_fit(tmp_path: Path) -> None:
    server = await FeedServer().start()
    text = WIDE * (MAX_BODY_CHARS // len(WIDE))
    feed_xml = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
                'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Wide</title>'
                "<link>http://example.org/</link><description>d</description><item><title>Wide story</title>"
                "<link>http://example.org/wide/1</link><guid>wide-1</guid>"
                "<pubDate>Tue, 04 Mar 2025 09:00:00 GMT</pubDate><description>Short summary.</description>"
                f"<content:encoded><![CDATA[<p>{text}</p>]]></content:encoded></item></channel></rss>").encode()

    serve(server, "/wide.xml", feed_xml, "application/rss+xml")
    sink = ListSink()
    settings: Any = Settings(allow_hosts=["127.0.0.1"], parse_workers=0, data_dir=tmp_path)
    p = Poller(settings, sink, state_path=tmp_path / "s.json")
    p.upsert(FeedRecord(feed_id="wide", url=server.url("/wide.xml"), outlet="Wide", updated_at=NOW))
    try:
        r = await p.poll_once("wide")
    finally:
        await p.aclose()
        await server.stop()
    assert r.outcome == "ok"
    [story] = sink.stories
    assert len(story.to_json_bytes()) <= MAX_RAW_STORY_BYTES
    assert text.startswith(story.body) and len(story.body) > MAX_RAW_STORY_BYTES // 4


@pytest.mark.e2e
def test_the_embedded_broker_takes_the_largest_messages_the_producers_send(fresh_broker: str) -> None:
    env = service_env(fresh_broker, "tlimits", 1)
    settings = settings_for(env)
    topic = "tlimits.stories.raw"
    body = (WIDE * (MAX_BODY_CHARS // len(WIDE) + 1))[:MAX_BODY_CHARS]
    raw = fit_message(_story(body))
    assert raw is not None
    # the largest record the producers' max_request_size lets through
    key = b"k"
    n = MAX_MESSAGE_BYTES - DefaultRecordBatchBuilder.estimate_size_in_bytes(key, b"", [])
    while DefaultRecordBatchBuilder.estimate_size_in_bytes(key, b"x" * n, []) > MAX_MESSAGE_BYTES:
        n -= 1  # (the length varints grow with the value)
    largest = b"x" * n

    async def run() -> list[bytes]:
        await create_topics(settings)
        producer = make_producer(settings, fresh_broker)  # the poller's producer, as configured
        await producer.start()
        try:
            await KafkaStorySink(producer, topic).publish(raw)
            await producer.send_and_wait(topic, largest, key=key)
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=fresh_broker, enable_auto_commit=False,
                                    auto_offset_reset="earliest")
        await consumer.start()
        try:
            tp = TopicPartition(topic, 0)
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            got: list[bytes] = []
            while len(got) < 2:
                batch = await asyncio.wait_for(consumer.getmany(tp, timeout_ms=1000), 30)
                got += [m.value for m in batch.get(tp, []) if m.value is not None]
            return got
        finally:
            await stop_quietly(consumer)

    assert asyncio.run(run()) == [raw.to_json_bytes(), largest]
