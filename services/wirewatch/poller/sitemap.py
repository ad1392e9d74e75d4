"""Google News sitemaps (``<news:news>`` entries) to raw stories.

Read as a stream (defusedxml's iterparse, every finished ``<url>`` cleared), so a
10 MB sitemap costs a few MB, not a tree of the whole document; DTDs and entities
are refused.  Like a feed it is parsed in a parse worker (``worker.ParsePool``,
``format="sitemap"``), under the same CPU, memory and wall-clock limits, and each
entry becomes a story through the same builder (parse.py), caps and counts included.
"""

from __future__ import annotations

import io
from datetime import datetime

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from ..errors import NotAFeed, ParseError, UnsafeXML
from ..models import FeedRecord
from .dates import parse_date
from .html import clean_text
from .parse import MAX_ITEMS, ParsedFeed, make_story, safe_link

_SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


def parse_news_sitemap(data: bytes, feed: FeedRecord, fetched_at: datetime, *,
                       max_items: int | None = MAX_ITEMS) -> ParsedFeed:
    """Stories (title and link only) from a Google News sitemap; at most ``max_items``."""
    if not data.strip():
        raise NotAFeed("empty sitemap")
    out = ParsedFeed(title="", items=[])
    seen_root = False
    news_entries = 0
    try:
        for event, el in SafeET.iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=True):
            if event == "start":
                if not seen_root:
                    seen_root = True
                    if el.tag != f"{_SM}urlset":
                        raise NotAFeed("not a sitemap urlset")
                continue
            if el.tag != f"{_SM}url":
                continue
            news = el.find(f"{_NEWS}news")
            if news is not None:  # a <url> without <news:news> is a page, not a news item
                news_entries += 1
                if max_items is None or news_entries <= max_items:
                    _entry(el, news, feed, fetched_at, out)
            el.clear()  # the stream keeps nothing it has read
    except DefusedXmlException as exc:
        raise UnsafeXML(f"sitemap refused: {type(exc).__name__}") from None
    except SafeET.ParseError as exc:
        raise ParseError(f"sitemap is not XML ({exc})") from None
    if max_items is not None and news_entries > max_items:
        out.drop("over_item_cap", f"{news_entries} news entries, the first {max_items} read",
                 news_entries - max_items)
    return out


def _entry(url: SafeET.Element, news: SafeET.Element, feed: FeedRecord, fetched_at: datetime,
           out: ParsedFeed) -> None:
    raw_loc = (url.findtext(f"{_SM}loc") or "").strip()
    if not safe_link(raw_loc):
        out.drop("malformed", f"news entry whose loc is not an http(s) URL: {raw_loc[:80]}")
        return
    story = make_story(
        feed, fetched_at, out, bozo=False, guid=None, links=[raw_loc],
        title=clean_text(news.findtext(f"{_NEWS}title") or ""), summary="", body="", authors=[],
        published=parse_date(news.findtext(f"{_NEWS}publication_date")), updated=None,
        language=news.findtext(f"{_NEWS}publication/{_NEWS}language"),
    )
    if story is not None:
        out.items.append(story)
