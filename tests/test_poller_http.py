"""The poller against a real HTTP server on 127.0.0.1: politeness, backoff, run-time changes."""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiokafka.errors import KafkaTimeoutError

from wirewatch import __version__
from wirewatch.models import FeedRecord, RawStory
from wirewatch.poller.service import Poller
from wirewatch.settings import Settings

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "poller"))
from feedserver import LAST_MODIFIED, FeedServer, conditional, etag_of, rss


class ListSink:
    def __init__(self) -> None:
        self.stories: list[RawStory] = []

    async def publish(self, story: RawStory) -> None:
        self.stories.append(story)


def make_settings(tmp_path: Path, **kw: Any) -> Settings:
    base: dict[str, Any] = dict(
        allow_hosts=["127.0.0.1"], poll_interval_seconds=0.05, poll_min_interval_seconds=0.05,
        poll_max_interval_seconds=0.2, poll_backoff_max_seconds=0.2, parse_workers=0, data_dir=tmp_path,
        fetch_timeout_seconds=5, user_agent_contact="https://example.org/wirewatch-test",
    )
    base.update(kw)
    return Settings(**base)


def feed(fid: str, url: str, **kw: Any) -> FeedRecord:
    return FeedRecord(feed_id=fid, url=url, outlet=kw.pop("outlet", "Test Outlet"),
                      updated_at=datetime.now(UTC), **kw)


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    s = await FeedServer().start()
    yield s
    await s.stop()


async def run_until(poller: Poller, cond: Any, timeout: float = 20.0) -> None:
    """Run the poller until ``cond()`` holds (a safety timeout only guards against a hang)."""
    task = asyncio.create_task(poller.run())
    try:
        async with asyncio.timeout(timeout):
            while not cond():
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_conditional_get_and_304(server: FeedServer, tmp_path: Path) -> None:
    body = rss("a", 5)
    server.feeds["/a.xml"] = body
    sink = ListSink()
    p = Poller(make_settings(tmp_path), sink, state_path=tmp_path / "s.json")
    p.upsert(feed("a", server.url("/a.xml")))
    first = await p.poll_once("a")
    assert (first.outcome, first.new_items) == ("ok", 5)
    assert "If-None-Match" not in server.last("/a.xml").headers
    second = await p.poll_once("a")
    hdrs = server.last("/a.xml").headers
    # Validators come back byte for byte, quotes included.
    assert hdrs["If-None-Match"] == etag_of(body)
    assert hdrs["If-Modified-Since"] == LAST_MODIFIED
    assert second.outcome == "not_modified" and second.items == 0 and second.new_items == 0
    assert len(sink.stories) == 5
    assert hdrs["User-Agent"] == f"wirewatch/{__version__} (+https://example.org/wirewatch-test)"
    assert "gzip" in hdrs["Accept-Encoding"]
    await p.aclose()


async def test_periodic_unconditional_fetch(server: FeedServer, tmp_path: Path) -> None:
    server.feeds["/a.xml"] = rss("a", 2)
    p = Poller(make_settings(tmp_path, poll_unconditional_seconds=0.001), ListSink(),
               state_path=tmp_path / "s.json")
    p.upsert(feed("a", server.url("/a.xml")))
    await p.poll_once("a")
    await asyncio.sleep(0.01)
    r = await p.poll_once("a")
    assert "If-None-Match" not in server.last("/a.xml").headers
    assert r.outcome == "ok" and r.new_items == 0  # refetched, nothing re-published
    await p.aclose()


async def test_new_items_only_and_updates(server: FeedServer, tmp_path: Path) -> None:
    server.feeds["/a.xml"] = rss("a", 3)
    sink = ListSink()
    p = Poller(make_settings(tmp_path), sink, state_path=tmp_path / "s.json")
    p.upsert(feed("a", server.url("/a.xml")))
    await p.poll_once("a")
    server.feeds["/a.xml"] = rss("a", 4)  # one new item
    r = await p.poll_once("a")
    assert r.new_items == 1 and sink.stories[-1].title == "a story 3"
    server.feeds["/a.xml"] = rss("a", 4, extra="Corrected.")  # every item's text changed
    r = await p.poll_once("a")
    assert r.new_items == 4
    await p.aclose()


