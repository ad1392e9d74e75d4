"""Poller pieces without a network: schedule policy, feeds file, state, source plug-ins."""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from wirewatch.errors import ConfigError, FeedError
from wirewatch.models import FeedRecord, RawStory
from wirewatch.poller import schedule as sch
from wirewatch.poller.feedsfile import load_feeds
from wirewatch.poller.service import Poller
from wirewatch.poller.sitemap import parse_news_sitemap
from wirewatch.poller.sources import FeedSource, NewsSitemapSource, source_class
from wirewatch.poller.state import SEEN_MAX, FeedState, StateStore
from wirewatch.settings import Settings

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "poller"))
from feedserver import FeedServer, ListSink, serve

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
FEED = FeedRecord(feed_id="t", url="http://example.org/feed", outlet="Test", updated_at=NOW)


# -- schedule ------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "expected"), [
    ("120", 120.0), ("0", 0.0), ("-1", None), ("abc", None), ("1.5", None), (None, None),
    (format_datetime(NOW + timedelta(minutes=5), usegmt=True), 300.0),
    (format_datetime(NOW - timedelta(minutes=5), usegmt=True), 0.0),  # in the past: no wait
    ("Fri, 31 Dec 9999 23:59:59 GMT", sch.RETRY_AFTER_MAX),  # clamped
    ("99999999999", sch.RETRY_AFTER_MAX),
])
def test_retry_after(value: str | None, expected: float | None) -> None:
    assert sch.parse_retry_after(value, NOW) == expected


def test_cache_lifetime() -> None:
    assert sch.cache_lifetime({"cache-control": "public, max-age=600"}, NOW) == 600
    assert sch.cache_lifetime({"cache-control": "no-cache, max-age=600"}, NOW) is None
    exp = format_datetime(NOW + timedelta(hours=1), usegmt=True)
    assert sch.cache_lifetime({"expires": exp}, NOW) == 3600
    assert sch.cache_lifetime({"expires": "0"}, NOW) is None
    assert sch.cache_lifetime({}, NOW) is None


def test_adaptive_interval_follows_the_posting_rate() -> None:
    now = NOW.timestamp()
    hourly = [now - 3600 * i for i in range(168)]  # one item an hour for a week
    assert sch.adaptive_interval(hourly, now, 900, 300, 86400) == pytest.approx(3600, rel=0.01)
    busy = [now - 60 * i for i in range(100)]  # every minute: clamped to the minimum
    assert sch.adaptive_interval(busy, now, 900, 300, 86400) == 300
    assert sch.adaptive_interval([now - 3600, now - 7200, now - 5 * 86400], now, 900, 300, 86400) == 86400
    stale = [now - 30 * 86400, now - 40 * 86400]  # nothing this week: the maximum
    assert sch.adaptive_interval(stale, now, 900, 300, 86400) == 86400
    assert sch.adaptive_interval([], now, 900, 300, 86400) == 900  # no history: the default
    future = [now + 10 * 86400] * 50  # future-dated items say nothing
    assert sch.adaptive_interval(future, now, 900, 300, 86400) == 900


def test_success_delay_honours_ttl_cache_and_retry_after_as_minimums() -> None:
    rng = random.Random(1)
    for floor_kw in ({"ttl": 3600.0}, {"cache": 3600.0}, {"retry_after": 3600.0}):
        d = sch.next_success_delay(300, lo=60, hi=86400, rng=rng, **floor_kw)
        assert 3600 * 0.9 <= d <= 3600 * 1.1
    # ...but never beyond the maximum interval.
    assert sch.next_success_delay(300, lo=60, hi=1800, ttl=7 * 86400, rng=rng) <= 1800 * 1.1


def test_backoff_is_monotone_until_the_cap_and_jitter_stays_in_bounds() -> None:
    for seed in range(200):
        rng = random.Random(seed)
        delays = [sch.backoff_delay(n, 60, 6 * 3600, rng) for n in range(1, 40)]
        uncapped = [d for n, d in enumerate(delays, 1) if 60 * 2 ** (n - 1) <= 6 * 3600]
        assert uncapped == sorted(uncapped)
        for n, d in enumerate(delays, 1):
            full = min(6 * 3600, 60 * 2 ** (n - 1))
            assert full / 2 <= d <= full  # never zero, never above the cap
    assert sch.backoff_delay(1, 60, 3600, random.Random(0), retry_after=7200) == 7200


def test_jitter_bounds() -> None:
    rng = random.Random(3)
    values = [sch.with_jitter(1000, rng) for _ in range(2000)]
    assert min(values) >= 900 and max(values) <= 1100 and max(values) - min(values) > 150


# -- feeds file -------------------------------------------------------------------------------
def test_yaml_and_toml_feed_files(tmp_path: Path) -> None:
    (tmp_path / "local.xml").write_text("<rss/>")
    y = tmp_path / "feeds.yaml"
    y.write_text("feeds:\n"
                 "  - url: https://example.org/world.rss\n    outlet: Example News\n    id: ex-world\n"
                 "    interval_seconds: 600\n"
                 "  - url: local.xml\n    paused: true\n")
    feeds = load_feeds(y)
    assert feeds[0].feed_id == "ex-world" and feeds[0].interval_seconds == 600
    assert feeds[1].url == (tmp_path / "local.xml").as_uri() and feeds[1].paused
    assert feeds[1].outlet == "local" and feeds[1].feed_id.startswith("local-")
    t = tmp_path / "feeds.toml"
    t.write_text('[[feeds]]\nurl = "https://example.org/a.rss"\noutlet = "A"\nsource = "sitemap"\n')
    (tf,) = load_feeds(t)
    assert tf.outlet == "A" and tf.source == "sitemap"
    assert load_feeds(t)[0].feed_id == tf.feed_id  # ids are stable


