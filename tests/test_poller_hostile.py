"""Issue 18, the poller side: one hostile or sloppy input per defect, through the poller.

Each test names its defect (the issue's numbering).  The inputs are new ones of the same
kind (tests/fixtures/poller/hostile.py), and each checks the property, not the example:
every field of a story bounded where it is built, nothing dropped without a count, a
reason and a log line, dates and links read by rule.  Broker lifecycle (4) is in
test_broker_lifecycle.py; the alert wording of 9 in test_alert_grammar.py.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from wirewatch import metrics as m
from wirewatch.cli import _feed_lines, _poller_status
from wirewatch.errors import FeedError
from wirewatch.limits import MAX_RAW_STORY_BYTES
from wirewatch.models import MAX_URL_CHARS, FeedRecord, RawStory
from wirewatch.poller.fetch import Fetcher
from wirewatch.poller.html import html_to_text
from wirewatch.poller.parse import MAX_ITEMS, ParsedFeed, check_xml_safety, parse_feed
from wirewatch.poller.service import Poller
from wirewatch.poller.worker import ParsePool
from wirewatch.replay import read_feed_files
from wirewatch.settings import Settings

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "poller"))
from feedserver import FeedServer, ListSink, rss, serve
from hostile import KeepAliveServer, atom, item, json_feed, news_sitemap, quadratic_prolog, rss_items

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
FEED = FeedRecord(feed_id="hostile", url="https://feeds.example/news.xml", outlet="Hostile", updated_at=NOW)


def settings(tmp_path: Path, **kw: Any) -> Settings:
    base: dict[str, Any] = dict(allow_hosts=["127.0.0.1"], parse_workers=0, data_dir=tmp_path,
                                fetch_timeout_seconds=5, poll_backoff_max_seconds=60)
    base.update(kw)
    return Settings(**base)


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    s = await FeedServer().start()
    yield s
    await s.stop()


async def poll(server: FeedServer, tmp_path: Path, body: bytes, *, fid: str = "h", ctype: str = "application/rss+xml",
               **kw: Any) -> tuple[Poller, ListSink, Any]:
    serve(server, f"/{fid}", body, ctype)
    sink = ListSink()
    p = Poller(settings(tmp_path), sink, state_path=tmp_path / "s.json", **kw)
    p.upsert(FeedRecord(feed_id=fid, url=server.url(f"/{fid}"), outlet="Hostile", updated_at=NOW))
    r = await p.poll_once(fid)
    return p, sink, r


def counted(metric: Any, **labels: str) -> float:
    value: float = metric.labels(**labels)._value.get()
    return value


# -- 1: a story's link and every string field capped where the poller builds the story -----------------
async def test_1_huge_links_and_fields_are_capped_where_the_story_is_built(server: FeedServer,
                                                                           tmp_path: Path) -> None:
    giant = "https://news.example/" + "seg/" * 140_000  # 560 KB: every claim and alert copies the link
    authors = "".join(f"<author>Reporter {i}</author>" for i in range(5_000))
    body = rss_items(
        item("Town taken", link=giant, guid="capture-1"),
        item("Town denied", link=giant, guid="denial-1"),
        item("Crowded byline", link="https://news.example/b", guid="g-" + "x" * 50_000,
             extra=authors.replace("<author>", "<dc:creator>").replace("</author>", "</dc:creator>")
             + "<dc:language>" + "en-" * 2_000 + "</dc:language>"),
        item("Twin", link="https://news.example/t", guid="g-" + "x" * 50_000 + "-twin"),
        namespaces='xmlns:dc="http://purl.org/dc/elements/1.1/"')
    p, sink, r = await poll(server, tmp_path, body, fid="caps")
    await p.aclose()
    assert r.outcome == "ok" and r.new_items == 4
    for s in sink.stories:
        assert len(s.url) <= MAX_URL_CHARS and len(s.canonical_url) <= MAX_URL_CHARS
        assert s.guid is None or len(s.guid) <= 2000
        assert len(s.authors) <= 20 and all(len(a) <= 200 for a in s.authors)
        assert s.language is None or len(s.language) <= 35
        assert len(s.to_json_bytes()) < 100_000  # far below any message cap: bounded where built
        RawStory.model_validate_json(s.to_json_bytes())  # and within the model's caps
    taken, denied, crowded, twin = sink.stories
    assert taken.url == denied.url == "" and taken.guid == "capture-1"  # the link is dropped, the id kept
    assert crowded.story_id != twin.story_id  # long guids sharing a prefix stay two stories
    # said, not silent: counted per feed and field, kept in the feed's state
    assert counted(m.FIELDS_TRIMMED, feed="caps", field="link") == 2
    assert p.states["caps"].trimmed == {"link": 2, "guid": 2, "authors": 1, "language": 1}


def test_1_the_models_refuse_what_the_caps_forbid() -> None:
    ok = dict(story_id="g:1", feed_id="f", outlet="o", url="", canonical_url="", published=NOW, fetched_at=NOW)
    for name, value in (("url", "https://x.example/" + "a" * MAX_URL_CHARS), ("title", "t" * 1001),
                        ("authors", ["a"] * 21), ("language", "x" * 36), ("guid", "g" * 2001)):
        with pytest.raises(ValueError):
            RawStory.model_validate({**ok, name: value})
    with pytest.raises(ValueError):
        FeedRecord(feed_id="f", url="https://x.example/", outlet="o", source="s" * 65, updated_at=NOW)


# -- 5: one bad date no longer sinks a JSON Feed -------------------------------------------------------------
@pytest.mark.parametrize("absurd", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00-05:00", "0000-00-00"])
def test_5_one_absurd_date_does_not_sink_a_json_feed(absurd: str) -> None:
    doc = json_feed([
        {"id": "a", "url": "https://j.example/a", "title": "Before", "date_published": "2025-06-01T08:00:00Z"},
        {"id": "b", "url": "https://j.example/b", "title": "Absurd", "date_published": absurd},
        {"id": "c", "url": "https://j.example/c", "title": "After", "date_modified": 17},  # a wrong type too
    ])
    parsed = parse_feed(doc, FEED, NOW)
    assert [s.title for s in parsed.items] == ["Before", "Absurd", "After"]
    assert parsed.items[1].published_inferred and parsed.items[1].published == NOW


# -- 6: validators that are not ASCII still make conditional requests ------------------------------------------
async def test_6_non_ascii_validators_keep_conditional_polling_working(tmp_path: Path) -> None:
    etag = '"r\u00e9sum\u00e9-7"'.encode()  # UTF-8 bytes in an ETag
    modified = b"Mon, 02 Jun 2025 10:00:00 GMT \xa7"  # a stray latin-1 byte
    feed = rss("v", 2)

    async def respond(path: bytes, writer: asyncio.StreamWriter) -> None:
        last = server.requests[-1]
        if etag in last and modified in last:  # both came back byte for byte
            writer.write(b"HTTP/1.1 304 Not Modified\r\nETag: " + etag + b"\r\nContent-Length: 0\r\n\r\n")
            return
        writer.write(b"HTTP/1.1 200 OK\r\nETag: " + etag + b"\r\nLast-Modified: " + modified
                     + b"\r\nContent-Type: application/rss+xml\r\nContent-Length: %d\r\n\r\n" % len(feed) + feed)

    server = await KeepAliveServer(respond).start()
    p = Poller(settings(tmp_path), ListSink(), state_path=tmp_path / "s.json")
    p.upsert(FeedRecord(feed_id="v", url=server.url("/v.xml"), outlet="V", updated_at=NOW))
    try:
        first = await p.poll_once("v")
        second = await p.poll_once("v")
    finally:
        await p.aclose()
        await server.stop()
    assert first.outcome == "ok" and (second.outcome, second.error_class) == ("not_modified", None)


# -- 7: a body longer than its Content-Length poisons no later response ---------------------------------------
async def test_7_a_body_longer_than_its_content_length_does_not_leak_into_the_next_response() -> None:
    honest = rss("honest", 1)
    smuggled = (b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 23\r\n\r\n"
                b"<rss>smuggled!!!!</rss>")

    async def respond(path: bytes, writer: asyncio.StreamWriter) -> None:
        if path == b"/lying.xml":  # declares 10 bytes, sends a whole response more
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n<rss></rs" + b">" + smuggled)
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(honest) + honest)

    server = await KeepAliveServer(respond).start()
    f = Fetcher(Settings(allow_hosts=["127.0.0.1"], fetch_timeout_seconds=5))
    try:
        await f.fetch(server.url("/lying.xml"))
        bodies = [(await f.fetch(server.url(f"/next{i}.xml"))).body for i in range(3)]
    finally:
        await f.aclose()
        await server.stop()
    assert bodies == [honest] * 3


# -- 8: the news-sitemap source parses in the limited parse workers --------------------------------------------
class RecordingPool(ParsePool):
    """A real parse pool (worker processes) that records what it was asked to parse."""

    def __init__(self) -> None:
        super().__init__(1, cpu_seconds=10, memory_bytes=1 << 30, wall_seconds=30)
        self.formats: list[str] = []

    async def parse(self, *args: Any, **kw: Any) -> ParsedFeed:
        self.formats.append(kw.get("format", "feed"))
        return await super().parse(*args, **kw)


async def test_8_news_sitemaps_parse_in_the_limited_parse_workers(server: FeedServer, tmp_path: Path) -> None:
    serve(server, "/sitemap.xml", news_sitemap(MAX_ITEMS + 40), "application/xml")
    pool = RecordingPool()
    sink = ListSink()
    p = Poller(settings(tmp_path), sink, state_path=tmp_path / "s.json", parse_pool=pool)
    p.upsert(FeedRecord(feed_id="sm", url=server.url("/sitemap.xml"), outlet="N", source="sitemap",
                        updated_at=NOW))
    try:
        r = await p.poll_once("sm")
    finally:
        await p.aclose()
    assert pool.formats == ["sitemap"]  # in a worker process, under its CPU, memory and time limits
    assert r.outcome == "ok" and len(sink.stories) == MAX_ITEMS
    assert p.states["sm"].last_dropped == {"over_item_cap": 40}  # the rest counted, as for a feed


# -- 9: the smaller ones ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["\u00b2", "\u0663", "\uff19", "1e3", "12\u00b2"])  # ², Arabic 3, fullwidth 9
async def test_9_a_retry_after_that_is_no_number_is_ignored_not_a_crash(server: FeedServer, tmp_path: Path,
                                                                        value: str) -> None:
    async def limited(request: web.Request) -> web.Response:
        return web.Response(status=429, headers={"Retry-After": value})

    server.routes["/r.xml"] = limited
    p = Poller(settings(tmp_path), ListSink(), state_path=tmp_path / "s.json")
    p.upsert(FeedRecord(feed_id="r", url=server.url("/r.xml"), outlet="R", updated_at=NOW))
    r = await p.poll_once("r")
    await p.aclose()
    assert r.error_class == "http_4xx"  # the 429, not an "internal" crash of ours


async def test_9_a_tiny_fixed_interval_is_raised_to_the_floor(server: FeedServer, tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    server.feeds["/busy.xml"] = rss("busy", 1)
    p = Poller(settings(tmp_path), ListSink(), state_path=tmp_path / "s.json")
    with caplog.at_level(logging.WARNING, logger="wirewatch.poller.service"):
        p.upsert(FeedRecord(feed_id="busy", url=server.url("/busy.xml"), outlet="B", interval_seconds=0.001,
                            updated_at=NOW))
    task = asyncio.create_task(p.run())
    await asyncio.sleep(1.5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert server.count("/busy.xml") == 1  # not hundreds: the next poll is at least 10 s away
    assert p.states["busy"].next_poll - p.states["busy"].last_attempt >= 10  # type: ignore[operator]
    assert sum("below the floor" in r.getMessage() for r in caplog.records) == 1


async def test_9_localhost_allowed_by_its_loopback_address_also_connects_when_it_resolves_to_ipv6(
        server: FeedServer) -> None:
    server.feeds["/l.xml"] = rss("l", 1)

    async def both_families(host: str, port: int) -> list[str]:
        return ["::1", "127.0.0.1"]  # what many hosts files say

    f = Fetcher(Settings(allow_hosts=["127.0.0.1"]), resolver=both_families)
    try:
        r = await f.fetch(f"http://localhost:{server.port}/l.xml")
        assert r.status == 200
        # and no other name gets the same leeway: one private answer is one too many
        async def mixed(host: str, port: int) -> list[str]:
            return ["::1", "127.0.0.1"]
        g = Fetcher(Settings(allow_hosts=["127.0.0.1"]), resolver=mixed)
        with pytest.raises(FeedError) as info:
            await g.fetch(f"http://intranet.test:{server.port}/l.xml")
        await g.aclose()
        assert info.value.code == "ssrf_blocked"
    finally:
        await f.aclose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_9_metrics_listen_where_the_log_says() -> None:
    port = _free_port()
    served = m.serve(port, m.LOCAL_ONLY)
    assert served == f"http://127.0.0.1:{port}/metrics"
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    with pytest.raises(OSError), socket.create_connection(("127.0.0.2", port), timeout=2):
        pass  # another address of this machine: not listened on


@pytest.mark.parametrize(("name", "doc"), [
    ("UTF-32 without a byte-order mark", quadratic_prolog().encode("utf-32-le")),
    ("UTF-32 big-endian", quadratic_prolog().encode("utf-32-be")),
    ("UTF-16 led by white space, no mark", quadratic_prolog(lead="\n  \t").encode("utf-16-le")),
    ("UTF-16 big-endian led by white space", quadratic_prolog(lead="  ").encode("utf-16-be")),
    ("declared after 300 KB of comment", quadratic_prolog(padding=300_000).encode()),
    ("after 300 KB, in UTF-16", quadratic_prolog(padding=300_000).encode("utf-16")),
])
def test_9_entity_declarations_are_found_in_any_encoding_and_anywhere_in_the_prolog(name: str, doc: bytes) -> None:
    with pytest.raises(FeedError) as info:
        check_xml_safety(doc)
    assert info.value.code == "unsafe_xml", name


# -- 10: a truncated or garbage document, a 304 before any 200 ----------------------------------------------------
@pytest.mark.parametrize("doc", [
    rss_items(item("one", link="https://t.example/1"))[:120],  # cut inside the channel, before any item ends
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Evening ed',
    b"<rss version='2.0'>\x00\x01\x02\xff\xfe garbage \x8f\x90 <<<>>>",
])
def test_10_a_truncated_or_garbage_document_is_a_parse_error_not_an_empty_feed(doc: bytes) -> None:
    with pytest.raises(FeedError) as info:
        parse_feed(doc, FEED, NOW)
    assert info.value.code in ("parse_error", "not_a_feed")


async def test_10_a_304_to_a_request_without_validators_is_a_failure(server: FeedServer, tmp_path: Path) -> None:
    async def always_304(request: web.Request) -> web.Response:
        return web.Response(status=304)

    server.routes["/stale.xml"] = always_304
    p = Poller(settings(tmp_path), ListSink(), state_path=tmp_path / "s.json")
    p.upsert(FeedRecord(feed_id="stale", url=server.url("/stale.xml"), outlet="S", updated_at=NOW))
    r = await p.poll_once("stale")
    await p.aclose()
    assert r.error_class == "bad_response" and p.status()[0].state == "failing"


# -- 11: every drop counted per feed and reason, shown by `feeds list`, logged once ---------------------------------
async def test_11_items_past_the_cap_are_counted_shown_and_logged_once(server: FeedServer, tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    body = rss_items(*(item(f"Item {i}", link=f"https://c.example/{i}", guid=f"c{i}") for i in range(603)),
                     "<item></item>")  # and one item with nothing in it
    serve(server, "/big.xml", body, "application/rss+xml")
    sink = ListSink()
    p = Poller(settings(tmp_path), sink, state_path=tmp_path / "s.json")
    p.upsert(FeedRecord(feed_id="big", url=server.url("/big.xml"), outlet="Big", updated_at=NOW))
    with caplog.at_level(logging.WARNING, logger="wirewatch.poller.service"):
        await p.poll_once("big")
        await p.poll_once("big")  # the same drop again: counted again, not logged again
    await p.aclose()
    assert len(sink.stories) == MAX_ITEMS
    assert counted(m.ITEMS_DROPPED, feed="big", reason="over_item_cap") == 2 * 104
    st = p.states["big"]
    assert st.dropped == {"over_item_cap": 208} and st.last_dropped == {"over_item_cap": 104}
    assert sum("over_item_cap" in r.getMessage() for r in caplog.records) == 1
    # `wirewatch feeds list` shows it from the saved state, with ISO times
    lines = _feed_lines("big", "ok", server.url("/big.xml"), _poller_status(tmp_path / "s.json")["big"])
    assert "208 over_item_cap" in lines[1] and "last poll: 104 over_item_cap" in lines[1]
    assert lines[0].split()[4].endswith("Z") and "T" in lines[0].split()[4]


def test_11_replay_reads_every_item_and_reports_what_it_could_not(tmp_path: Path) -> None:
    archive = tmp_path / "archive.xml"
    archive.write_bytes(rss_items(*(item(f"Old {i}", link=f"https://a.example/{i}", guid=f"a{i}")
                                    for i in range(1019)), "<item><title></title></item>"))
    junk = tmp_path / "junk.xml"
    junk.write_bytes(b"<html><body>not a feed</body></html>")
    said: list[str] = []
    read = read_feed_files([archive, junk], progress=said.append)
    assert len(read.stories) == 1019  # a backfill reads everything, not the poller's 500
    assert read.dropped == {"empty": 1} and [p.name for p, _ in read.failed] == ["junk.xml"]
    assert "1 empty" in read.not_read() and "junk.xml (not_a_feed" in read.not_read()
    assert said == ["reading archive.xml (1/2)", "reading junk.xml (2/2)"]


def test_11_replay_shows_its_progress_on_a_long_archive() -> None:
    from wirewatch.processor.stream.stages import replay_stories
    from wirewatch.settings import Settings

    stories = parse_feed(rss_items(*(item(f"S {i}", link=f"https://p.example/{i}", guid=f"p{i}")
                                     for i in range(450))), FEED, NOW, max_items=None).items
    said: list[str] = []
    result = replay_stories(Settings(), stories, progress=said.append, progress_every=200)
    assert len(result.verdicts) == 450
    # every 200 stories or so (extraction goes in batches), and once at the end
    counts = [int(s.split()[1].split("/")[0]) for s in said]
    assert len(counts) == 3 and counts[0] >= 200 and counts[1] - counts[0] >= 200
    assert said[-1].startswith("extracted 450/450 unique stories (100%): ")


# -- 12: dates in a CMS's language, on a 12-hour clock, RFC 822 in a JSON Feed ---------------------------------------
@pytest.mark.parametrize(("written", "instant"), [
    ("gio, 3 ott 2024 18:05:00 +0200", datetime(2024, 10, 3, 16, 5, tzinfo=UTC)),
    ("sáb, 14 dic 2024 07:30:00 -0300", datetime(2024, 12, 14, 10, 30, tzinfo=UTC)),
    ("Mi, 5 Mär 2025 09:00:00 MEZ", datetime(2025, 3, 5, 8, 0, tzinfo=UTC)),
    ("Tue, Mar 4 2025 11:15:00 PM", datetime(2025, 3, 4, 23, 15, tzinfo=UTC)),
    ("Wed, 5 Mar 2025 12:40 AM EST", datetime(2025, 3, 5, 5, 40, tzinfo=UTC)),
])
def test_12_dates_in_other_languages_and_on_a_12_hour_clock_are_read(written: str, instant: datetime) -> None:
    (story,) = parse_feed(rss_items(item("d", link="https://d.example/1", guid="d1",
                                         extra=f"<pubDate>{written}</pubDate>")), FEED, NOW).items
    assert (story.published, story.published_inferred) == (instant, False)


def test_12_rfc_822_dates_in_a_json_feed_are_read() -> None:
    (story,) = parse_feed(json_feed([{"id": "1", "url": "https://j.example/1", "title": "x",
                                      "date_published": "Thu, 06 Mar 2025 14:45:10 +0100"}]), FEED, NOW).items
    assert (story.published, story.published_inferred) == (datetime(2025, 3, 6, 13, 45, 10, tzinfo=UTC), False)


# -- 13: an id is never a link -----------------------------------------------------------------------------------------
def test_13_an_id_is_never_a_link() -> None:
    doc = rss_items(
        item("plain guid", guid="story-4411"),  # isPermaLink defaults to true, but it is no URL
        item("urn", guid="urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"),
        item("tag", guid="tag:news.example,2025:4412"),
        item("relative guid", guid="/2025/03/story"),
        item("a permalink guid", guid="https://n.example/2025/03/story"),
        item("at uri", extra='<link uri="at://did:plc:abc/app.bsky.feed.post/3k">https://n.example/post</link>'))
    urls = [s.url for s in parse_feed(doc, FEED, NOW, base_url="https://feeds.example/news.xml").items]
    assert urls == ["", "", "", "", "https://n.example/2025/03/story", "https://n.example/post"]
    entry = atom("<entry><id>https://n.example/id/7</id><title>atom id</title><summary>s</summary></entry>")
    assert [s.url for s in parse_feed(entry, FEED, NOW).items] == [""]  # an Atom id names, it does not link


# -- 14: titles are words; deep markup keeps its text; a JSON Feed may start with a BOM ------------------------------
def test_14_titles_are_their_words() -> None:
    doc = atom('<entry><id>urn:a:1</id><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
               "<p>Bridge <b>reopens</b></p></div></title></entry>"
               '<entry><id>urn:a:2</id><title type="html">&lt;em&gt;Flood&lt;/em&gt; warning</title></entry>')
    assert [s.title for s in parse_feed(doc, FEED, NOW).items] == ["Bridge reopens", "Flood warning"]
    rss_doc = rss_items(item("Salt &amp;amp; Pepper reunite", guid="s1"), item("&lt;b&gt;Markets&lt;/b&gt; rally",
                                                                              guid="s2"))
    assert [s.title for s in parse_feed(rss_doc, FEED, NOW).items] == ["Salt & Pepper reunite", "Markets rally"]


@pytest.mark.parametrize("depth", [300, 3_000, 40_000])
def test_14_text_nested_past_any_parser_depth_limit_is_kept(depth: int) -> None:
    html = "<div>" * depth + "<p>The deepest paragraph.</p>" + "</div>" * depth + "<p>After it.</p>"
    assert html_to_text(html) == "The deepest paragraph.\n\nAfter it."


def test_14_a_json_feed_starting_with_a_byte_order_mark_is_read() -> None:
    doc = b"\xef\xbb\xbf" + json_feed([{"id": "1", "url": "https://b.example/1", "title": "BOM"}])
    assert [s.title for s in parse_feed(doc, FEED, NOW).items] == ["BOM"]


def test_every_message_the_poller_builds_is_far_below_the_cap() -> None:
    """What made two feeds take the service down, in every shape at once: the story stays small."""
    giant = "https://x.example/" + "a" * 600_000
    doc = json_feed([{"id": "x" * 10_000, "url": giant, "external_url": giant, "title": "t" * 50_000,
                      "summary": "s" * 100_000, "language": "l" * 1000,
                      "authors": [{"name": "n" * 1000}] * 1000}])
    (story,) = parse_feed(doc, FEED, NOW).items
    size = len(orjson.dumps(story.model_dump(mode="json")))
    assert size < MAX_RAW_STORY_BYTES // 4, size  # the caps bound it: ~130 KB, with a 20,000-character body
    assert story.url == "" and len(story.title) == 1000 and len(story.authors) == 20 and story.language is None


def test_header_and_date_readers_never_raise_on_any_text() -> None:
    """The readers of what a server or feed writes return a value or None, whatever it writes
    (a seeded fuzz over digits of every script, signs, zones, dates and junk)."""
    import random

    from wirewatch.poller.dates import parse_date
    from wirewatch.poller.fetch import validator_bytes
    from wirewatch.poller.schedule import cache_lifetime, parse_retry_after

    rng = random.Random(18)
    pieces = ["\u00b2", "\u0663", "\uff19", "1e9", "-", "+", ".", " ", ",", ":", "GMT", "PM", "Z", "T", "0000",
              "9999", "99999999999999999999", "mer", "déc.", "\x00", "\ud800", "\u202e", "Mon,", "2024-02-30",
              "24:61:61", "+99:99", "max-age=", "\"", "\u00e9"]
    for _ in range(3_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        got = parse_date(text)
        assert got is None or got.tzinfo is not None
        after = parse_retry_after(text, NOW)
        assert after is None or 0 <= after <= 7 * 86400
        lifetime = cache_lifetime({"cache-control": text, "expires": text}, NOW)
        assert lifetime is None or 0 <= lifetime <= 7 * 86400
        raw = validator_bytes(text)
        assert raw is None or (b"\r" not in raw and b"\n" not in raw and b"\x00" not in raw)