class BatchSink:
    """A sink that takes a poll's stories at once (as the Kafka sink does); can be made to fail."""

    def __init__(self) -> None:
        self.calls: list[list[RawStory]] = []
        self.fail = False

    async def publish(self, story: RawStory) -> None:
        raise AssertionError("a batch sink is handed whole polls")

    async def publish_all(self, stories: Sequence[RawStory]) -> None:
        if self.fail:
            raise KafkaTimeoutError()
        self.calls.append(list(stories))


async def test_a_polls_new_stories_go_to_a_batch_sink_in_one_call(server: FeedServer, tmp_path: Path) -> None:
    server.feeds["/a.xml"] = rss("a", 3)
    sink = BatchSink()
    p = Poller(make_settings(tmp_path), sink, state_path=tmp_path / "s.json")
    p.upsert(feed("a", server.url("/a.xml")))
    await p.poll_once("a")
    assert [[s.title for s in call] for call in sink.calls] == [["a story 0", "a story 1", "a story 2"]]
    server.feeds["/a.xml"] = rss("a", 6)  # three more; the sink refuses them once
    sink.fail = True
    r = await p.poll_once("a")
    assert r.outcome == "error" and len(sink.calls) == 1
    sink.fail = False
    r = await p.poll_once("a")  # nothing was remembered of the refused poll: all three again, oldest first
    assert r.new_items == 3 and [s.title for s in sink.calls[-1]] == ["a story 3", "a story 4", "a story 5"]
    assert (await p.poll_once("a")).new_items == 0 and len(sink.calls) == 2  # no empty batch
    await p.aclose()


async def test_restart_does_not_republish(server: FeedServer, tmp_path: Path) -> None:
    body = rss("a", 10)

    async def no_validators(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/rss+xml")

    server.routes["/a.xml"] = no_validators
    state = tmp_path / "state.json"
    sink1 = ListSink()
    p1 = Poller(make_settings(tmp_path), sink1, state_path=state)
    p1.upsert(feed("a", server.url("/a.xml")))
    await p1.poll_once("a")
    await p1.aclose()
    assert len(sink1.stories) == 10 and state.exists()
    sink2 = ListSink()
    p2 = Poller(make_settings(tmp_path), sink2, state_path=state)
    p2.upsert(feed("a", server.url("/a.xml")))
    r = await p2.poll_once("a")
    assert r.outcome == "ok" and r.items == 10 and sink2.stories == []
    await p2.aclose()


@pytest.mark.parametrize("retry_after", ["120", "date"])
async def test_429_retry_after_honoured(server: FeedServer, tmp_path: Path, retry_after: str) -> None:
    value = retry_after
    if retry_after == "date":
        value = format_datetime(datetime.now(UTC) + timedelta(seconds=300), usegmt=True)

    async def limited(request: web.Request) -> web.Response:
        return web.Response(status=429, headers={"Retry-After": value})

    server.routes["/a.xml"] = limited
    s = make_settings(tmp_path, poll_backoff_max_seconds=1.0)
    p = Poller(s, ListSink(), state_path=tmp_path / "s.json")
    p.upsert(feed("a", server.url("/a.xml")))
    r = await p.poll_once("a")
    assert r.outcome == "error" and r.error_class == "http_4xx"
    low = 120 if retry_after == "120" else 290
    # The server's wish beats our (short) backoff cap.
    assert r.next_poll_in >= low
    st = p.status()[0]
    assert st.state == "failing" and st.consecutive_failures == 1 and "429" in (st.last_error or "")
    await p.aclose()


@pytest.mark.parametrize("bad", ["-1", "abc", "Fri, 31 Dec 9999 23:59:59 GMT"])
async def test_hostile_retry_after_is_clamped(server: FeedServer, tmp_path: Path, bad: str) -> None:
    async def limited(request: web.Request) -> web.Response:
        return web.Response(status=503, headers={"Retry-After": bad})

    server.routes["/a.xml"] = limited
    s = make_settings(tmp_path, poll_backoff_max_seconds=1.0, poll_max_interval_seconds=3600.0)
    p = Poller(s, ListSink(), state_path=tmp_path / "s.json")
    p.upsert(feed("a", server.url("/a.xml")))
    r = await p.poll_once("a")
    assert r.error_class == "http_5xx"
    assert 0 < r.next_poll_in <= 7 * 86400  # never "after ten years", never zero
    await p.aclose()


async def test_backoff_grows_and_is_capped(server: FeedServer, tmp_path: Path) -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500)

    server.routes["/a.xml"] = broken
    cap = 3.0
    s = make_settings(tmp_path, poll_min_interval_seconds=0.1, poll_backoff_max_seconds=cap)
    # min_interval=0: the backoff itself is under test here, not the poll floor
    p = Poller(s, ListSink(), state_path=tmp_path / "s.json", rng=random.Random(7), min_interval=0)
    p.upsert(feed("a", server.url("/a.xml")))
    delays = [(await p.poll_once("a")).next_poll_in for _ in range(12)]
    growing = delays[:5]  # 0.1 * 2^4 = 1.6 < cap
    assert growing == sorted(growing) and growing[-1] > 4 * growing[0]
    assert all(0 < d <= cap for d in delays)
    assert max(delays[-4:]) >= cap / 2  # it reached the cap and stays there
    assert p.status()[0].consecutive_failures == 12
    await p.aclose()