@pytest.mark.parametrize(("text", "suffix", "needle"), [
    ("feeds:\n  - url: ftp://example.org/x\n", ".yaml", "unsupported scheme 'ftp'"),
    ("feeds:\n  - url: https://a/x\n    colour: red\n", ".yaml", "unknown key(s) 'colour'"),
    ("feeds:\n  - outlet: A\n", ".yaml", "missing 'url'"),
    ("feeds:\n  - {url: 'https://a/x', id: a}\n  - {url: 'https://a/y', id: a}\n", ".yaml", "duplicate id"),
    ("feeds: [\n", ".yaml", "not valid YAML"),
    ("[[feeds]\n", ".toml", "not valid TOML"),
    ("feeds: 3\n", ".yaml", "must be a list"),
    ("feeds:\n  - url: https://a/x\n    interval_seconds: -5\n", ".yaml", "interval_seconds"),
])
def test_bad_feed_files_are_one_clear_line(tmp_path: Path, text: str, suffix: str, needle: str) -> None:
    p = tmp_path / f"feeds{suffix}"
    p.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_feeds(p)
    msg = str(info.value)
    assert needle in msg and "\n" not in msg and str(p) in msg


def test_missing_feed_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_feeds(tmp_path / "nope.yaml")


# -- state ------------------------------------------------------------------------------------
def _story(i: int, body: str = "b") -> RawStory:
    return RawStory(story_id=f"s{i}", feed_id="t", outlet="T", url=f"http://e/{i}", canonical_url=f"http://e/{i}",
                    title=f"t{i}", body=body, published=NOW, fetched_at=NOW)


def test_state_roundtrip_and_bounds(tmp_path: Path) -> None:
    st = FeedState(etag='W/"abc"', last_modified="Tue, 14 Nov 2023 22:13:20 GMT", consecutive_failures=3)
    st.remember([_story(i) for i in range(SEEN_MAX + 50)])
    assert len(st.seen) == SEEN_MAX and "s0" not in st.seen and f"s{SEEN_MAX + 49}" in st.seen
    assert not st.is_new(_story(SEEN_MAX + 1)) and st.is_new(_story(SEEN_MAX + 1, body="changed"))
    store = StateStore(tmp_path / "state.json")
    store.save({"t": st})
    back = store.load()["t"]
    assert back.etag == 'W/"abc"' and back.consecutive_failures == 3 and back.seen == st.seen


def test_corrupt_state_starts_fresh(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{not json")
    assert StateStore(tmp_path / "state.json").load() == {}


# -- sources ----------------------------------------------------------------------------------------
SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>https://example.org/world/ceasefire-talks</loc>
    <news:news><news:publication><news:name>Example</news:name><news:language>en</news:language>
    </news:publication><news:publication_date>2026-01-01T10:00:00Z</news:publication_date>
    <news:title>Ceasefire talks resume</news:title></news:news></url>
  <url><loc>https://example.org/about</loc></url>
  <url><loc>javascript:alert(1)</loc><news:news><news:title>x</news:title></news:news></url>
</urlset>"""


def test_news_sitemap_parsing() -> None:
    parsed = parse_news_sitemap(SITEMAP, FEED, NOW)
    (s,) = parsed.items
    assert parsed.dropped == {"malformed": 1}  # the javascript: loc, counted
    assert s.title == "Ceasefire talks resume" and s.url == "https://example.org/world/ceasefire-talks"
    assert s.published == datetime(2026, 1, 1, 10, tzinfo=UTC) and not s.published_inferred
    assert s.language == "en"
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><urlset>&a;</urlset>'
    with pytest.raises(FeedError) as info:
        parse_news_sitemap(bomb, FEED, NOW)
    assert info.value.code == "unsafe_xml"


def test_source_registry() -> None:
    assert source_class("rss") is FeedSource and source_class("sitemap") is NewsSitemapSource
    with pytest.raises(ConfigError, match="unknown source 'nope'"):
        source_class("nope")


async def test_sitemap_source_through_the_poller(tmp_path: Path) -> None:
    server = await FeedServer().start()

    serve(server, "/news-sitemap.xml", SITEMAP, "application/xml")
    sink = ListSink()
    settings: Any = Settings(allow_hosts=["127.0.0.1"], parse_workers=0, data_dir=tmp_path)
    p = Poller(settings, sink, state_path=tmp_path / "s.json")
    p.upsert(FeedRecord(feed_id="sm", url=server.url("/news-sitemap.xml"), outlet="Example", source="sitemap",
                        updated_at=NOW))
    p.upsert(FeedRecord(feed_id="bad", url=server.url("/x"), outlet="Example", source="nope", updated_at=NOW))
    try:
        r = await p.poll_once("sm")
        assert r.outcome == "ok" and [s.title for s in sink.stories] == ["Ceasefire talks resume"]
        bad = await p.poll_once("bad")
        assert bad.error_class == "config" and "unknown source" in (bad.error or "")
    finally:
        await p.aclose()
        await server.stop()
