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
make expensive to parse (it runs in a limited worker process; ``format="feed"``
or ``"sitemap"``).  Report what a poll could not publish in the result's
``dropped``/``trimmed`` counters rather than leaving it out silently.  Raise a
``wirewatch.errors.FeedError`` subclass for failures; the poller handles
scheduling, backoff, per-host limits, de-duplication against what was already
published, publishing and state.  Built in: ``rss`` (RSS 0.9x/1.0/2.0, Atom,
JSON Feed over http(s) or ``file://``) and ``sitemap`` (a Google News sitemap,
for outlets without a feed: the example of a second source).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

from ..errors import ConfigError, FeedError
from ..models import FeedRecord, RawStory
from ..settings import Settings
from .fetch import Fetcher, FetchResult
from .fulltext import SUMMARY_CHARS
from .parse import ParsedFeed
from .state import FeedState, fingerprint

log = logging.getLogger(__name__)

ParseFn = Callable[..., Awaitable[ParsedFeed]]
FULL_TEXT_PER_POLL = 20


@dataclass
class SourceContext:
    settings: Settings
    fetcher: Fetcher
    parse: ParseFn  # ParsePool.parse(data, feed, fetched_at, content_type=, base_url=, format=)
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
    # Items not published by reason, fields cut by field, and a first example of each
    # (parse.ParsedFeed): the poller counts them per feed, keeps them in its state, logs them.
    dropped: Counter[str] = field(default_factory=Counter)
    trimmed: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)


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


def _apply(res: SourceResult, parsed: ParsedFeed) -> None:
    """What a parse gives a poll's result: its stories, and what it dropped or cut."""
    res.stories = parsed.items
    res.ttl_seconds = parsed.ttl_seconds
    res.bozo = parsed.bozo
    res.bozo_reason = parsed.bozo_reason
    res.dropped = parsed.dropped
    res.trimmed = parsed.trimmed
    res.examples = parsed.examples


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
        _apply(res, await self.ctx.parse(r.body, feed, fetched_at, content_type=r.content_type, base_url=r.url))
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
        # Parsed in a parse worker, like a feed: a big sitemap is CPU, memory and time.
        _apply(res, await self.ctx.parse(r.body, feed, fetched_at, content_type=r.content_type, base_url=r.url,
                                         format="sitemap"))
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
