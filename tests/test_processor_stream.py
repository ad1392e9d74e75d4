"""The streaming processor on a real broker: poison messages, restarts, exactly-once alerts.

Each test uses its own topic prefix and consumer group on the session's embedded
broker, runs `wirewatch processor` as a real process, and feeds it raw stories
straight onto the raw topic (the poller has its own tests).
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path

import orjson
import pytest

from wirewatch.admin import create_topics
from wirewatch.models import RawStory, UniqueStory
from wirewatch.replay import load_feed_files
from wirewatch.topics import Topics

from .conftest import shared_path
from .harness import (
    Service,
    log_tails,
    produce,
    produce_stories,
    read_topic,
    read_values,
    service_env,
    settings_for,
    wait_quiet,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.model]


def _setup(bootstrap: str, partitions: int = 1) -> tuple[dict[str, str], Topics]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    env = service_env(bootstrap, prefix, partitions)
    asyncio.run(create_topics(settings_for(env)))
    return env, Topics(prefix, partitions)


def _dev_stories() -> list[RawStory]:
    return load_feed_files(sorted((shared_path("eval", "dev") / "feeds").glob("*.xml")))


def _alert_ids(bootstrap: str, topics: Topics) -> tuple[set[str], int]:
    ids: list[str] = []
    for t in (topics.new_claim, topics.contradiction):
        ids += [str(v["alert_id"]) for v in read_values(bootstrap, t.name)]
    return set(ids), len(ids)


def _clean_run(bootstrap: str, tmp_path: Path, stories: list[RawStory]) -> set[str]:
    env, topics = _setup(bootstrap)
    asyncio.run(produce_stories(bootstrap, topics, stories))
    proc = Service("processor", env, tmp_path, "clean")
    try:
        wait_until(lambda: _alert_ids(bootstrap, topics)[1] > 0, 120, "the first alert")
        wait_until(lambda: proc.metric("wirewatch_dedup_stories_total") >= len(stories), 60, "dedup")
        wait_quiet(bootstrap, topics.new_claim.name, quiet=10)
        wait_quiet(bootstrap, topics.contradiction.name, quiet=3)
    finally:
        assert proc.stop() == 0, proc.log()[-3000:]
    ids, _n = _alert_ids(bootstrap, topics)
    return ids


def test_killed_processor_restarts_with_the_same_alerts(fresh_broker: str, tmp_path: Path) -> None:
    stories = _dev_stories()
    clean = _clean_run(fresh_broker, tmp_path, stories)
    assert clean, "the dev set raises alerts"

    env, topics = _setup(fresh_broker)
    asyncio.run(produce_stories(fresh_broker, topics, stories))
    first = Service("processor", env, tmp_path, "victim")
    wait_until(lambda: _alert_ids(fresh_broker, topics)[1] > 0, 120, "the first alert")
    first.stop(signal.SIGKILL)  # mid-stream: no clean shutdown, no final commit
    second = Service("processor", env, tmp_path, "restarted")
    try:
        # The killed member holds its partitions until its session times out, so
        # wait for the outcome itself rather than for a quiet topic.
        def account() -> str:
            got = _alert_ids(fresh_broker, topics)[0]
            return (f"missing {len(clean - got)} of {len(clean)} alerts, {len(got - clean)} extra; "
                    f"raw {len(read_values(fresh_broker, topics.raw.name))}, "
                    f"unique {len(read_values(fresh_broker, topics.unique.name))}, "
                    f"claims {len(read_values(fresh_broker, topics.claims.name))}\n{log_tails(first, second)}")

        wait_until(lambda: _alert_ids(fresh_broker, topics)[0] >= clean, 240, "every alert of the clean run",
                   diagnose=account)
        wait_quiet(fresh_broker, topics.new_claim.name, quiet=5)
    finally:
        assert second.stop() == 0, second.log()[-3000:]
    ids, _n = _alert_ids(fresh_broker, topics)
    # Alert ids are deterministic: a re-delivered claim may re-send an alert, but
    # never a different one, and none is lost.
    assert ids == clean


def test_replaying_the_stream_twice_raises_nothing_new(fresh_broker: str, tmp_path: Path) -> None:
    env, topics = _setup(fresh_broker)
    stories = _dev_stories()
    asyncio.run(produce_stories(fresh_broker, topics, stories))
    proc = Service("processor", env, tmp_path, "twice")
    try:
        wait_until(lambda: _alert_ids(fresh_broker, topics)[1] > 0, 120, "the first alert")
        wait_quiet(fresh_broker, topics.new_claim.name)
        ids_once, n_once = _alert_ids(fresh_broker, topics)
        uniques_once = len(read_values(fresh_broker, topics.unique.name))
        # the same items again, as a re-poll or a poller restart would send them
        asyncio.run(produce_stories(fresh_broker, topics, stories))
        wait_until(lambda: proc.metric("wirewatch_dedup_stories_total") >= 2 * len(stories), 60,
                   "dedup to see the second copy of every story")
        wait_quiet(fresh_broker, topics.unique.name, quiet=4)
    finally:
        assert proc.stop() == 0, proc.log()[-3000:]
    assert len(read_values(fresh_broker, topics.unique.name)) == uniques_once
    assert _alert_ids(fresh_broker, topics) == (ids_once, n_once)


def test_poison_messages_go_to_the_dead_letter_topic(fresh_broker: str, tmp_path: Path) -> None:
    env, topics = _setup(fresh_broker)
    good = _dev_stories()[0]
    oversized = orjson.dumps({"story_id": "x", "body": "a" * (5 * 1024 * 1024)})
    asyncio.run(produce(fresh_broker, topics.raw.name, [
        (b"k1", b"\xff\xfe this is not JSON"),
        (b"k2", orjson.dumps({"story_id": 5, "title": ["not", "a", "story"]})),
        (b"k3", oversized),
        (b"k4", good.to_json_bytes()),
    ]))
    proc = Service("processor", env, tmp_path, "poison")
    try:
        wait_until(lambda: len(asyncio.run(read_topic(fresh_broker, topics.deadletter.name))) >= 3, 120,
                   "three dead letters")
        wait_until(lambda: len(read_values(fresh_broker, topics.unique.name)) >= 1, 60,
                   "the good story after the poison")
        assert proc.proc.poll() is None, "the processor must survive poison messages"
    finally:
        assert proc.stop() == 0, proc.log()[-3000:]
    letters = asyncio.run(read_topic(fresh_broker, topics.deadletter.name))
    classes = {}
    for headers, value in letters:
        body = orjson.loads(value)
        assert headers["wirewatch-origin-topic"].decode() == topics.raw.name
        assert int(headers["wirewatch-origin-offset"]) == body["origin_offset"]
        assert headers["wirewatch-origin-partition"] == b"0"
        classes[body["origin_offset"]] = headers["wirewatch-error-class"].decode()
    assert classes == {0: "not_json", 1: "schema_invalid", 2: "message_too_large"}
    unique = read_values(fresh_broker, topics.unique.name)
    assert [u["story"]["story_id"] for u in unique] == [good.story_id]  # type: ignore[index]


def test_a_poison_story_in_an_extraction_batch_fails_alone(fresh_broker: str, tmp_path: Path) -> None:
    # produced before the processor starts, so the extract agent takes them as one batch
    env, topics = _setup(fresh_broker)
    a, b = (UniqueStory(story=s, cluster_id=s.story_id, status="unique") for s in _dev_stories()[:2])
    asyncio.run(produce(fresh_broker, topics.unique.name, [
        (b"a", a.to_json_bytes()),
        (b"p1", b"{not json"),
        (b"p2", orjson.dumps({"story": {"story_id": "x"}, "status": "unique"})),
        (b"b", b.to_json_bytes()),
    ]))
    proc = Service("processor", env, tmp_path, "batch-poison")
    try:
        wait_until(lambda: len(asyncio.run(read_topic(fresh_broker, topics.deadletter.name))) >= 2, 120,
                   "two dead letters")
        wait_until(lambda: {c["story_id"] for c in read_values(fresh_broker, topics.claims.name)}
                   == {a.story.story_id, b.story.story_id}, 60, "the claims of both good stories")
    finally:
        assert proc.stop() == 0, proc.log()[-3000:]
    letters = asyncio.run(read_topic(fresh_broker, topics.deadletter.name))
    got = {int(h["wirewatch-origin-offset"]): (h["wirewatch-origin-topic"].decode(), orjson.loads(v)["stage"],
                                                h["wirewatch-error-class"].decode()) for h, v in letters}
    assert got == {1: (topics.unique.name, "extract", "not_json"),
                   2: (topics.unique.name, "extract", "schema_invalid")}