async def test_feed_failing_50_times_is_still_retried_and_reported(server: FeedServer,
                                                                  tmp_path: Path) -> None:
    healthy = {"on": False}

    async def flaky(request: web.Request) -> web.Response:
        if healthy["on"]:
            return conditional(request, rss("a", 1))
        return web.Response(status=503)

    server.routes["/a.xml"] = flaky
    s = make_settings(tmp_path, poll_min_interval_seconds=0.001, poll_backoff_max_seconds=0.01)
    sink = ListSink()
    p = Poller(s, sink, state_path=tmp_path / "s.json", min_interval=0)  # 50 failures in well under a second
    p.upsert(feed("a", server.url("/a.xml")))
    await run_until(p, lambda: server.count("/a.xml") >= 52)
    st = p.status()[0]
    assert st.state == "failing" and st.consecutive_failures >= 50
    assert st.error_class == "http_5xx" and st.next_poll is not None
    healthy["on"] = True
    await run_until(p, lambda: p.status()[0].state == "ok")
    assert len(sink.stories) == 1 and p.status()[0].consecutive_failures == 0


async def test_per_host_limit_under_200_feeds(tmp_path: Path) -> None:
    server = await FeedServer(delay=0.01).start()
    try:
        for i in range(200):
            server.feeds[f"/f{i}.xml"] = rss(f"f{i}", 2)
        s = make_settings(tmp_path, poll_per_host=2, poll_concurrency=50, poll_interval_seconds=60,
                          poll_min_interval_seconds=60, poll_max_interval_seconds=120)
        sink = ListSink()
        p = Poller(s, sink, state_path=tmp_path / "s.json")
        for i in range(200):
            p.upsert(feed(f"f{i}", server.url(f"/f{i}.xml")))
        await run_until(p, lambda: len({h.path for h in server.hits}) == 200 and len(sink.stories) == 400)
        print("DBG", len(server.hits), server.max_inflight, flush=True)
        assert server.max_inflight == 2  # the limit was reached and never exceeded
        assert len(server.hits) == 200  # nobody polled twice within the interval
    finally:
        await server.stop()


