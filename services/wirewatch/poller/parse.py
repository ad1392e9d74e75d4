"""Feed bytes to normalised raw stories (feedparser does RSS, Atom and JSON Feed).

feedparser is always handed bytes in a BytesIO: given a str it may treat it as
a path or a URL and go and read it.
"""

from __future__ import annotations

import calendar
import hashlib
import io
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import feedparser

from ..errors import NotAFeed
from ..models import FeedRecord, RawStory
from .html import clean_text, html_to_text
from .urls import canonical_url

MAX_TITLE = 1000
MAX_SUMMARY = 20_000
MAX_BODY = 500_000


@dataclass
class ParsedFeed:
    title: str
    items: list[RawStory]
    bozo: bool = False
    bozo_reason: str | None = None
    ttl_seconds: float | None = None
    skipped: list[str] = field(default_factory=list)


def _dt(struct: Any) -> datetime | None:
    if not struct:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), tz=timezone.utc)
    except (OverflowError, ValueError, TypeError):
        return None


def _entry_html(entry: Any) -> str:
    """The richest HTML the entry carries: content:encoded/atom content, else summary."""
    best = ""
    for c in entry.get("content") or []:
        value = c.get("value") or ""
        if len(value) > len(best):
            best = value
    return best


def parse_feed(data: bytes, feed: FeedRecord, fetched_at: datetime | None = None) -> ParsedFeed:
    """Parse one feed document.  Raises NotAFeed when nothing in it is a feed."""
    fetched_at = fetched_at or datetime.now(timezone.utc)
    parsed = feedparser.parse(io.BytesIO(data), sanitize_html=True, resolve_relative_uris=True)
    bozo = bool(parsed.get("bozo"))
    reason = str(parsed.get("bozo_exception")) if bozo else None
    version = parsed.get("version") or ""
    entries = parsed.get("entries") or []
    if not version and not entries:
        raise NotAFeed(f"not a feed ({reason or 'no feed elements found'})"[:300])
    ttl: float | None = None
    try:
        if parsed.feed.get("ttl"):
            ttl = float(parsed.feed["ttl"]) * 60
    except (TypeError, ValueError):
        ttl = None
    out = ParsedFeed(title=clean_text(parsed.feed.get("title", ""))[:MAX_TITLE], items=[], bozo=bozo,
                     bozo_reason=reason, ttl_seconds=ttl)
    for entry in entries:
        story = _normalise(entry, feed, fetched_at, bozo)
        if story is None:
            out.skipped.append(str(entry.get("id") or entry.get("link") or "?")[:200])
            continue
        out.items.append(story)
    return out


def _normalise(entry: Any, feed: FeedRecord, fetched_at: datetime, bozo: bool) -> RawStory | None:
    link = str(entry.get("link") or "").strip()
    if link.lower().startswith(("javascript:", "data:", "vbscript:")):
        link = ""
    guid = str(entry.get("id") or "").strip() or None
    title = clean_text(str(entry.get("title") or ""))[:MAX_TITLE]
    summary = html_to_text(str(entry.get("summary") or ""))[:MAX_SUMMARY]
    body = html_to_text(_entry_html(entry))[:MAX_BODY] or summary
    if not (link or guid or title or body):
        return None
    canon = canonical_url(link) if link else ""
    if guid:
        story_id = "g:" + hashlib.blake2b(f"{feed.feed_id}\x1f{guid}".encode(), digest_size=12).hexdigest()
    elif canon:
        story_id = "u:" + hashlib.blake2b(canon.encode(), digest_size=12).hexdigest()
    else:
        story_id = "h:" + hashlib.blake2b(f"{title}\x1f{body}".encode(), digest_size=12).hexdigest()
    published = _dt(entry.get("published_parsed")) or _dt(entry.get("updated_parsed"))
    updated = _dt(entry.get("updated_parsed"))
    authors = [clean_text(str(a.get("name", "")))[:200] for a in entry.get("authors") or [] if a.get("name")]
    return RawStory(
        story_id=story_id,
        feed_id=feed.feed_id,
        outlet=feed.outlet,
        url=link or canon or (guid or ""),
        canonical_url=canon,
        guid=guid,
        title=title,
        summary=summary,
        body=body,
        authors=authors,
        language=(entry.get("language") or None),
        published=published or fetched_at,
        published_inferred=published is None,
        updated=updated,
        fetched_at=fetched_at,
        bozo=bozo,
    )
