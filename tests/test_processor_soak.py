"""A bounded soak: a steady stream through a real processor leaves its memory flat.

For SECONDS seconds a producer on 127.0.0.1 sends, every second, new distinct
stories (most without an event word, so cheap for NLP; one with a battle report,
so it goes through the parser, the ledger and the alert topics), syndicated
copies of recent stories under new ids, and re-polls of stories already sent.
The dedup window is 20 seconds, so stories keep entering and leaving it and the
eviction sweep runs several times.  The processor's resident memory
(/proc/<pid>/status VmRSS) is sampled once a second; after the first half of
the stream (model warm-up, table and index growth up to the window) it may not
keep growing.  Nothing here is timed: the rate is far below what one worker
handles, and the test waits for the processor to catch up before it judges.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from wirewatch.admin import create_topics
from wirewatch.models import RawStory
from wirewatch.topics import Topics

from .harness import Service, log_tails, service_env, settings_for, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.model, pytest.mark.slow]

SECONDS = 80
WINDOW_SECONDS = 20
# Per second: distinct cheap stories, distinct battle reports, copies, re-polls.
CHEAP, BATTLE, COPIES, REPOLLS = 8, 1, 8, 4
# What the second half may add to the resident set: the first half already filled the
# window (and Python's allocator keeps freed pages), so this is noise, not state.
GROWTH_BOUND_MB = 16.0

_WORDS = ("council", "market", "river", "school", "bridge", "harvest", "festival", "library", "museum",
          "railway", "hospital", "budget", "orchestra", "garden", "bakery", "stadium", "ferry", "tram",
          "cinema", "theatre", "harbour", "vineyard", "factory", "office", "committee", "mayor", "teacher",
          "farmer", "student", "artist", "driver", "nurse", "engineer", "pilot", "chef", "tailor", "painted",
          "opened", "visited", "reviewed", "approved", "delayed", "praised", "repaired", "planned",
          "announced")
_PLACES = ("Aleppo", "Kharkiv", "Khartoum", "Mosul", "Donetsk", "Idlib", "Bakhmut", "Tripoli", "Goma", "Sanaa")
_FORCES = ("government forces", "rebel fighters", "the army", "militia units", "separatist forces")
_OUTLETS = ("state television", "the defence ministry", "a rebel spokesman", "local officials")


def _sentence(rng: random.Random) -> str:
    w = rng.sample(_WORDS, 6)
    return (f"The {w[0]} {w[1]} {w[2]} the {w[3]} {w[4]} near the {w[5]} "
            f"for {rng.randint(2, 9999)} visitors on day {rng.randint(1, 9999)}.")


def _cheap_body(rng: random.Random) -> str:
    return "\n\n".join(" ".join(_sentence(rng) for _ in range(3)) for _ in range(3))


def _battle_body(rng: random.Random) -> str:
    place, other = rng.sample(_PLACES, 2)
    report = (f"{rng.choice(_OUTLETS).capitalize()} said {rng.choice(_FORCES)} captured {place} on Monday, "
              f"and that {rng.randint(3, 400)} people were killed in shelling of {other}.")
    return report + "\n\n" + _cheap_body(rng)


def _story(rng: random.Random, body: str) -> RawStory:
    sid = uuid.uuid4().hex
    now = datetime.now(UTC)
    return RawStory(story_id=sid, feed_id=f"soak{rng.randint(0, 9)}", outlet="Soak Wire",
                    url=f"https://example.org/{sid}", canonical_url=f"https://example.org/{sid}",
                    title=body[:60], body=body, published=now - timedelta(seconds=5), fetched_at=now)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


class Stream(threading.Thread):
    """Sends the steady mix for ``seconds`` seconds, one batch a second."""

    def __init__(self, bootstrap: str, topic: str, seconds: int, seed: int) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.seconds = bootstrap, topic, seconds
        self.rng = random.Random(seed)
        self.sent = 0
        self.distinct = 0
        self.copies = 0
        self.error: BaseException | None = None

    @property
    def recorded(self) -> int:
        """Stories that get a record in the dedup window: distinct ones and copies (not re-polls)."""
        return self.distinct + self.copies

    def run(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:
            self.error = exc

    async def _run(self) -> None:
        rng = self.rng
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=20)
        await producer.start()
        recent: list[RawStory] = []
        try:
            start = time.monotonic()
            for second in range(self.seconds):
                batch = [_story(rng, _cheap_body(rng)) for _ in range(CHEAP)]
                batch += [_story(rng, _battle_body(rng)) for _ in range(BATTLE)]
                self.distinct += len(batch)
                if recent:
                    # a syndicated copy: same text, another outlet's id and url
                    batch += [_story(rng, rng.choice(recent).body) for _ in range(COPIES)]
                    self.copies += COPIES
                    batch += [rng.choice(recent) for _ in range(REPOLLS)]  # a feed listing it again
                recent = (recent + batch[:CHEAP + BATTLE])[-50:]
                for s in batch:
                    await producer.send(self.topic, s.to_json_bytes(), key=s.feed_id.encode())
                await producer.flush()
                self.sent += len(batch)
                await asyncio.sleep(max(0.0, start + second + 1 - time.monotonic()))
        finally:
            await producer.stop()


def test_processor_memory_stays_flat_under_a_steady_stream(fresh_broker: str, tmp_path: Path) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    env = service_env(fresh_broker, prefix, 1,
                      WIREWATCH_DEDUP_WINDOW_DAYS=str(WINDOW_SECONDS / 86400),
                      WIREWATCH_LEDGER_WINDOW_DAYS=str(2 * WINDOW_SECONDS / 86400))
    asyncio.run(create_topics(settings_for(env)))
    topics = Topics(prefix, 1)
    proc = Service("processor", env, tmp_path, "soak")
    samples: list[float] = []
    try:
        wait_until(lambda: "ready: own" in proc.log(), 180, "the processor to be ready",
                   diagnose=lambda: log_tails(proc))
        stream = Stream(fresh_broker, topics.raw.name, SECONDS, seed=1)
        stream.start()
        while stream.is_alive():
            samples.append(round(_rss_mb(proc.proc.pid), 1))
            stream.join(timeout=1.0)
        assert stream.error is None, f"the test's producer failed: {stream.error!r}"

        def account() -> str:
            return (f"sent {stream.sent}; dedup saw {proc.metric('wirewatch_dedup_stories_total'):.0f}, "
                    f"extract {proc.metric('wirewatch_processed_messages_total', stage='extract'):.0f}, "
                    f"dead letters {proc.metric('wirewatch_deadletter_messages_total'):.0f}\n{log_tails(proc)}")

        # Judge a worker that kept up, not one that stalled with a backlog.
        wait_until(lambda: proc.metric("wirewatch_dedup_stories_total") >= stream.sent, 120,
                   "the processor to catch up with the stream", diagnose=account)
        window = proc.metric("wirewatch_dedup_window_stories")
        unique = proc.metric("wirewatch_dedup_unique_total")
        alerts = proc.metric("wirewatch_alerts_total")
        dead = proc.metric("wirewatch_deadletter_messages_total")
        assert proc.proc.poll() is None, log_tails(proc)
    finally:
        assert proc.stop() == 0, proc.log()[-3000:]
    half = samples[len(samples) // 2:]
    growth = statistics.median(half[-10:]) - statistics.median(half[:10])
    summary = (f"{stream.sent} messages ({stream.distinct} distinct, {stream.recorded} recorded, "
               f"{unique:.0f} passed dedup, {alerts:.0f} alerts); "
               f"dedup window holds {window:.0f} stories; RSS MB every second: {samples}")
    print(summary)
    assert dead == 0, summary
    assert alerts > 0, f"the battle reports must reach the ledger: {summary}"
    # The window is bounded: swept every 5 s, it holds what was fetched in the last 20-25 s
    # of an 80 s stream, well under half of all the stories recorded (distinct ones and copies).
    assert window < stream.recorded / 2, f"the dedup window did not shrink: {summary}"
    assert growth < GROWTH_BOUND_MB, f"RSS grew {growth:.1f} MB in the second half: {summary}"