async def test_feed_added_at_run_time_is_polled_within_one_interval(server: FeedServer,
                                                                    tmp_path: Path) -> None:
    server.feeds["/old.xml"] = rss("old", 1)
    server.feeds["/new.xml"] = rss("new", 1)
    interval = 30.0
    s = make_settings(tmp_path, poll_interval_seconds=interval, poll_min_interval_seconds=interval,
                      poll_max_interval_seconds=interval)
    p = Poller(s, ListSink(), state_path=tmp_path / "s.json")
    p.upsert(feed("old", server.url("/old.xml")))
    task = asyncio.create_task(p.run())
    try:
        async with asyncio.timeout(interval):
            while server.count("/old.xml") < 1:
                await asyncio.sleep(0.01)
            p.upsert(feed("new", server.url("/new.xml")))
            while server.count("/new.xml") < 1:
                await asyncio.sleep(0.01)
        # The new feed was polled before the old one came round again.
        assert server.count("/old.xml") == 1
        # Pausing stops it; removing forgets it.
        p.upsert(feed("new", server.url("/new.xml"), paused=True))
        assert {x.feed_id: x.state for x in p.status()}["new"] == "paused"
        p.remove("old")
        assert [x.feed_id for x in p.status()] == ["new"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert (tmp_path / "s.json").exists()  # cancellation saved the state


async def test_owns_predicate_limits_feeds(server: FeedServer, tmp_path: Path) -> None:
    for name in ("a", "b"):
        server.feeds[f"/{name}.xml"] = rss(name, 1)
    p = Poller(make_settings(tmp_path), ListSink(), state_path=tmp_path / "s.json",
               owns=lambda fid: fid == "a", min_interval=0)  # three polls of "a" in a moment
    p.upsert(feed("a", server.url("/a.xml")))
    p.upsert(feed("b", server.url("/b.xml")))
    await run_until(p, lambda: server.count("/a.xml") >= 3)
    assert server.count("/b.xml") == 0


async def test_file_feeds_and_unsupported_schemes(tmp_path: Path) -> None:
    f = tmp_path / "feed.xml"
    f.write_bytes(rss("file", 3))
    sink = ListSink()
    p = Poller(make_settings(tmp_path), sink, state_path=tmp_path / "s.json")
    p.upsert(feed("file", f.as_uri()))
    p.upsert(feed("ftp", "ftp://example.org/feed.xml"))
    p.upsert(feed("gone", (tmp_path / "missing.xml").as_uri()))
    assert (await p.poll_once("file")).new_items == 3
    assert (await p.poll_once("file")).outcome == "not_modified"  # unchanged mtime
    bad = await p.poll_once("ftp")
    assert bad.error_class == "unsupported_scheme" and "\n" not in (bad.error or "")
    gone = await p.poll_once("gone")
    assert gone.error_class == "unreadable" and "missing.xml" in (gone.error or "")
    await p.aclose()


async def test_global_breaker_does_not_blame_feeds(tmp_path: Path) -> None:
    # Nothing listens on these ports: every fetch fails to connect, on several hosts.
    s = make_settings(tmp_path, allow_hosts=["127.0.0.0/8"], poll_backoff_max_seconds=60.0)
    p = Poller(s, ListSink(), state_path=tmp_path / "s.json")
    for i in range(6):
        p.upsert(feed(f"d{i}", f"http://127.0.0.{i + 2}:9/feed.xml"))
    for i in range(6):
        r = await p.poll_once(f"d{i}")
        assert r.error_class == "connect"
    assert p.breaker_open
    failures = {x.feed_id: x.consecutive_failures for x in p.status()}
    # The fifth failure on distinct hosts opened it; from then on failures stop counting.
    assert list(failures.values()) == [1, 1, 1, 1, 0, 0]
    assert {x.error_class for x in p.status()} == {"connect"}  # still reported
    await p.aclose()


async def test_full_text_fetch_for_summary_only_feeds(server: FeedServer, tmp_path: Path) -> None:
    para = ("Negotiators met on Monday in the capital to resume talks on a ceasefire, officials said, after "
            "weeks of fighting along the northern front that displaced thousands of families. ")
    page = (f"<html><body><nav><a href='/'>Home</a></nav><article><h1>Talks resume</h1><p>{para * 3}</p>"
            f"<figure><img src='a.jpg'><figcaption>Photo: an agency</figcaption></figure>"
            f"<p>{para * 2}</p></article><footer>Copyright</footer></body></html>").encode()

    async def article(request: web.Request) -> web.Response:
        return web.Response(body=page, content_type="text/html")

    server.routes["/news/1"] = article
    items = "".join(
        f"<item><title>Talks resume</title><link>{server.url(f'/news/{i}')}</link><guid>n{i}</guid>"
        f"<description>Short summary {i}.</description></item>" for i in (1, 2))
    doc = f'<rss version="2.0"><channel><title>s</title>{items}</channel></rss>'
    server.feeds["/summary.xml"] = doc.encode()
    sink = ListSink()
    s = make_settings(tmp_path, poll_unconditional_seconds=0.001)
    p = Poller(s, sink, state_path=tmp_path / "s.json")
    p.upsert(feed("s", server.url("/summary.xml"), full_text=True))
    r = await p.poll_once("s")
    assert r.new_items == 2
    full, missing = sorted(sink.stories, key=lambda s: s.guid or "")
    assert full.body.startswith("Negotiators met") and "Photo:" not in full.body and "\n\n" in full.body
    assert missing.body == "Short summary 2."  # the page 404s: the summary stays
    await asyncio.sleep(0.01)
    again = await p.poll_once("s")  # unconditional refetch: nothing is new, no page fetched again
    assert again.new_items == 0 and server.count("/news/1") == 1
    await p.aclose()
