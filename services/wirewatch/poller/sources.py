"""Source plug-ins: how a feed record becomes raw stories.

A source is a class registered under the ``wirewatch.sources`` entry-point
group (``FeedRecord.source`` names it).  It is constructed once per poller
with a :class:`SourceContext` and asked to ``poll`` one feed at a time::

    class MySource:
        name = "mysource"
        def __init__(self, ctx: SourceContext) -> None: ...
        async def poll(self, feed: FeedRecord, state: FeedState, *, unconditional: bool) -> SourceResult: ...

Use ``ctx.fetcher`` for every network access (SSRF guard, size cap, deadline,
User-Agent come with it) and ``ctx.parse`` for anything a hostile server could
make expensive to parse (it runs in a limited worker process).  Raise a
``wirewatch.errors.FeedError`` subclass for failures; the poller handles
scheduling, backoff, per-host limits, de-duplication against what was already
published, publishing and state.  Built in: ``rss`` (RSS 0.9x/1.0/2.0, Atom,
JSON Feed over http(s) or ``file://``) and ``sitemap`` (a Google News sitemap,
for outlets without a feed: the example of a second source).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from ..errors import ConfigError, FeedError, NotAFeed, ParseError, UnsafeXML
from ..models import FeedRecord, RawStory
from ..settings import Settings
from .fetch import Fetcher, FetchResult
from .fulltext import SUMMARY_CHARS
from .html import clean_text
from .parse import MAX_ITEMS, MAX_TITLE, ParsedFeed, iso_datetime, safe_link
from .state import FeedState, fingerprint
from .urls import canonical_url

log = logging.getLogger(__name__)

ParseFn = Callable[..., Awaitable[ParsedFeed]]
FULL_TEXT_PER_POLL = 20


@dataclass
class SourceContext:
    settings: Settings
    fetcher: Fetcher
    parse: ParseFn  # ParsePool.parse(data, feed, fetched_at, content_type=, base_url=)
    extract: Callable[..., Awaitable[str]] | None = None  # ParsePool.extract(html, url, title)


@dataclass
class SourceResult:
    """What one poll of a source produced."""

    not_modified: bool = False
    stories: list[RawStory] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    ttl_seconds: float | None = None  # the feed's own <ttl>
    cache_seconds: float | None = None  # Cache-Control / Expires lifetime
    retry_after: float | None = None
    bozo: bool = False
    bozo_reason: str | None = None
    permanent_url: str | None = None
    body_bytes: int = 0
    # story_id -> fingerprint of the item as the feed gave it, when a source enriched
    # the story (full text): "is it new?" must compare like with like.
    fingerprints: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Source(Protocol):
    name: str

    async def poll(self, feed: FeedRecord, state: FeedState, *, unconditional: bool) -> SourceResult: ...


async def _fetch(ctx: SourceContext, feed: FeedRecord, state: FeedState, unconditional: bool) -> FetchResult:
    same_url = state.url == feed.url
    return await ctx.fetcher.fetch(
        feed.url,
        etag=None if unconditional or not same_url else state.etag,
        last_modified=None if unconditional or not same_url else state.last_modified,
    )


async def _fetch_result(ctx: SourceContext, feed: FeedRecord, state: FeedState,
                        unconditional: bool) -> tuple[FetchResult, SourceResult]:
    """Fetch, and the part of the result every HTTP source reports the same way."""
    r = await _fetch(ctx, feed, state, unconditional)
    res = SourceResult(etag=r.etag, last_modified=r.last_modified, cache_seconds=r.cache_seconds,
                       retry_after=r.retry_after, permanent_url=r.permanent_url, body_bytes=len(r.body),
                       not_modified=r.not_modified)
    return r, res


class FeedSource:
    """RSS 0.9x/1.0/2.0, Atom and JSON Feed (feedparser), over http(s) or ``file://``."""

    name = "rss"

    def __init__(self, ctx: SourceContext) -> None:
        self.ctx = ctx

    async def poll(self, feed: FeedRecord, state: FeedState, *, unconditional: bool) -> SourceResult:
        fetched_at = datetime.now(UTC)
        r, res = await _fetch_result(self.ctx, feed, state, unconditional)
        if res.not_modified:
            return res
        parsed = await self.ctx.parse(r.body, feed, fetched_at, content_type=r.content_type, base_url=r.url)
        res.stories = parsed.items
        res.ttl_seconds = parsed.ttl_seconds
        res.bozo = parsed.bozo
        res.bozo_reason = parsed.bozo_reason
        if feed.full_text and self.ctx.extract is not None:
            await self._full_text(res, state)
        return res

    async def _full_text(self, res: SourceResult, state: FeedState) -> None:
        """Replace summary-only bodies of *new* items with the article page's main text.

        Article pages are fetched one at a time inside this feed's poll (so under its
        per-host slot), with the same SSRF guard, size cap and deadline, at most
        FULL_TEXT_PER_POLL per poll; a page that fails keeps the summary.
        """
        assert self.ctx.extract is not None
        todo = [s for s in res.stories if state.is_new(s) and len(s.body) < SUMMARY_CHARS
                and s.url.startswith(("http://", "https://"))][:FULL_TEXT_PER_POLL]
        for story in todo:
            res.fingerprints[story.story_id] = fingerprint(story)
            try:
                page = await self.ctx.fetcher.fetch(story.url)
                text = await self.ctx.extract(page.body, page.url, story.title)
            except FeedError as exc:
                log.info("full text of %s not fetched (%s)", story.story_id, exc.code)
                continue
            if len(text) > len(story.body):
                story.body = text


_SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


def parse_news_sitemap(data: bytes, feed: FeedRecord, fetched_at: datetime) -> list[RawStory]:
    """Stories (title and link only) from a Google News sitemap; defusedxml refuses entity tricks."""
    if not data.strip():
        raise NotAFeed("empty sitemap")
    try:
        root = SafeET.parse(io.BytesIO(data), forbid_dtd=True).getroot()
    except DefusedXmlException as exc:
        raise UnsafeXML(f"sitemap refused: {type(exc).__name__}") from None
    except SafeET.ParseError as exc:
        raise ParseError(f"sitemap is not XML ({exc})") from None
    if root.tag != f"{_SM}urlset":
        raise NotAFeed("not a sitemap urlset")
    out: list[RawStory] = []
    for url in root.iter(f"{_SM}url"):
        if len(out) >= MAX_ITEMS:
            break
        loc = safe_link((url.findtext(f"{_SM}loc") or "").strip())
        news = url.find(f"{_NEWS}news")
        if not loc or news is None:
            continue
        title = clean_text(news.findtext(f"{_NEWS}title") or "")[:MAX_TITLE]
        published = iso_datetime(news.findtext(f"{_NEWS}publication_date"))
        lang = clean_text(news.findtext(f"{_NEWS}publication/{_NEWS}language") or "")[:35] or None
        canon = canonical_url(loc)
        out.append(RawStory(
            story_id="u:" + hashlib.blake2b(canon.encode(), digest_size=12).hexdigest(),
            feed_id=feed.feed_id, outlet=feed.outlet, url=loc, canonical_url=canon, title=title,
            summary="", body="", language=lang, published=published or fetched_at,
            published_inferred=published is None, fetched_at=fetched_at,
        ))
    return out


class NewsSitemapSource:
    """A Google News sitemap (``<news:news>`` entries) as a source: the built-in plug-in example."""

    name = "sitemap"

    def __init__(self, ctx: SourceContext) -> None:
        self.ctx = ctx

    async def poll(self, feed: FeedRecord, state: FeedState, *, unconditional: bool) -> SourceResult:
        fetched_at = datetime.now(UTC)
        r, res = await _fetch_result(self.ctx, feed, state, unconditional)
        if res.not_modified:
            return res
        # Small and defused; parsing it on a thread keeps the event loop free.
        res.stories = await asyncio.to_thread(parse_news_sitemap, r.body, feed, fetched_at)
        return res


BUILTIN: dict[str, type] = {"rss": FeedSource, "sitemap": NewsSitemapSource}


def source_class(name: str) -> type:
    """The class registered for ``name``: built-ins, then the ``wirewatch.sources`` entry points."""
    if name in BUILTIN:
        return BUILTIN[name]
    for ep in entry_points(group="wirewatch.sources"):
        if ep.name == name:
            try:
                cls: type = ep.load()
            except Exception as exc:
                raise ConfigError(f"source {name!r} failed to load ({type(exc).__name__}: {exc})") from None
            return cls
    known = sorted(set(BUILTIN) | {ep.name for ep in entry_points(group="wirewatch.sources")})
    raise ConfigError(f"unknown source {name!r} (known: {', '.join(known)})")
